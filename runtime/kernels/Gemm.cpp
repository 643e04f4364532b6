// The matrix product generated code calls for every linalg.matmul:
//   C[M, N] += A[M, K] * B[K, N]
// over strided memrefs. Blocked and packed as in BLIS/GotoBLAS: panels of A
// (MR rows) and B (NR columns) are copied into contiguous buffers that the
// register-blocked micro-kernel streams through; an AVX2/FMA kernel is used
// where the CPU has it, a plain one (auto-vectorized) elsewhere. Large
// products split C's columns between the threads of the kernels' pool
// (ThreadPool.h).
#include "runtime/kernels/Gemm.h"

#include "runtime/kernels/ThreadPool.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

template <typename T> struct MemRef2D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];

  T *at(int64_t i, int64_t j) const { return aligned + offset + i * strides[0] + j * strides[1]; }
};

using Descriptor = kiln::MemRefDescriptor<2>;

template <typename T> MemRef2D<T> typed(const Descriptor &d) {
  return {static_cast<T *>(d.allocated), static_cast<T *>(d.aligned), d.offset,
          {d.sizes[0], d.sizes[1]}, {d.strides[0], d.strides[1]}};
}

constexpr int64_t MR = 6, NR = 16;           // micro-tile: 12 ymm accumulators
constexpr int64_t MC = 72, KC = 256, NC = 1024; // cache blocks: A in L2, B panel in L3

/// Packs A[i0:i0+mc, p0:p0+kc] into row panels of MR, k-major, zero-padded.
template <typename T>
void packA(const MemRef2D<T> &a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T *out) {
  for (int64_t ir = 0; ir < mc; ir += MR)
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t i = 0; i < MR; ++i)
        *out++ = ir + i < mc ? *a.at(i0 + ir + i, p0 + p) : T(0);
}

/// Packs B[p0:p0+kc, j0:j0+nc] into column panels of NR, k-major, zero-padded.
template <typename T>
void packB(const MemRef2D<T> &b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T *out) {
  for (int64_t jr = 0; jr < nc; jr += NR)
    for (int64_t p = 0; p < kc; ++p) {
      const T *row = b.at(p0 + p, j0 + jr);
      int64_t n = std::min(NR, nc - jr);
      if (b.strides[1] == 1 && n == NR) {
        std::memcpy(out, row, NR * sizeof(T)); // a constant size: inlined
      } else if (b.strides[1] == 1) {
        std::memcpy(out, row, n * sizeof(T));
      } else {
        for (int64_t j = 0; j < n; ++j)
          out[j] = row[j * b.strides[1]];
      }
      std::fill(out + n, out + NR, T(0));
      out += NR;
    }
}

/// acc[MR][NR] = sum over kc of the packed panels' outer products.
template <typename T> void kernelPlain(int64_t kc, const T *a, const T *b, T *acc) {
  T sum[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR)
    for (int64_t i = 0; i < MR; ++i)
      for (int64_t j = 0; j < NR; ++j)
        sum[i][j] += a[i] * b[j];
  std::memcpy(acc, sum, sizeof sum);
}

#if defined(__x86_64__)
// Twelve accumulators named one by one: an array of them is what GCC 12
// spills to the stack on every k step (a third slower than clang's code).
#define KILN_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
__attribute__((target("avx2,fma"))) void kernelAvx2(int64_t kc, const float *a, const float *b,
                                                    float *acc) {
#define KILN_DECLARE(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
  KILN_ROWS(KILN_DECLARE)
#undef KILN_DECLARE
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define KILN_UPDATE(i)                                                                             \
  {                                                                                                \
    __m256 ai = _mm256_broadcast_ss(a + i);                                                        \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                                    \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                                    \
  }
    KILN_ROWS(KILN_UPDATE)
#undef KILN_UPDATE
  }
