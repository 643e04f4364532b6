// See runtime/gpu/CudaRuntime.h. Parameters, optimizer state and the
// generated code's temporaries are CUDA managed memory (cuMemAllocManaged):
// one pointer valid on host and device, so the host's scalar code and
// checkpoints read and write them directly. A batch (StagedTensor) is
// page-locked host memory copied by cuMemcpyHtoDAsync into device memory
// (cuMemAlloc) that only the kernels read; the small tensors the host writes
// or reads every call (hyperparameters, loss, metrics, outputs) are
// page-locked memory the kernels access in place (Tensor::Memory::Pinned).
// The generated code calls kiln_cuda_launch for each kernel, kiln_cuda_sync
// before the host touches memory after launches, and kiln_cuda_submit where
// it returns; the launches in between are submitted together, asynchronously
// on the default stream, as one CUDA graph when the same run of launches
// came before (a training step). The sync then waits; the submit records an
// event the runtime waits for later (train runs one step ahead).
// docs/runtime.md lists what is missing (the workspace in device memory).
#include "runtime/gpu/CudaRuntime.h"

#include "runtime/Tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <unordered_map>
#include <vector>

// The image and name table kiln-gpu-launch-to-runtime puts in a cuda
// executable; weak, so CPU executables link without them.
extern "C" {
extern const char kiln_cuda_image[] __attribute__((weak));
extern const int64_t kiln_cuda_image_size __attribute__((weak));
extern const int32_t kiln_cuda_image_is_ptx __attribute__((weak));
extern const char kiln_cuda_kernel_names[] __attribute__((weak));
extern const int32_t kiln_cuda_kernel_count __attribute__((weak));
extern const int32_t kiln_cuda_kernel_param_start[] __attribute__((weak));
extern const int32_t kiln_cuda_kernel_param_bytes[] __attribute__((weak));
}

namespace kiln::runtime::gpu {
namespace {

// The few driver API types and calls used (cuda.h's ABI, CUDA >= 4).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
struct CUgraph_st;
struct CUgraphNode_st;
struct CUgraphExec_st;
using CUgraph = CUgraph_st *;
using CUgraphNode = CUgraphNode_st *;
using CUgraphExec = CUgraphExec_st *;
using CUstream = void *;
constexpr int kAttributeConcurrentManagedAccess = 89;
struct CUevent_st;
using CUevent = CUevent_st *;
constexpr unsigned kEventDisableTiming = 2;
constexpr unsigned kMemAttachGlobal = 1;

// CUDA_KERNEL_NODE_PARAMS as cuGraphAddKernelNode (the v1 entry point,
// exported by every driver since CUDA 10) takes it.
struct KernelNodeParams {
  CUfunction func;
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  void **kernelParams;
  void **extra;
};

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, void *, void **, void **);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocHost)(void **, size_t);
  CUresult (*cuMemFreeHost)(void *);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  // CUDA graphs (optional: without them every launch goes on its own).
  CUresult (*cuGraphCreate)(CUgraph *, unsigned);
  CUresult (*cuGraphAddKernelNode)(CUgraphNode *, CUgraph, const CUgraphNode *, size_t,
                                   const KernelNodeParams *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphDestroy)(CUgraph);
};

Driver driver;
bool started = false;
bool concurrentManaged = false; // the host may touch managed memory while kernels run
CUcontext context = nullptr;
std::mutex launchMutex; // the runtime may call entry points from its threads
CUmodule module = nullptr;
std::vector<CUfunction> functions;
std::vector<const char *> names;
const char *lastKernel = nullptr;

