// What generated code calls to run a region's tiles on the thread pool
// (kiln.parallel_for, lowered by codegen/ParallelToLLVM.cpp).
#include "runtime/kernels/ThreadPool.h"

#include <cstdint>

/// Runs task(context, 0) ... task(context, tasks - 1). Each task writes its
/// own tile, so which thread runs it does not matter.
extern "C" void kiln_parallel_for(void (*task)(void *, int64_t), void *context, int64_t tasks) {
  if (tasks == 1) {
    task(context, 0);
    return;
  }
  kiln::runtime::parallelFor(tasks, [&](int64_t i) { task(context, i); });
}
