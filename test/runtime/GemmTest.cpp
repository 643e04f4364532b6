// The runtime's matrix product against a plain triple loop: edge sizes that
// are not multiples of the blocking, strided (transposed) operands, f64, and
// the same bits whatever the thread count.
#include "runtime/Gemm.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

template <typename T> struct MemRef2D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

template <typename T> MemRef2D<T> view(std::vector<T> &data, int64_t rows, int64_t cols,
                                       int64_t rowStride, int64_t colStride) {
  return {data.data(), data.data(), 0, {rows, cols}, {rowStride, colStride}};
}

} // namespace

extern "C" void _mlir_ciface_kiln_matmul_f32(MemRef2D<float> *, MemRef2D<float> *,
                                             MemRef2D<float> *);
extern "C" void _mlir_ciface_kiln_matmul_f64(MemRef2D<double> *, MemRef2D<double> *,
                                             MemRef2D<double> *);

template <typename T> void call(MemRef2D<T> a, MemRef2D<T> b, MemRef2D<T> c) {
  if constexpr (sizeof(T) == 4)
    _mlir_ciface_kiln_matmul_f32(&a, &b, &c);
  else
    _mlir_ciface_kiln_matmul_f64(&a, &b, &c);
}

/// C = C0 + A @ B with A given transposed when `transposeA` (column stride m).
template <typename T> void check(int64_t m, int64_t n, int64_t k, bool transposeA, int threads) {
  std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 7 + k));
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> a(m * k), b(k * n), c(m * n), want(m * n);
  for (auto *v : {&a, &b, &c})
    for (T &x : *v)
      x = static_cast<T>(u(rng));
  auto at = [&](int64_t i, int64_t p) { return transposeA ? a[p * m + i] : a[i * k + p]; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p)
        sum += double(at(i, p)) * double(b[p * n + j]);
      want[i * n + j] = static_cast<T>(c[i * n + j] + sum);
    }
  kiln::runtime::setMatmulThreads(threads);
  call<T>(transposeA ? view(a, m, k, 1, m) : view(a, m, k, k, 1), view(b, k, n, n, 1),
          view(c, m, n, n, 1));
  double tolerance = sizeof(T) == 4 ? 1e-4 : 1e-12;
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_NEAR(c[i], want[i], tolerance * (1 + k)) << "element " << i;
}

TEST(GemmTest, EdgeSizes) {
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 17, 5},
                         {64, 256, 784}, {73, 1030, 257}, {5, 3, 0}})
    check<float>(m, n, k, false, 1);
}

TEST(GemmTest, TransposedOperandAndDouble) {
  check<float>(33, 40, 300, true, 1);
  check<double>(13, 29, 31, false, 1);
}

TEST(GemmTest, ThreadsGiveTheSameBits) {
  std::vector<float> a(96 * 700), b(700 * 300), one(96 * 300, 0.5f), two(96 * 300, 0.5f);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto *v : {&a, &b})
    for (float &x : *v)
      x = u(rng);
  kiln::runtime::setMatmulThreads(1);
  call<float>(view(a, 96, 700, 700, 1), view(b, 700, 300, 300, 1), view(one, 96, 300, 300, 1));
  kiln::runtime::setMatmulThreads(3);
  call<float>(view(a, 96, 700, 700, 1), view(b, 700, 300, 300, 1), view(two, 96, 300, 300, 1));
  EXPECT_EQ(one, two);
  check<float>(50, 500, 200, false, 4);
}