// Launches are recorded, not submitted: a run of them (a segment, from one
// kiln_cuda_sync to the next) is submitted when it ends, and a segment seen
// before (the same kernels, grids and parameter bytes: a training run's
// steps) is replayed as one CUDA graph. The host only waits at the end of a
// segment anyway, so recording delays no result it reads. Per host thread,
// since the runtime's threads may each run an entry point.
struct Launch {
  int32_t kernel;
  unsigned grid[3], block[3], sharedBytes;
  size_t paramOffset; // into Segment::params
};
struct Segment {
  std::vector<Launch> launches;
  std::vector<char> params; // every launch's parameters, by value, aligned
  /// The segment's identity: every launch's fields (not the struct's
  /// bytes, whose padding is undefined) and every parameter byte.
  std::string key() const {
    std::string k;
    auto put = [&](uint32_t v) { k.append(reinterpret_cast<const char *>(&v), sizeof v); };
    for (const Launch &l : launches) {
      put(uint32_t(l.kernel));
      for (int i = 0; i < 3; ++i) {
        put(l.grid[i]);
        put(l.block[i]);
      }
      put(l.sharedBytes);
    }
    return k.append(params.data(), params.size());
  }
};
thread_local Segment segment;

// Segments by key: how often seen, and the graph once it repeats. Bounded:
// past kMaxSegments new segments launch one kernel at a time.
struct KnownSegment {
  int seen = 0;
  CUgraphExec graph = nullptr;
};
constexpr size_t kMaxSegments = 64;
std::unordered_map<std::string, KnownSegment> *knownSegments; // never destroyed
bool useGraphs = false;

