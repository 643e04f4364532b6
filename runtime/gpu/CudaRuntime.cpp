// See runtime/gpu/CudaRuntime.h. Device memory is CUDA managed memory
// (cuMemAllocManaged): parameters, optimizer state, batches and the
// generated code's temporaries live there, one pointer valid on host and
// device, so the host's scalar code and the runtime's data staging read and
// write it directly. Launches are asynchronous on the default stream; the
// generated code calls kiln_cuda_sync (cuCtxSynchronize) before the host
// touches memory after launches, so it never does while a kernel runs. This is the simple,
// slow form; docs/runtime.md lists what is missing (explicit device memory
// from the plan, pinned staging, one stream, CUDA graph replay).
#include "runtime/gpu/CudaRuntime.h"

#include "runtime/Tensor.h"

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
constexpr unsigned kMemAttachGlobal = 1;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, void *, void **, void **);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

Driver driver;
bool started = false;
CUcontext context = nullptr;
std::mutex launchMutex; // the runtime may call entry points from its threads
CUmodule module = nullptr;
std::vector<CUfunction> functions;
std::vector<const char *> names;
const char *lastKernel = nullptr;

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

/// A driver call failed during the run: one line naming the call (and the
/// kernel), exit 1.
[[noreturn]] void fatal(const char *call, CUresult r, const char *kernel) {
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
      !symbol(lib, "cuDevicePrimaryCtxRetain", driver.cuDevicePrimaryCtxRetain, error) ||
      !symbol(lib, "cuCtxSetCurrent", driver.cuCtxSetCurrent, error) ||
      !symbol(lib, "cuCtxSynchronize", driver.cuCtxSynchronize, error) ||
      !symbol(lib, "cuModuleLoadData", driver.cuModuleLoadData, error) ||
      !symbol(lib, "cuModuleGetFunction", driver.cuModuleGetFunction, error) ||
      !symbol(lib, "cuLaunchKernel", driver.cuLaunchKernel, error) ||
      !symbol(lib, "cuMemAllocManaged", driver.cuMemAllocManaged, error) ||
      !symbol(lib, "cuMemFree_v2", driver.cuMemFree, error) ||
      !symbol(lib, "cuGetErrorName", driver.cuGetErrorName, error) ||
      !symbol(lib, "cuGetErrorString", driver.cuGetErrorString, error))
    return false;
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
  deviceAlloc = managedAlloc;
  deviceFree = managedFree;
  started = true;
  return true;
}

} // namespace kiln::runtime::gpu

using namespace kiln::runtime::gpu;

/// Called by the generated host code for every kernel launch.
extern "C" void kiln_cuda_launch(int32_t kernel, int64_t gx, int64_t gy, int64_t gz,
                                 int64_t bx, int64_t by, int64_t bz, int32_t sharedBytes,
                                 void **args, int32_t nargs) {
  (void)nargs;
  if (gx <= 0 || gy <= 0 || gz <= 0) // an empty batch: nothing to do
    return;
  std::lock_guard<std::mutex> lock(launchMutex);
  static std::once_flag once;
  if (!started) {
    std::fprintf(stderr, "error: internal: a kernel was launched before the CUDA driver started\n");
    std::exit(1);
  }
  // The context is current per thread: make it current on this one.
  if (CUresult r = driver.cuCtxSetCurrent(context))
    fatal("cuCtxSetCurrent", r, nullptr);
  std::call_once(once, loadImage);
  if (kernel < 0 || size_t(kernel) >= functions.size()) {
    std::fprintf(stderr, "error: internal: kernel index %d out of range\n", int(kernel));
    std::exit(1);
  }
  const char *name = names[size_t(kernel)];
  CUfunction &f = functions[size_t(kernel)];
  if (!f)
    if (CUresult r = driver.cuModuleGetFunction(&f, module, name))
      fatal("cuModuleGetFunction", r, name);
  if (CUresult r = driver.cuLaunchKernel(f, unsigned(gx), unsigned(gy), unsigned(gz),
                                         unsigned(bx), unsigned(by), unsigned(bz),
                                         unsigned(sharedBytes), nullptr, args, nullptr))
    fatal("cuLaunchKernel", r, name);
  lastKernel = name; // asynchronous: kiln_cuda_sync reports its errors
}

/// Called by the generated host code before it may touch memory the kernels
/// launched since the last call use (codegen/GpuLaunchToRuntime.cpp).
extern "C" void kiln_cuda_sync() {
  std::lock_guard<std::mutex> lock(launchMutex);
  if (!started)
    return;
  if (CUresult r = driver.cuCtxSetCurrent(context))
    fatal("cuCtxSetCurrent", r, nullptr);
  if (CUresult r = driver.cuCtxSynchronize()) {
    // Launches are asynchronous: the failure is from a kernel launched since
    // the last synchronization, the last of them being lastKernel.
    std::fprintf(stderr, "error: cuCtxSynchronize failed: %s (a kernel launched since the "
                 "last synchronization; the last one launched: %s)\n",
                 errorText(r).c_str(), lastKernel ? lastKernel : "none");
    std::exit(1);
  }
}
