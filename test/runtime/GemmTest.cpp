// The runtime's matrix product against a plain triple loop: edge sizes that
// are not multiples of the blocking, the skinny shapes of the examples (one
// row, ten columns, small K), strided (transposed) operands, f64, the same
// bits whatever the thread count on every path, and C = A * B (accumulate 0)
// with the bits of C += A * B into zeros.
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/ThreadPool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

using Descriptor = kiln::MemRefDescriptor<2>;

template <typename T> Descriptor view(std::vector<T> &data, int64_t rows, int64_t cols,
                                     int64_t rowStride, int64_t colStride) {
  return {data.data(), data.data(), 0, {rows, cols}, {rowStride, colStride}};
}

} // namespace

template <typename T> void call(Descriptor a, Descriptor b, Descriptor c, int64_t accumulate = 1) {
  if constexpr (sizeof(T) == 4)
    _mlir_ciface_kiln_matmul_f32(&a, &b, &c, accumulate);
  else
    _mlir_ciface_kiln_matmul_f64(&a, &b, &c, accumulate);
}

/// C = C0 + A @ B with A and/or B given transposed (a view with swapped
/// strides, as kiln-matmul-to-call passes them).
template <typename T>
void check(int64_t m, int64_t n, int64_t k, bool transposeA, int threads, bool transposeB = false) {
  std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 7 + k));
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> a(m * k), b(k * n), c(m * n), want(m * n);
  for (auto *v : {&a, &b, &c})
    for (T &x : *v)
      x = static_cast<T>(u(rng));
  auto at = [&](int64_t i, int64_t p) { return transposeA ? a[p * m + i] : a[i * k + p]; };
  auto bt = [&](int64_t p, int64_t j) { return transposeB ? b[j * k + p] : b[p * n + j]; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p)
        sum += double(at(i, p)) * double(bt(p, j));
      want[i * n + j] = static_cast<T>(c[i * n + j] + sum);
    }
  kiln::runtime::threadPool().setThreads(threads);
  call<T>(transposeA ? view(a, m, k, 1, m) : view(a, m, k, k, 1),
          transposeB ? view(b, k, n, 1, k) : view(b, k, n, n, 1), view(c, m, n, n, 1));
  double tolerance = sizeof(T) == 4 ? 1e-4 : 1e-12;
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_NEAR(c[i], want[i], tolerance * (1 + k))
        << m << "x" << n << "x" << k << " tA " << transposeA << " tB " << transposeB
        << " element " << i;
}

TEST(GemmTest, EdgeSizes) {
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 17, 5},
                         {64, 256, 784}, {73, 1030, 257}, {5, 3, 0}})
    check<float>(m, n, k, false, 1);
}

TEST(GemmTest, TransposedOperandAndDouble) {
  check<float>(33, 40, 300, true, 1);
  check<double>(13, 29, 31, false, 1);
  check<double>(1, 29, 31, true, 1, true);
}

// The examples' shapes (MLP 784-256-128-10 at batch 1 and 64, forward and
// backward) and the edges of each path: one row (dot products when B is
// transposed), at most 16 columns (the narrow kernel, masked), one row panel
// (B read in place), a column vector, K = 1, every transposition.
TEST(GemmTest, SkinnyAndTransposedShapes) {
  for (auto [m, n, k] :
       {std::tuple<int64_t, int64_t, int64_t>{1, 256, 784}, {1, 10, 128}, {1, 128, 10},
        {64, 10, 128}, {64, 128, 10}, {10, 128, 64}, {256, 784, 1}, {3, 17, 9}, {100, 1, 50},
        {1, 1, 7}, {17, 33, 300}, {40, 16, 3}, {9, 300, 520}, {70, 5, 700}})
    for (bool tA : {false, true})
      for (bool tB : {false, true}) {
        check<float>(m, n, k, tA, 1, tB);
        if (m * n * k < 100000)
          check<double>(m, n, k, tA, 1, tB);
      }
}