std::string errorText(CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(r, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

std::atomic<bool> failed{false}; // a driver call failed: the exit prints no profile

/// A driver call failed during the run: one line naming the call (and the
/// kernel), exit 1.
[[noreturn]] void fatal(const char *call, CUresult r, const char *kernel) {
  failed = true;
  std::fprintf(stderr, "error: %s%s%s failed: %s\n", call, kernel ? " for kernel " : "",
               kernel ? kernel : "", errorText(r).c_str());
  std::exit(1);
}

// Freed blocks are kept by size and reused: the generated code allocates
// and frees the same temporaries every step, and cuMemAllocManaged is slow.
// Never destroyed: a tensor may be freed after static destructors ran, and
// the kept blocks stay reachable (LeakSanitizer) until the process ends.
struct BlockPool {
  std::mutex mutex;
  std::unordered_map<void *, size_t> blockSize;
  std::unordered_map<size_t, std::vector<void *>> freeBlocks;
};
BlockPool &blockPool() {
  static BlockPool *pool = new BlockPool;
  return *pool;
}

void *managedAlloc(size_t bytes) {
  bytes = (bytes + 255) / 256 * 256;
  if (bytes == 0)
    bytes = 256;
  BlockPool &pool = blockPool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  auto &reuse = pool.freeBlocks[bytes];
  if (!reuse.empty()) {
    void *p = reuse.back();
    reuse.pop_back();
    return p;
  }
  CUdeviceptr p = 0;
  if (CUresult r = driver.cuMemAllocManaged(&p, bytes, kMemAttachGlobal))
    fatal("cuMemAllocManaged", r, nullptr);
  pool.blockSize[reinterpret_cast<void *>(p)] = bytes;
  return reinterpret_cast<void *>(p);
}

void managedFree(void *p) {
  if (!p)
    return;
  BlockPool &pool = blockPool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  auto it = pool.blockSize.find(p);
  if (it == pool.blockSize.end()) { // not ours: a bug, but never free it twice
    std::fprintf(stderr, "error: internal: freeing memory runtime/gpu did not allocate\n");
    std::exit(1);
  }
  pool.freeBlocks[it->second].push_back(p);
}

// Page-locked and device-only memory (DeviceStaging, runtime/Tensor.h). Few
// and long-lived blocks (a command's batch buffers and scalar slots), so
// straight from the driver.
void setContext() {
  if (CUresult r = driver.cuCtxSetCurrent(context))
    fatal("cuCtxSetCurrent", r, nullptr);
}

void *pinnedAlloc(size_t bytes) {
  setContext();
  void *p = nullptr;
  if (CUresult r = driver.cuMemAllocHost(&p, bytes))
    fatal("cuMemAllocHost (page-locked memory)", r, nullptr);
  return p;
}

void pinnedFree(void *p) {
  setContext();
  if (CUresult r = driver.cuMemFreeHost(p))
    fatal("cuMemFreeHost", r, nullptr);
}

void *deviceOnlyAlloc(size_t bytes) {
  setContext();
  CUdeviceptr p = 0;
  if (CUresult r = driver.cuMemAlloc(&p, bytes))
    fatal("cuMemAlloc (device memory for a batch)", r, nullptr);
  return reinterpret_cast<void *>(p);
}

void deviceOnlyFree(void *p) {
  setContext();
  if (CUresult r = driver.cuMemFree(reinterpret_cast<CUdeviceptr>(p)))
    fatal("cuMemFree", r, nullptr);
}

/// On the default stream, where the kernels go: the copy is ordered before
/// the next call's kernels and after the last call's. Called between entry
/// points, which submit what they launched before they return, so no
/// recorded launch is pending.
void upload(void *device, const void *host, size_t bytes) {
  std::lock_guard<std::mutex> lock(launchMutex);
  if (!segment.launches.empty()) {
    std::fprintf(stderr, "error: internal: a batch was copied to the device while kernels "
                         "launched before it were not submitted\n");
    std::exit(1);
  }
  setContext();
  if (CUresult r = driver.cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(device), host, bytes,
                                            nullptr))
    fatal("cuMemcpyHtoDAsync (a batch to the device)", r, nullptr);
}

const DeviceStaging staging = {pinnedAlloc, pinnedFree, deviceOnlyAlloc, deviceOnlyFree, upload};

template <class F> bool symbol(void *lib, const char *name, F &slot, std::string &error) {
  slot = reinterpret_cast<F>(dlsym(lib, name));
  if (!slot)
    error = std::string("the CUDA driver (libcuda.so.1) has no ") + name;
  return slot != nullptr;
}

void loadImage() {
  if (CUresult r = driver.cuModuleLoadData(&module, kiln_cuda_image))
    fatal(kiln_cuda_image_is_ptx ? "cuModuleLoadData (PTX, JIT)" : "cuModuleLoadData (fatbin)",
          r, nullptr);
  const char *name = kiln_cuda_kernel_names;
  for (int32_t i = 0; i < kiln_cuda_kernel_count; ++i) {
    names.push_back(name);
    name += std::strlen(name) + 1;
  }
  functions.assign(names.size(), nullptr);
}

CUfunction function(int32_t kernel) {
  CUfunction &f = functions[size_t(kernel)];
  if (!f)
    if (CUresult r = driver.cuModuleGetFunction(&f, module, names[size_t(kernel)]))
      fatal("cuModuleGetFunction", r, names[size_t(kernel)]);
  return f;
}

/// Where a parameter of `size` bytes goes at or after `offset` in
/// Segment::params: aligned to its size (at most 8), as it was in its slot.
size_t alignParameter(size_t offset, int32_t size) {
  size_t align = size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1;
  return (offset + align - 1) / align * align;
}

/// A kernel's parameter sizes in bytes, from the compiler's table.
struct ParamSizes {
  const int32_t *bytes;
  int32_t count;
};
ParamSizes paramSizes(int32_t kernel) {
  const int32_t *start = kiln_cuda_kernel_param_start + kernel;
  return {kiln_cuda_kernel_param_bytes + start[0], start[1] - start[0]};
}

/// Pointers to one launch's parameters, as cuLaunchKernel takes them.
std::vector<void *> parameterPointers(Segment &s, const Launch &l) {
  std::vector<void *> pointers;
  size_t offset = l.paramOffset;
  const auto [bytes, count] = paramSizes(l.kernel);
  for (int32_t i = 0; i < count; ++i) {
    offset = alignParameter(offset, bytes[i]);
    pointers.push_back(s.params.data() + offset);
    offset += size_t(bytes[i]);
  }
  return pointers;
}

// KILN_CUDA_PROFILE=1: every launch goes on its own between two timing
// events, each segment is waited for, and at exit a table of the kernels'
// GPU time goes to stderr. The time between the events includes any gap in
// which the GPU waited for the host to launch, so tiny kernels read long.
bool profiling = false;
struct KernelTime {
  uint64_t calls = 0;
  double ms = 0;
};
std::vector<KernelTime> *kernelTimes; // by kernel index; never destroyed
std::vector<CUevent> *profileEvents;  // reused from segment to segment

CUevent profileEvent(size_t i) {
  while (profileEvents->size() <= i) {
    CUevent e = nullptr;
    if (CUresult r = driver.cuEventCreate(&e, 0))
      fatal("cuEventCreate", r, nullptr);
    profileEvents->push_back(e);
  }
  return (*profileEvents)[i];
}

void printProfile() {
  // A failed driver call exits holding the lock (and its times are
  // partial); a thread still launching at exit holds it too: print nothing
  // rather than wait or race.
  if (failed)
    return;
  std::unique_lock<std::mutex> lock(launchMutex, std::try_to_lock);
  if (!lock.owns_lock())
    return;
  std::vector<int32_t> order;
  double total = 0;
  for (size_t k = 0; k < kernelTimes->size(); ++k)
    if ((*kernelTimes)[k].calls) {
      order.push_back(int32_t(k));
      total += (*kernelTimes)[k].ms;
    }
  std::sort(order.begin(), order.end(),
            [](int32_t a, int32_t b) { return (*kernelTimes)[a].ms > (*kernelTimes)[b].ms; });
  std::fprintf(stderr, "KILN_CUDA_PROFILE: %.3f ms of kernel time (between events around each launch)\n"
               "%10s %8s %12s %7s  %s\n", total, "total ms", "calls", "mean us", "share", "kernel");
  for (int32_t k : order) {
    const KernelTime &t = (*kernelTimes)[size_t(k)];
    std::fprintf(stderr, "%10.3f %8llu %12.2f %6.1f%%  %s\n", t.ms, (unsigned long long)t.calls,
                 1000 * t.ms / double(t.calls), total > 0 ? 100 * t.ms / total : 0.0,
                 names[size_t(k)]);
  }
}

void launchOneByOne(Segment &s) {
  if (profiling && !s.launches.empty())
    if (CUresult r = driver.cuEventRecord(profileEvent(0), nullptr))
      fatal("cuEventRecord", r, nullptr);
  for (size_t i = 0; i < s.launches.size(); ++i) {
    const Launch &l = s.launches[i];
    std::vector<void *> pointers = parameterPointers(s, l);
    const char *name = names[size_t(l.kernel)];
    if (CUresult r = driver.cuLaunchKernel(function(l.kernel), l.grid[0], l.grid[1], l.grid[2],
                                           l.block[0], l.block[1], l.block[2], l.sharedBytes,
                                           nullptr, pointers.data(), nullptr))
      fatal("cuLaunchKernel", r, name);
    if (profiling)
      if (CUresult r = driver.cuEventRecord(profileEvent(i + 1), nullptr))
        fatal("cuEventRecord", r, name);
  }
  if (!profiling || s.launches.empty())
    return;
  if (CUresult r = driver.cuEventSynchronize(profileEvent(s.launches.size())))
    fatal("cuEventSynchronize", r, lastKernel);
  if (kernelTimes->empty())
    kernelTimes->resize(names.size());
  for (size_t i = 0; i < s.launches.size(); ++i) {
    float ms = 0;
    if (CUresult r = driver.cuEventElapsedTime(&ms, profileEvent(i), profileEvent(i + 1)))
      fatal("cuEventElapsedTime", r, nullptr);
    KernelTime &t = (*kernelTimes)[size_t(s.launches[i].kernel)];
    ++t.calls;
    t.ms += ms;
  }
}

/// A graph call failed: graphs are an optimization, so say so once and
/// launch one kernel at a time from here on (a kernel's own failure then
/// shows at its launch or at the next synchronization, as without graphs).
void graphsOff(const char *call, CUresult r) {
  std::fprintf(stderr, "warning: CUDA graphs off: %s failed: %s; launching kernels one by one\n",
               call, errorText(r).c_str());
  useGraphs = false;
}

/// The segment as a graph: one kernel node per launch, each depending on
/// the one before (stream order: kernels communicate through memory). Null
/// when the driver refuses (graphsOff).
CUgraphExec instantiate(Segment &s) {
  CUgraph graph = nullptr;
  if (CUresult r = driver.cuGraphCreate(&graph, 0)) {
    graphsOff("cuGraphCreate", r);
    return nullptr;
  }
  CUgraphNode previous = nullptr;
  CUgraphExec exec = nullptr;
  for (const Launch &l : s.launches) {
    std::vector<void *> pointers = parameterPointers(s, l);
    KernelNodeParams p = {function(l.kernel), l.grid[0],  l.grid[1],     l.grid[2],
                          l.block[0],         l.block[1], l.block[2],    l.sharedBytes,
                          pointers.data(),    nullptr};
    CUgraphNode node = nullptr;
    if (CUresult r = driver.cuGraphAddKernelNode(&node, graph, previous ? &previous : nullptr,
                                                 previous ? 1 : 0, &p)) {
      graphsOff("cuGraphAddKernelNode", r);
      driver.cuGraphDestroy(graph);
      return nullptr;
    }
    previous = node;
  }
  if (CUresult r = driver.cuGraphInstantiateWithFlags(&exec, graph, 0)) {
    graphsOff("cuGraphInstantiateWithFlags", r);
    exec = nullptr;
  }
  driver.cuGraphDestroy(graph); // the instantiated graph does not need it
  return exec;
}

/// Submits this thread's segment (under launchMutex): its graph when the
/// same segment was seen before, else one launch at a time.
void submit(Segment &s) {
  if (s.launches.empty())
    return;
  lastKernel = names[size_t(s.launches.back().kernel)];
  KnownSegment *known = nullptr;
  if (useGraphs) {
    std::string key = s.key();
    auto it = knownSegments->find(key);
    if (it != knownSegments->end())
      known = &it->second;
    else if (knownSegments->size() < kMaxSegments)
      known = &(*knownSegments)[std::move(key)];
  }
  if (known && known->seen > 0 && !known->graph)
    known->graph = instantiate(s);
  bool launched = false;
  if (useGraphs && known && known->graph) {
    if (CUresult r = driver.cuGraphLaunch(known->graph, nullptr))
      graphsOff("cuGraphLaunch", r);
    else
      launched = true;
  }
  if (!launched)
    launchOneByOne(s);
  if (known)
    ++known->seen;
  s.launches.clear();
  s.params.clear();
}

} // namespace