#define KILN_STORE(i)                                                                              \
  _mm256_storeu_ps(acc + i * NR, c##i##0);                                                         \
  _mm256_storeu_ps(acc + i * NR + 8, c##i##1);
  KILN_ROWS(KILN_STORE)
#undef KILN_STORE
}
#undef KILN_ROWS

bool hasAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

template <typename T> void kernel(int64_t kc, const T *a, const T *b, T *acc) {
#if defined(__x86_64__)
  if constexpr (sizeof(T) == sizeof(float)) {
    if (hasAvx2())
      return kernelAvx2(kc, a, b, acc);
  }
#endif
  kernelPlain(kc, a, b, acc);
}

template <typename T>
void gemmSerial(const MemRef2D<T> &a, const MemRef2D<T> &b, const MemRef2D<T> &c);

/// C[:, j0:j1] += A * B[:, j0:j1], single-threaded.
template <typename T>
void gemmColumns(const MemRef2D<T> &a, const MemRef2D<T> &b, const MemRef2D<T> &c, int64_t j0,
                 int64_t j1) {
  MemRef2D<T> bPart = b, cPart = c;
  bPart.offset += j0 * b.strides[1];
  cPart.offset += j0 * c.strides[1];
  bPart.sizes[1] = cPart.sizes[1] = j1 - j0;
  gemmSerial(a, bPart, cPart);
}

template <typename T> void gemm(const MemRef2D<T> &a, const MemRef2D<T> &b, const MemRef2D<T> &c) {
  int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  // Threads pay off only on products of a few million multiply-adds. Task t
  // of `threads` takes whole NR-wide column panels, fixed by t and `threads`
  // alone, whichever thread of the pool runs it.
  int64_t panels = (n + NR - 1) / NR;
  int64_t threads = std::min<int64_t>(kiln::runtime::threadPool().threads(), panels);
  if (threads <= 1 || m * n * k < (int64_t(1) << 21))
    return gemmSerial(a, b, c);
  kiln::runtime::parallelFor(threads, [&](int64_t t) {
    int64_t j0 = std::min(n, panels * t / threads * NR);
    int64_t j1 = std::min(n, panels * (t + 1) / threads * NR);
    if (j0 < j1)
      gemmColumns(a, b, c, j0, j1);
  });
}

template <typename T>
void gemmSerial(const MemRef2D<T> &a, const MemRef2D<T> &b, const MemRef2D<T> &c) {
  int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  if (m == 0 || n == 0 || k == 0)
    return;
  // Packing buffers live as long as their thread: no allocation, no zero
  // fill per call (the packers write every element the kernel reads).
  static thread_local std::unique_ptr<T[]> packedA(new T[MC * KC]),
      packedB(new T[KC * ((NC + NR - 1) / NR) * NR]);
  T acc[MR * NR];
  for (int64_t j0 = 0; j0 < n; j0 += NC) {
    int64_t nc = std::min(NC, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += KC) {
      int64_t kc = std::min(KC, k - p0);
      packB(b, p0, kc, j0, nc, packedB.get());
      for (int64_t i0 = 0; i0 < m; i0 += MC) {
        int64_t mc = std::min(MC, m - i0);
        packA(a, i0, mc, p0, kc, packedA.get());
        for (int64_t jr = 0; jr < nc; jr += NR)
          for (int64_t ir = 0; ir < mc; ir += MR) {
            kernel(kc, packedA.get() + ir * kc, packedB.get() + jr * kc, acc);
            int64_t rows = std::min(MR, mc - ir), cols = std::min(NR, nc - jr);
            if (cols == NR && c.strides[1] == 1) { // contiguous rows: vectorized
              for (int64_t i = 0; i < rows; ++i) {
                T *row = c.at(i0 + ir + i, j0 + jr);
                for (int64_t j = 0; j < NR; ++j)
                  row[j] += acc[i * NR + j];
              }
              continue;
            }
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j)
                *c.at(i0 + ir + i, j0 + jr + j) += acc[i * NR + j];
          }
      }
    }
  }
}

} // namespace

extern "C" void _mlir_ciface_kiln_matmul_f32(Descriptor *a, Descriptor *b, Descriptor *c) {
  gemm(typed<float>(*a), typed<float>(*b), typed<float>(*c));
}

extern "C" void _mlir_ciface_kiln_matmul_f64(Descriptor *a, Descriptor *b, Descriptor *c) {
  gemm(typed<double>(*a), typed<double>(*b), typed<double>(*c));
}
