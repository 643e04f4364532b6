// The heap of generated code: codegen lowers memref.alloc/dealloc to
// _mlir_memref_to_llvm_alloc/free (finalize-memref-to-llvm's generic
// functions), defined here. A training step allocates and frees the same
// buffers every step, many of them megabytes: through malloc those are fresh
// mmaps, and the page faults that zero them cost more than some kernels. Here
// freed blocks are kept in power-of-two size classes and handed out again, as
// PyTorch's caching allocator does; the cache is bounded, and a sanitized
// build passes straight through to malloc so that ASan sees every block.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KILN_PLAIN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_PLAIN_MALLOC 1
#endif
#endif

namespace {

#ifndef KILN_PLAIN_MALLOC
// Each block starts with a header holding its size class; the header keeps
// the caller's pointer aligned as malloc's: codegen allocates with padding
// and aligns inside the block itself (use-aligned-alloc is off, so the
// generic aligned_alloc is never called and not defined).
constexpr size_t kHeader = alignof(std::max_align_t);
constexpr int kClasses = 48;                     // 2^4 ... 2^47 bytes
constexpr size_t kCacheLimit = size_t(1) << 31;  // bytes kept for reuse

class BlockCache {
public:
  void *allocate(size_t bytes) {
    int cls = classOf(bytes + kHeader);
    if (cls >= kClasses)
      return nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex);
      std::vector<void *> &list = free[cls];
      if (!list.empty()) {
        void *block = list.back();
        list.pop_back();
        cached -= size_t(1) << cls;
        return static_cast<char *>(block) + kHeader;
      }
    }
    void *block = std::malloc(size_t(1) << cls);
    if (!block)
      return nullptr;
    *static_cast<int *>(block) = cls;
    return static_cast<char *>(block) + kHeader;
  }

  void release(void *ptr) {
    if (!ptr)
      return;
    void *block = static_cast<char *>(ptr) - kHeader;
    int cls = *static_cast<int *>(block);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (cached + (size_t(1) << cls) <= kCacheLimit) {
        free[cls].push_back(block);
        cached += size_t(1) << cls;
        return;
      }
    }
    std::free(block);
  }

private:
  static int classOf(size_t bytes) {
    int cls = 4;
    while (cls < kClasses && (size_t(1) << cls) < bytes)
      ++cls;
    return cls;
  }

  std::mutex mutex;
  std::vector<void *> free[kClasses];
  size_t cached = 0;
};

BlockCache &cache() {
  // Never destroyed: generated code may free after static destructors ran.
  static BlockCache *c = new BlockCache;
  return *c;
}
#endif

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t bytes) {
#ifdef KILN_PLAIN_MALLOC
  return std::malloc(bytes);
#else
  return cache().allocate(bytes);
#endif
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
#ifdef KILN_PLAIN_MALLOC
  std::free(ptr);
#else
  cache().release(ptr);
#endif
}