bool hasKernels() { return &kiln_cuda_kernel_count != nullptr && kiln_cuda_image != nullptr; }

bool startDevice(std::string &error) {
  if (started)
    return true;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    error = "this executable runs on an NVIDIA GPU (--target cuda), and the CUDA driver "
            "(libcuda.so.1) is not installed here";
    return false;
  }
  if (!symbol(lib, "cuInit", driver.cuInit, error) ||
      !symbol(lib, "cuDeviceGetCount", driver.cuDeviceGetCount, error) ||
      !symbol(lib, "cuDeviceGet", driver.cuDeviceGet, error) ||
      !symbol(lib, "cuDeviceGetAttribute", driver.cuDeviceGetAttribute, error) ||
      !symbol(lib, "cuDevicePrimaryCtxRetain", driver.cuDevicePrimaryCtxRetain, error) ||
      !symbol(lib, "cuCtxSetCurrent", driver.cuCtxSetCurrent, error) ||
      !symbol(lib, "cuCtxSynchronize", driver.cuCtxSynchronize, error) ||
      !symbol(lib, "cuModuleLoadData", driver.cuModuleLoadData, error) ||
      !symbol(lib, "cuModuleGetFunction", driver.cuModuleGetFunction, error) ||
      !symbol(lib, "cuLaunchKernel", driver.cuLaunchKernel, error) ||
      !symbol(lib, "cuMemAllocManaged", driver.cuMemAllocManaged, error) ||
      !symbol(lib, "cuMemFree_v2", driver.cuMemFree, error) ||
      !symbol(lib, "cuMemAlloc_v2", driver.cuMemAlloc, error) ||
      !symbol(lib, "cuMemAllocHost_v2", driver.cuMemAllocHost, error) ||
      !symbol(lib, "cuMemFreeHost", driver.cuMemFreeHost, error) ||
      !symbol(lib, "cuMemcpyHtoDAsync_v2", driver.cuMemcpyHtoDAsync, error) ||
      !symbol(lib, "cuEventCreate", driver.cuEventCreate, error) ||
      !symbol(lib, "cuEventRecord", driver.cuEventRecord, error) ||
      !symbol(lib, "cuEventSynchronize", driver.cuEventSynchronize, error) ||
      !symbol(lib, "cuGetErrorName", driver.cuGetErrorName, error) ||
      !symbol(lib, "cuGetErrorString", driver.cuGetErrorString, error))
    return false;
  // CUDA graphs: used where the driver has them (CUDA >= 11.4) and
  // KILN_CUDA_GRAPHS is not 0, and not while profiling.
  std::string unused;
  const char *graphs = std::getenv("KILN_CUDA_GRAPHS");
  const char *profile = std::getenv("KILN_CUDA_PROFILE");
  bool wantProfile = profile && *profile && std::strcmp(profile, "0") != 0;
  useGraphs = !wantProfile && !(graphs && std::strcmp(graphs, "0") == 0) &&
              symbol(lib, "cuGraphCreate", driver.cuGraphCreate, unused) &&
              symbol(lib, "cuGraphAddKernelNode", driver.cuGraphAddKernelNode, unused) &&
              symbol(lib, "cuGraphInstantiateWithFlags", driver.cuGraphInstantiateWithFlags,
                     unused) &&
              symbol(lib, "cuGraphLaunch", driver.cuGraphLaunch, unused) &&
              symbol(lib, "cuGraphDestroy", driver.cuGraphDestroy, unused);
  if (useGraphs)
    knownSegments = new std::unordered_map<std::string, KnownSegment>;
  auto call = [&](const char *what, CUresult r) {
    if (r)
      error = std::string("the CUDA driver cannot start: ") + what + " failed: " + errorText(r);
    return r == 0;
  };
  int count = 0;
  CUdevice device = 0;
  if (!call("cuInit", driver.cuInit(0)) ||
      !call("cuDeviceGetCount", driver.cuDeviceGetCount(&count)))
    return false;
  if (count == 0) {
    error = "this executable runs on an NVIDIA GPU (--target cuda), and there is none here";
    return false;
  }
  if (!call("cuDeviceGet", driver.cuDeviceGet(&device, 0)) ||
      !call("cuDevicePrimaryCtxRetain", driver.cuDevicePrimaryCtxRetain(&context, device)) ||
      !call("cuCtxSetCurrent", driver.cuCtxSetCurrent(context)))
    return false;
  int concurrent = 0;
  concurrentManaged = driver.cuDeviceGetAttribute(&concurrent, kAttributeConcurrentManagedAccess,
                                                  device) == 0 &&
                      concurrent != 0;
  deviceAlloc = managedAlloc;
  deviceFree = managedFree;
  deviceStaging = &staging;
  if (wantProfile) {
    if (symbol(lib, "cuEventElapsedTime", driver.cuEventElapsedTime, unused)) {
      kernelTimes = new std::vector<KernelTime>;
      profileEvents = new std::vector<CUevent>;
      profiling = true;
      std::atexit(printProfile);
    } else {
      std::fprintf(stderr, "warning: KILN_CUDA_PROFILE: the driver has no cuEventElapsedTime; "
                   "not profiling\n");
    }
  }
  started = true;
  return true;
}

} // namespace kiln::runtime::gpu

