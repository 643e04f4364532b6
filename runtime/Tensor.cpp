#include "runtime/Tensor.h"

#include <cstring>
#include <new>

namespace kiln::runtime {

void *(*deviceAlloc)(size_t bytes) = nullptr;
void (*deviceFree)(void *p) = nullptr;
const DeviceStaging *deviceStaging = nullptr;

static_assert(sizeof(void *) == sizeof(int64_t),
              "memref descriptors assume 64-bit pointers");

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : Tensor(dtype, std::move(shape), Memory::Host) {}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, Memory memory)
    : dtype_(dtype), shape_(std::move(shape)) {
  // 2^62 elements of 8 bytes would overflow bytes(): refuse them here too.
  if (!checkedNumel(shape_, numel_) || size_t(numel_) > SIZE_MAX / 8)
    throw std::bad_alloc();
  // aligned_alloc wants a multiple of the alignment, and never a zero size.
  size_t size = (bytes() + kAlignment - 1) / kAlignment * kAlignment;
  if (size == 0)
    size = kAlignment;
  Source source = memory == Memory::Pinned && deviceStaging ? Source::Pinned
                  : deviceAlloc                                 ? Source::Device
                                                                : Source::Heap;
  void *p = source == Source::Pinned   ? deviceStaging->pinnedAlloc(size)
            : source == Source::Device ? deviceAlloc(size)
                                       : std::aligned_alloc(kAlignment, size);
  if (!p)
    throw std::bad_alloc();
  std::memset(p, 0, size);
  buf_ = std::unique_ptr<void, Free>(p, Free(source));
}

size_t Tensor::sampleBytes() const {
  if (shape_.empty())
    return bytes();
  size_t n = dtypeSize(dtype_);
  for (size_t i = 1; i < shape_.size(); ++i)
    n *= size_t(shape_[i]);
  return n;
}

void copyRows(const Tensor &src, int64_t begin, int64_t count, Tensor &dst) {
  size_t row = src.sampleBytes();
  std::memcpy(dst.data(), static_cast<const char *>(src.data()) + size_t(begin) * row,
              size_t(count) * row);
}

void gatherRows(const Tensor &src, const int64_t *index, int64_t count, Tensor &dst) {
  size_t row = src.sampleBytes();
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(static_cast<char *>(dst.data()) + size_t(i) * row,
                static_cast<const char *>(src.data()) + size_t(index[i]) * row, row);
}

MemRef::MemRef(void *data, const std::vector<int64_t> &sizes) {
  size_t rank = sizes.size();
  words_.assign(3 + 2 * rank, 0);
  words_[0] = reinterpret_cast<intptr_t>(data);
  words_[1] = reinterpret_cast<intptr_t>(data);
  words_[2] = 0;
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words_[3 + i] = sizes[i];
    words_[3 + rank + i] = stride;
    stride *= sizes[i];
  }
}

MemRef MemRef::firstRows(Tensor &t, int64_t rows) {
  std::vector<int64_t> sizes = t.shape();
  if (!sizes.empty())
    sizes[0] = rows;
  return MemRef(t.data(), sizes);
}

StagedTensor::StagedTensor(DType dtype, std::vector<int64_t> shape)
    : host_(dtype, std::move(shape), Tensor::Memory::Pinned) {
  if (deviceStaging) {
    size_t size = (host_.bytes() + Tensor::kAlignment - 1) / Tensor::kAlignment *
                  Tensor::kAlignment;
    device_.reset(deviceStaging->deviceAlloc(size ? size : Tensor::kAlignment));
    upload(); // the device copy starts as the host's: zeros
  }
}

void StagedTensor::upload(int64_t rows) {
  if (device_ && rows > 0)
    deviceStaging->upload(device_.get(), host_.data(), size_t(rows) * host_.sampleBytes());
}

MemRef StagedTensor::view(int64_t rows) {
  std::vector<int64_t> sizes = host_.shape();
  if (!sizes.empty())
    sizes[0] = rows;
  return MemRef(device_ ? device_.get() : host_.data(), sizes);
}

} // namespace kiln::runtime