TEST(GemmTest, ThreadsGiveTheSameBits) {
  std::vector<float> a(96 * 700), b(700 * 300), one(96 * 300, 0.5f);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto *v : {&a, &b})
    for (float &x : *v)
      x = u(rng);
  kiln::runtime::threadPool().setThreads(1);
  call<float>(view(a, 96, 700, 700, 1), view(b, 700, 300, 300, 1), view(one, 96, 300, 300, 1));
  // 300 columns are 19 panels: fewer threads, as many, and more than panels.
  for (int threads : {2, 3, 4, 7, 19, 64}) {
    std::vector<float> two(96 * 300, 0.5f);
    kiln::runtime::threadPool().setThreads(threads);
    call<float>(view(a, 96, 700, 700, 1), view(b, 700, 300, 300, 1), view(two, 96, 300, 300, 1));
    EXPECT_EQ(one, two) << threads << " threads";
  }
  // Called from inside a task of the pool (a kernel parallel over something
  // else), the product runs on that thread, with the same bits.
  kiln::runtime::threadPool().setThreads(4);
  std::vector<std::vector<float>> inside(3, std::vector<float>(96 * 300, 0.5f));
  kiln::runtime::parallelFor(3, [&](int64_t t) {
    call<float>(view(a, 96, 700, 700, 1), view(b, 700, 300, 300, 1),
                view(inside[t], 96, 300, 300, 1));
  });
  for (const std::vector<float> &c : inside)
    EXPECT_EQ(one, c);
  check<float>(50, 500, 200, false, 4);
  kiln::runtime::threadPool().setThreads(1);
}

/// The product's bits with `threads` threads.
std::vector<float> product(int64_t m, int64_t n, int64_t k, bool tA, bool tB, int threads) {
  std::vector<float> a(m * k), b(k * n), c(m * n, 0.25f);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto *v : {&a, &b})
    for (float &x : *v)
      x = u(rng);
  kiln::runtime::threadPool().setThreads(threads);
  call<float>(tA ? view(a, m, k, 1, m) : view(a, m, k, k, 1),
              tB ? view(b, k, n, 1, k) : view(b, k, n, n, 1), view(c, m, n, n, 1));
  kiln::runtime::threadPool().setThreads(1);
  return c;
}

// Every path splits only M or N: one row (dot products and the one-row
// kernel), ten columns, one row panel, rows split (M > N), transposed
// operands, K = 1 (rank-1 rows); all large enough to be split.
TEST(GemmTest, ThreadsGiveTheSameBitsOnEveryPath) {
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 700, 800}, {96, 10, 700},
                         {20, 300, 260}, {600, 40, 300}, {256, 784, 64}, {64, 256, 784},
                         {1024, 784, 1}})
    for (bool tA : {false, true})
      for (bool tB : {false, true}) {
        std::vector<float> one = product(m, n, k, tA, tB, 1);
        for (int threads : {2, 3, 5})
          EXPECT_EQ(one, product(m, n, k, tA, tB, threads))
              << m << "x" << n << "x" << k << " tA " << tA << " tB " << tB << ", " << threads
              << " threads";
      }
}

/// C = A * B over a C full of NaNs (never read) against C += A * B over zeros.
template <typename T>
void checkOverwrite(int64_t m, int64_t n, int64_t k, bool tA, bool tB, bool cColumnMajor,
                    int threads) {
  std::vector<T> a(m * k), b(k * n), zeros(m * n, T(0)), nans(m * n, std::numeric_limits<T>::quiet_NaN());
  std::mt19937 rng(static_cast<unsigned>(m * 31 + n * 17 + k));
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto *v : {&a, &b})
    for (T &x : *v)
      x = static_cast<T>(u(rng));
  Descriptor da = tA ? view(a, m, k, 1, m) : view(a, m, k, k, 1);
  Descriptor db = tB ? view(b, k, n, 1, k) : view(b, k, n, n, 1);
  auto dc = [&](std::vector<T> &c) { return cColumnMajor ? view(c, m, n, 1, m) : view(c, m, n, n, 1); };
  kiln::runtime::threadPool().setThreads(threads);
  call<T>(da, db, dc(zeros), 1);
  call<T>(da, db, dc(nans), 0);
  kiln::runtime::threadPool().setThreads(1);
  for (int64_t i = 0; i < m * n; ++i)
    ASSERT_EQ(std::memcmp(&zeros[i], &nans[i], sizeof(T)), 0)
        << m << "x" << n << "x" << k << " tA " << tA << " tB " << tB << " C column-major "
        << cColumnMajor << ", " << threads << " threads, element " << i;
}

// Every path, K over one cache block (600 > 256: later blocks add to the
// first), K = 0 (C becomes zeros), a C that is not row-major (a copy).
TEST(GemmTest, OverwriteGivesTheBitsOfAProductIntoZeros) {
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 256, 784}, {1, 10, 128},
                         {64, 10, 128}, {256, 784, 1}, {100, 1, 50}, {17, 33, 600},
                         {96, 300, 700}, {5, 3, 0}})
    for (bool tA : {false, true})
      for (bool tB : {false, true}) {
        checkOverwrite<float>(m, n, k, tA, tB, false, 1);
        checkOverwrite<float>(m, n, k, tA, tB, false, 3);
        if (m * n * k < 100000)
          checkOverwrite<double>(m, n, k, tA, tB, false, 1);
      }
  checkOverwrite<float>(7, 9, 300, false, false, true, 1);
  checkOverwrite<double>(7, 9, 30, true, false, true, 1);
}