using namespace kiln::runtime::gpu;

/// Called by the generated host code for every kernel launch: recorded, with
/// its parameters by value; kiln_cuda_sync submits.
extern "C" void kiln_cuda_launch(int32_t kernel, int64_t gx, int64_t gy, int64_t gz,
                                 int64_t bx, int64_t by, int64_t bz, int32_t sharedBytes,
                                 void **args, int32_t nargs) {
  if (gx <= 0 || gy <= 0 || gz <= 0) // an empty batch: nothing to do
    return;
  if (!started) {
    std::fprintf(stderr, "error: internal: a kernel was launched before the CUDA driver started\n");
    std::exit(1);
  }
  if (kernel < 0 || kernel >= kiln_cuda_kernel_count || nargs != paramSizes(kernel).count) {
    std::fprintf(stderr, "error: internal: kernel index %d with %d arguments does not match the "
                 "kernel table\n", int(kernel), int(nargs));
    std::exit(1);
  }
  Launch l = {kernel,
              {unsigned(gx), unsigned(gy), unsigned(gz)},
              {unsigned(bx), unsigned(by), unsigned(bz)},
              unsigned(sharedBytes),
              segment.params.size()};
  const int32_t *bytes = paramSizes(kernel).bytes;
  for (int32_t i = 0; i < nargs; ++i) {
    const char *value = static_cast<const char *>(args[i]);
    segment.params.resize(alignParameter(segment.params.size(), bytes[i]));
    segment.params.insert(segment.params.end(), value, value + bytes[i]);
  }
  segment.launches.push_back(l);
}

