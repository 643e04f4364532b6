// MPI through dlopen: the few functions and handles Kiln uses, with Open
// MPI's ABI (handles are addresses of its predefined objects, MPI_IN_PLACE
// is (void *)1), so no MPI header or library is needed to build.
#include "runtime/parallel/Mpi.h"

#include "runtime/Args.h"
#include "runtime/KilnABI.h"
#include "runtime/Signals.h"
#include "runtime/gpu/CudaRuntime.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <thread>

namespace kiln::runtime {

namespace {

using Handle = void *; // MPI_Comm, MPI_Datatype, MPI_Op in Open MPI
void *const kInPlace = reinterpret_cast<void *>(1);

struct Mpi {
  int (*init)(int *, char ***);
  int (*finalize)();
  int (*abort)(Handle, int);
  int (*commRank)(Handle, int *);
  int (*commSize)(Handle, int *);
  int (*allreduce)(const void *, void *, int, Handle, Handle, Handle);
  int (*reduce)(const void *, void *, int, Handle, Handle, int, Handle);
  Handle world, f32, f64, i32, byte, sum, max, bor;
};

Mpi *mpi = nullptr; // set while the run has MPI
Processes self;
double reduceSeconds = 0;

/// The launcher's environment: Open MPI's mpirun, PMIx (prterun, srun
/// --mpi=pmix) or PMI (srun, hydra).
bool launched() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}

template <typename T> void resolve(void *lib, const char *name, T &out) {
  out = reinterpret_cast<T>(dlsym(lib, name));
  if (!out)
    usageError(std::string("MPI: the MPI library has no ") + name +
               " (Kiln needs Open MPI's, libmpi.so.40)");
}

/// Runs `fn` on chunks of at most INT_MAX elements (MPI counts are int).
template <typename Fn> void chunked(int64_t n, Fn fn) {
  for (int64_t done = 0; done < n;) {
    int count = int(std::min<int64_t>(n - done, INT_MAX));
    fn(done, count);
    done += count;
  }
}

} // namespace

const Processes &processes() { return self; }

void startProcesses() {
  if (mpi || !launched())
    return;
  const char *name = std::getenv("KILN_MPI_LIBRARY");
  if (!name || !*name)
    name = "libmpi.so.40";
  // RTLD_GLOBAL: Open MPI's own plugins resolve symbols of libmpi.
  void *lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
  if (!lib)
    usageError(std::string("an MPI launcher started this process, but ") + name +
               " (Open MPI) cannot be loaded: " + dlerror() +
               " (install Open MPI, e.g. apt-get install openmpi-bin, or set KILN_MPI_LIBRARY)");
  static Mpi m;
  resolve(lib, "MPI_Init", m.init);
  resolve(lib, "MPI_Finalize", m.finalize);
  resolve(lib, "MPI_Abort", m.abort);
  resolve(lib, "MPI_Comm_rank", m.commRank);
  resolve(lib, "MPI_Comm_size", m.commSize);
  resolve(lib, "MPI_Allreduce", m.allreduce);
  resolve(lib, "MPI_Reduce", m.reduce);
  resolve(lib, "ompi_mpi_comm_world", m.world);
  resolve(lib, "ompi_mpi_float", m.f32);
  resolve(lib, "ompi_mpi_double", m.f64);
  resolve(lib, "ompi_mpi_int", m.i32);
  resolve(lib, "ompi_mpi_byte", m.byte);
  resolve(lib, "ompi_mpi_op_sum", m.sum);
  resolve(lib, "ompi_mpi_op_max", m.max);
  resolve(lib, "ompi_mpi_op_bor", m.bor);
  if (m.init(nullptr, nullptr) != 0)
    runError("MPI_Init failed");
  mpi = &m;
  m.commRank(m.world, &self.rank);
  m.commSize(m.world, &self.size);
  const char *local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  int cores = int(std::thread::hardware_concurrency());
  if (local && std::atoi(local) > 0 && cores > 0)
    self.threads = std::max(1, cores / std::atoi(local));
  if (self.rank != 0 && !std::freopen("/dev/null", "w", stdout))
    runError("cannot send rank " + std::to_string(self.rank) + "'s stdout to /dev/null");
}

void finishProcesses() {
  if (mpi)
    mpi->finalize();
  mpi = nullptr;
}

void abortProcesses(int status) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (mpi)
    mpi->abort(mpi->world, status);
  std::_Exit(status);
}

void allReduceSum(double *data, int64_t n) {
  if (!mpi || self.size == 1)
    return;
  chunked(n, [&](int64_t at, int count) {
    mpi->allreduce(kInPlace, data + at, count, mpi->f64, mpi->sum, mpi->world);
  });
}

bool anyStopRequested() {
  int stop = stopRequested() ? 1 : 0;
  if (mpi && self.size > 1)
    mpi->allreduce(kInPlace, &stop, 1, mpi->i32, mpi->max, mpi->world);
  return stop != 0;
}

void gatherByOr(void *data, size_t bytes) {
  if (!mpi || self.size == 1)
    return;
  auto *p = static_cast<char *>(data);
  chunked(int64_t(bytes), [&](int64_t at, int count) {
    mpi->reduce(self.rank == 0 ? kInPlace : p + at, p + at, count, mpi->byte, mpi->bor, 0,
                mpi->world);
  });
}

double allReduceSeconds() { return reduceSeconds; }

} // namespace kiln::runtime

using namespace kiln::runtime;

namespace {

/// The generated train step's reduction: every value times this rank's
/// share of the global batch, summed over the ranks. With one process the
/// buffer is left as it is (bit for bit) and nothing is read, not even the
/// share: a cuda executable's kernels may still be computing the buffer
/// (the generated code does not wait before this call), so with several
/// processes it waits for them first.
template <typename T>
void allReduceMean(kiln::MemRefDescriptor<1> *buf, kiln::MemRefDescriptor<0> *shareBuf,
                   Handle type) {
  if (!mpi || self.size == 1)
    return;
  kiln_cuda_sync();
  auto start = std::chrono::steady_clock::now();
  double share = static_cast<const double *>(shareBuf->aligned)[shareBuf->offset];
  T *p = static_cast<T *>(buf->aligned) + buf->offset;
  int64_t n = buf->sizes[0];
  for (int64_t i = 0; i < n; ++i)
    p[i] = T(p[i] * share);
  chunked(n, [&](int64_t at, int count) {
    mpi->allreduce(kInPlace, p + at, count, type, mpi->sum, mpi->world);
  });
  reduceSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

extern "C" void _mlir_ciface_kiln_all_reduce_mean_f32(kiln::MemRefDescriptor<1> *buf,
                                                      kiln::MemRefDescriptor<0> *share) {
  allReduceMean<float>(buf, share, mpi ? mpi->f32 : nullptr);
}

extern "C" void _mlir_ciface_kiln_all_reduce_mean_f64(kiln::MemRefDescriptor<1> *buf,
                                                      kiln::MemRefDescriptor<0> *share) {
  allReduceMean<double>(buf, share, mpi ? mpi->f64 : nullptr);
}
