// A host tensor (contiguous, row-major, 64-byte aligned, owning its buffer)
// and the memref descriptor that hands it to generated code.
#pragma once

#include "runtime/Types.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace kiln::runtime {

/// Set by runtime/gpu when a cuda executable starts a device run: every
/// tensor's storage (and the generated code's temporaries,
/// _mlir_memref_to_llvm_alloc) then comes from deviceAlloc (CUDA managed
/// memory: one pointer valid on the host and the device). Null on the CPU.
extern void *(*deviceAlloc)(size_t bytes);
extern void (*deviceFree)(void *p);

/// Set by runtime/gpu when a cuda executable starts a device run (null on
/// the CPU): what StagedTensor needs to move what the host writes every call
/// (a batch, the hyperparameters) by DMA instead of through managed pages.
struct DeviceStaging {
  void *(*pinnedAlloc)(size_t bytes); ///< page-locked host memory
  void (*pinnedFree)(void *p);
  void *(*deviceAlloc)(size_t bytes); ///< device memory the host never touches
  void (*deviceFree)(void *p);
  /// Copies host -> device asynchronously, in stream order before the
  /// kernels of the next entry-point call.
  void (*upload)(void *device, const void *host, size_t bytes);
};
extern const DeviceStaging *deviceStaging;

class Tensor {
public:
  /// Alignment of every buffer; vectorized generated code may rely on it.
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  /// A zero-filled tensor. Throws std::bad_alloc when memory runs out; callers
  /// validate sizes that come from files before getting here.
  Tensor(DType dtype, std::vector<int64_t> shape);
  /// Where a tensor's buffer comes from. Host: host memory (managed memory
  /// in a cuda run). Pinned: in a cuda run page-locked host memory, which
  /// kernels also read and write in place over the bus (unified addressing):
  /// the host side of a StagedTensor, and small tensors the host writes or
  /// reads every call (hyperparameters, loss and metrics, a batch's
  /// outputs), which managed memory would migrate between host and device
  /// pages each time; plain host memory on the CPU.
  enum class Memory { Host, Pinned };
  Tensor(DType dtype, std::vector<int64_t> shape, Memory memory);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  size_t bytes() const { return size_t(numel_) * dtypeSize(dtype_); }
  /// Size of the leading dimension (the samples of a data tensor).
  int64_t samples() const { return shape_.empty() ? 1 : shape_[0]; }
  /// Bytes of one sample: everything after the leading dimension.
  size_t sampleBytes() const;

  void *data() { return buf_.get(); }
  const void *data() const { return buf_.get(); }
  template <class T> T *as() { return static_cast<T *>(data()); }
  template <class T> const T *as() const {
    return static_cast<const T *>(data());
  }

private:
  enum class Source { Heap, Device, Pinned };
  struct Free {
    Free() : source(Source::Heap) {}
    explicit Free(Source from) : source(from) {}
    Source source;
    void operator()(void *p) const {
      if (source == Source::Device)
        deviceFree(p);
      else if (source == Source::Pinned)
        deviceStaging->pinnedFree(p);
      else
        std::free(p);
    }
  };
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<void, Free> buf_;
};

/// Copies samples [begin, begin + count) of `src` to the first rows of `dst`
/// (same dtype and per-sample shape; `dst` holds at least `count` samples).
void copyRows(const Tensor &src, int64_t begin, int64_t count, Tensor &dst);
/// Copies samples src[index[0]], ..., src[index[count-1]] to the first rows of
/// `dst`: a shuffled batch.
void gatherRows(const Tensor &src, const int64_t *index, int64_t count, Tensor &dst);

/// A memref descriptor of any rank (see KilnABI.h) describing a contiguous
/// row-major buffer. The descriptor lives inside this object: keep it alive
/// while generated code runs.
class MemRef {
public:
  MemRef(void *data, const std::vector<int64_t> &sizes);
  /// The whole tensor.
  static MemRef of(Tensor &t) { return MemRef(t.data(), t.shape()); }
  /// The first `rows` samples of the tensor (a batch smaller than its capacity).
  static MemRef firstRows(Tensor &t, int64_t rows);

  /// What goes into the args array.
  void *descriptor() { return words_.data(); }
  int64_t rank() const { return int64_t(words_.size() - 3) / 2; }

private:
  // allocated, aligned, offset, sizes[R], strides[R]: all 8-byte words.
  std::vector<int64_t> words_;
};

/// An input the host writes before every entry-point call: a batch buffer
/// (rows = samples, at most its capacity) or a hyperparameter. On the CPU
/// generated code reads host() itself. In a cuda run host() is page-locked
/// memory, and upload() copies the call's rows asynchronously into device
/// memory of the same size, which view() describes: the copy engine moves
/// them, ahead of the call's kernels on the same stream, where managed
/// memory would migrate pages on the kernels' faults.
class StagedTensor {
public:
  StagedTensor(DType dtype, std::vector<int64_t> shape);

  Tensor &host() { return host_; }
  /// Copies the first `rows` samples to the device (nothing on the CPU).
  void upload(int64_t rows);
  void upload() { upload(host_.samples()); }
  /// A descriptor of the first `rows` samples where generated code reads
  /// them (device memory in a cuda run). It stays valid across uploads.
  MemRef view(int64_t rows);
  MemRef view() { return view(host_.samples()); }

private:
  struct DeviceFree {
    void operator()(void *p) const { deviceStaging->deviceFree(p); }
  };
  Tensor host_;
  std::unique_ptr<void, DeviceFree> device_; // null on the CPU
};

} // namespace kiln::runtime