namespace kiln::runtime::gpu {
namespace {

std::once_flag imageOnce;

// kiln_cuda_submit numbers the calls that submitted kernels (tickets) and
// records an event after each, in a ring: waiting for a ticket older than
// the ring waits for a later event, which completes after it (one stream),
// so never too early.
constexpr uint64_t kEvents = 8;
CUevent events[kEvents];
uint64_t submissions = 0; // tickets handed out (under launchMutex)
uint64_t finished = 0;    // tickets known to be done

/// Submits this thread's recorded launches (under launchMutex).
void flushLaunches() {
  setContext(); // the context is current per thread: make it current on this one
  std::call_once(imageOnce, loadImage);
  submit(segment);
}

[[noreturn]] void kernelFailed(const char *call, CUresult r) {
  failed = true;
  // Launches are asynchronous: the failure is from a kernel launched since
  // the last synchronization, the last of them being lastKernel.
  std::fprintf(stderr, "error: %s failed: %s (a kernel launched since the last "
               "synchronization; the last one launched: %s)\n",
               call, errorText(r).c_str(), lastKernel ? lastKernel : "none");
  std::exit(1);
}

} // namespace

bool deviceStarted() { return started; }

bool hostMayRunAhead() { return started && concurrentManaged; }

uint64_t submitted() {
  std::lock_guard<std::mutex> lock(launchMutex);
  return submissions;
}

void waitFor(uint64_t ticket) {
  if (!started)
    return;
  std::lock_guard<std::mutex> lock(launchMutex);
  if (ticket <= finished)
    return;
  setContext();
  if (CUresult r = driver.cuEventSynchronize(events[ticket % kEvents]))
    kernelFailed("cuEventSynchronize", r);
  finished = ticket;
}

} // namespace kiln::runtime::gpu

