// The memory of generated code.
//
// kiln-plan-memory (codegen/PlanMemory.cpp) places a function's buffers in
// workspaces that stay from call to call and only grow (on the first step,
// or the first batch of a larger size):
// - slot 0: the entry points' buffers, one workspace per calling thread;
// - slot 1: the buffers of a parallel loop's tiles, one workspace per thread
//   of the pool, since tiles run at the same time. Before the loop, the
//   calling thread grows every thread's (kiln_reserve_tile_workspaces), so
//   which thread runs which tile never decides whether something allocates.
// Buffers the plan cannot place still come from memref.alloc, lowered to
// _mlir_memref_to_llvm_alloc/free (the generic functions of
// finalize-memref-to-llvm): malloc and free, or device memory in a cuda run.
//
// Every allocation is counted, so that `bench` and the tests can show that
// a warm training step allocates nothing.
#include "runtime/Tensor.h"
#include "runtime/KilnABI.h"
#include "runtime/kernels/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {

std::atomic<int64_t> allocations{0};

constexpr size_t kAlign = 64; // kiln-plan-memory's offsets are multiples of it

// In a cuda run (kiln::runtime::deviceAlloc set) workspaces are device
// memory: the kernels read and write them.
struct Workspace {
  void *data = nullptr;
  size_t bytes = 0;
  bool device = false;
  ~Workspace() { release(); }

  void release() {
    if (device)
      kiln::runtime::deviceFree(data);
    else
      std::free(data);
    data = nullptr;
  }

  void grow(int64_t need) {
    if (data && size_t(need) <= bytes)
      return;
    release();
    size_t size = (size_t(need) + kAlign - 1) / kAlign * kAlign;
    if (size == 0)
      size = kAlign;
    device = kiln::runtime::deviceAlloc != nullptr;
    data = device ? kiln::runtime::deviceAlloc(size) : std::aligned_alloc(kAlign, size);
    if (!data) {
      std::fprintf(stderr, "error: out of memory: the memory plan needs %lld bytes\n",
                   static_cast<long long>(need));
      std::exit(1);
    }
    bytes = size;
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
};

thread_local Workspace entryWorkspace;

// Tile workspaces by thread index. A thread past the table (a pool of more
// than kTileThreads threads) keeps its own, grown when its tiles need it.
constexpr int kTileThreads = 1024;
Workspace tileWorkspaces[kTileThreads];
thread_local Workspace ownTileWorkspace;

Workspace &tileWorkspace() {
  int index = kiln::runtime::currentThreadIndex();
  return index < kTileThreads ? tileWorkspaces[index] : ownTileWorkspace;
}

} // namespace

extern "C" int64_t kiln_heap_allocations() { return allocations.load(std::memory_order_relaxed); }

extern "C" void _mlir_ciface_kiln_reserve_tile_workspaces(int64_t bytes) {
  // Called between parallel loops: no tile is running.
  int threads = std::min(kiln::runtime::threadPool().threads(), kTileThreads);
  for (int i = 0; i < threads; ++i)
    tileWorkspaces[i].grow(bytes);
}

extern "C" void _mlir_ciface_kiln_workspace(kiln::MemRefDescriptor<1> *result, int64_t slot,
                                            int64_t bytes) {
  if ((slot != 0 && slot != 1) || bytes < 0) {
    std::fprintf(stderr, "error: internal: workspace slot %lld of %lld bytes\n",
                 static_cast<long long>(slot), static_cast<long long>(bytes));
    std::exit(1);
  }
  Workspace &w = slot == 0 ? entryWorkspace : tileWorkspace();
  w.grow(bytes);
  *result = {w.data, w.data, 0, {bytes}, {1}};
}

extern "C" void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (kiln::runtime::deviceAlloc) // a cuda run: kernels write the temporaries
    return kiln::runtime::deviceAlloc(bytes ? bytes : 1);
  return std::malloc(bytes);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
  if (kiln::runtime::deviceFree) {
    if (ptr)
      kiln::runtime::deviceFree(ptr);
    return;
  }
  std::free(ptr);
}
