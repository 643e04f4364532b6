// The memory of generated code.
//
// kiln-plan-memory (codegen/PlanMemory.cpp) places a function's buffers in a
// workspace: `kiln_workspace(slot, bytes)` hands it out, and it stays from
// call to call, growing only when a call needs more (the first step, or a
// larger batch). Each thread has its own per slot, so tiles running at the
// same time never share one. Buffers the plan cannot place still come from
// memref.alloc, lowered to _mlir_memref_to_llvm_alloc/free (the generic
// functions of finalize-memref-to-llvm): malloc and free.
//
// Every allocation is counted, so that `bench` and the tests can show that
// a warm training step allocates nothing.
#include "runtime/KilnABI.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {

std::atomic<int64_t> allocations{0};

constexpr size_t kAlign = 64; // kiln-plan-memory's offsets are multiples of it
constexpr int kSlots = 2;

struct Workspace {
  void *data = nullptr;
  size_t bytes = 0;
  ~Workspace() { std::free(data); }
};

thread_local Workspace workspaces[kSlots];

} // namespace

extern "C" int64_t kiln_heap_allocations() { return allocations.load(std::memory_order_relaxed); }

extern "C" void _mlir_ciface_kiln_workspace(kiln::MemRefDescriptor<1> *result, int64_t slot,
                                            int64_t bytes) {
  if (slot < 0 || slot >= kSlots || bytes < 0) {
    std::fprintf(stderr, "error: internal: workspace slot %lld of %lld bytes\n",
                 static_cast<long long>(slot), static_cast<long long>(bytes));
    std::exit(1);
  }
  Workspace &w = workspaces[slot];
  if (!w.data || size_t(bytes) > w.bytes) {
    std::free(w.data);
    size_t size = (size_t(bytes) + kAlign - 1) / kAlign * kAlign;
    w.data = std::aligned_alloc(kAlign, size ? size : kAlign);
    if (!w.data) {
      std::fprintf(stderr, "error: out of memory: the memory plan needs %lld bytes\n",
                   static_cast<long long>(bytes));
      std::exit(1);
    }
    w.bytes = size;
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
  *result = {w.data, w.data, 0, {bytes}, {1}};
}

extern "C" void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(bytes);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { std::free(ptr); }