extern "C" const char *kiln_cuda_start() {
  static std::string error;
  return startDevice(error) ? nullptr : error.c_str();
}

/// Called by the generated host code before it may touch memory the kernels
/// launched since the last call use (codegen/GpuLaunchToRuntime.cpp):
/// submits them and waits for every kernel.
extern "C" void kiln_cuda_sync() {
  if (!started)
    return;
  std::lock_guard<std::mutex> lock(launchMutex);
  flushLaunches();
  if (CUresult r = driver.cuCtxSynchronize())
    kernelFailed("cuCtxSynchronize", r);
  finished = submissions;
}

/// Called by the generated code where a function returns with launches
/// pending: submits them, without waiting, and hands out a ticket
/// (gpu::submitted, gpu::waitFor).
extern "C" void kiln_cuda_submit() {
  if (!started)
    return;
  std::lock_guard<std::mutex> lock(launchMutex);
  bool any = !segment.launches.empty();
  flushLaunches();
  if (!any)
    return;
  CUevent &event = events[++submissions % kEvents];
  if (!event)
    if (CUresult r = driver.cuEventCreate(&event, kEventDisableTiming))
      fatal("cuEventCreate", r, nullptr);
  if (CUresult r = driver.cuEventRecord(event, nullptr))
    fatal("cuEventRecord", r, nullptr);
}
