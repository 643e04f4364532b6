// Tensors and memref descriptors.
#include "runtime/KilnABI.h"
#include "runtime/Tensor.h"

#include <gtest/gtest.h>

using namespace kiln::runtime;

namespace {

TEST(TensorTest, AlignedZeroedBuffers) {
  Tensor t(DType::F64, {3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % Tensor::kAlignment, 0u);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.bytes(), 120u);
  EXPECT_EQ(t.sampleBytes(), 40u);
  EXPECT_EQ(t.as<double>()[14], 0.0);
  Tensor s(DType::U8, {});
  EXPECT_EQ(s.numel(), 1);
  EXPECT_NE(s.data(), nullptr);
  EXPECT_THROW(Tensor(DType::F32, {1ll << 40, 1ll << 40}), std::bad_alloc);
}

TEST(TensorTest, MemRefMatchesMlirLayout) {
  Tensor t(DType::F32, {4, 2, 3});
  MemRef m = MemRef::firstRows(t, 3);
  EXPECT_EQ(m.rank(), 3);
  auto *d = static_cast<kiln::MemRefDescriptor<3> *>(m.descriptor());
  EXPECT_EQ(d->allocated, t.data());
  EXPECT_EQ(d->aligned, t.data());
  EXPECT_EQ(d->offset, 0);
  EXPECT_EQ(d->sizes[0], 3);
  EXPECT_EQ(d->sizes[2], 3);
  EXPECT_EQ(d->strides[0], 6);
  EXPECT_EQ(d->strides[1], 3);
  EXPECT_EQ(d->strides[2], 1);

  Tensor s(DType::F32, {});
  MemRef ms = MemRef::of(s);
  EXPECT_EQ(ms.rank(), 0);
  EXPECT_EQ(static_cast<kiln::MemRefDescriptor<0> *>(ms.descriptor())->aligned, s.data());
}

TEST(TensorTest, CopyAndGatherRows) {
  Tensor src(DType::I32, {4, 2});
  for (int i = 0; i < 8; ++i)
    src.as<int32_t>()[i] = i;
  Tensor dst(DType::I32, {2, 2});
  copyRows(src, 2, 2, dst);
  EXPECT_EQ(dst.as<int32_t>()[0], 4);
  int64_t idx[] = {3, 0};
  gatherRows(src, idx, 2, dst);
  EXPECT_EQ(dst.as<int32_t>()[0], 6);
  EXPECT_EQ(dst.as<int32_t>()[3], 1);
}

} // namespace