/// im2col's columns [C*KH*KW, N*OH*OW] of x [N, C, H, W], zero-padded.
std::vector<float> im2col(const std::vector<float> &x, int64_t n, int64_t c, int64_t h, int64_t w,
                          int64_t kh, int64_t kw, int64_t s, int64_t pad, int64_t &oh,
                          int64_t &ow) {
  oh = (h + 2 * pad - kh) / s + 1, ow = (w + 2 * pad - kw) / s + 1;
  std::vector<float> cols(c * kh * kw * n * oh * ow);
  int64_t columns = n * oh * ow;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t img = 0; img < n; ++img)
          for (int64_t y = 0; y < oh; ++y)
            for (int64_t z = 0; z < ow; ++z) {
              int64_t row = (ch * kh + i) * kw + j, col = (img * oh + y) * ow + z;
              int64_t py = y * s + i - pad, px = z * s + j - pad;
              bool inside = py >= 0 && py < h && px >= 0 && px < w;
              cols[row * columns + col] = inside ? x[((img * c + ch) * h + py) * w + px] : 0.0f;
            }
  return cols;
}

// The window product has the bits of the product with im2col's matrix
// written out, forward (weights [O, CKK] times the columns) and for the
// weight's gradient (dY rows [O, NOHW] times the columns' transpose), with
// padding and stride, at any thread count, into zeros (accumulate 0) or onto
// a bias.
TEST(GemmTest, WindowsGiveTheBitsOfIm2col) {
  struct Case {
    int64_t n, c, h, w, o, k, s, pad;
  };
  for (Case t : {Case{4, 1, 28, 28, 16, 5, 1, 2}, Case{3, 16, 14, 14, 32, 5, 1, 0},
                 Case{2, 3, 9, 11, 7, 3, 2, 1}, Case{1, 2, 5, 5, 1, 3, 1, 1},
                 Case{5, 4, 10, 10, 33, 1, 1, 0}})
    for (bool rows : {false, true})
      for (int threads : {1, 3})
        for (int64_t accumulate : {0, 1}) {
          std::mt19937 rng(static_cast<unsigned>(t.n * 7 + t.c * 3 + t.h));
          std::uniform_real_distribution<float> u(-1, 1);
          std::vector<float> x(t.n * t.c * t.h * t.w);
          for (float &v : x)
            v = u(rng);
          int64_t oh, ow;
          std::vector<float> cols = im2col(x, t.n, t.c, t.h, t.w, t.k, t.k, t.s, t.pad, oh, ow);
          int64_t ckk = t.c * t.k * t.k, positions = t.n * oh * ow;
          // rows: B = cols^T [positions, ckk], A = dY rows [O, positions].
          int64_t kDim = rows ? positions : ckk, nDim = rows ? ckk : positions;
          std::vector<float> a(t.o * kDim), want(t.o * nDim), got;
          for (float &v : a)
            v = u(rng);
          for (float &v : want)
            v = u(rng);
          got = want;
          kiln::runtime::threadPool().setThreads(threads);
          // im2col with `rows` writes the transpose row-major.
          std::vector<float> transposed(cols.size());
          for (int64_t r = 0; r < ckk; ++r)
            for (int64_t q = 0; q < positions; ++q)
              transposed[q * ckk + r] = cols[r * positions + q];
          Descriptor b = rows ? view(transposed, positions, ckk, ckk, 1)
                              : view(cols, ckk, positions, positions, 1);
          call<float>(view(a, t.o, kDim, kDim, 1), b, view(want, t.o, nDim, nDim, 1), accumulate);
          Descriptor da = view(a, t.o, kDim, kDim, 1), dc = view(got, t.o, nDim, nDim, 1);
          kiln::MemRefDescriptor<4> dx{x.data(), x.data(), 0, {t.n, t.c, t.h, t.w},
                                       {t.c * t.h * t.w, t.h * t.w, t.w, 1}};
          _mlir_ciface_kiln_conv_matmul_f32(&da, &dx, &dc, t.k, t.k, t.s, t.s, t.pad, t.pad,
                                            rows, accumulate);
          kiln::runtime::threadPool().setThreads(1);
          ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
              << "N " << t.n << " C " << t.c << " H " << t.h << " W " << t.w << " O " << t.o
              << " K " << t.k << " stride " << t.s << " pad " << t.pad << " rows " << rows
              << " threads " << threads << " accumulate " << accumulate;
        }
}
