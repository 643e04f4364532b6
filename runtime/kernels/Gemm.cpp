// The matrix product generated code calls for every linalg.matmul:
//   C[M, N] += A[M, K] * B[K, N]   (accumulate = 1)
//   C[M, N]  = A[M, K] * B[K, N]   (accumulate = 0: a product into zeros,
//                                    whose fill codegen dropped)
// over strided memrefs; a transposed operand is a view with swapped strides
// (codegen passes `memref.transpose` views, never copies).
//
// Blocked and packed as in BLIS/GotoBLAS: panels of A (MR rows) and B (NR
// columns) are copied into contiguous buffers that the register-blocked
// micro-kernel streams through. Instructions come from explicit targets
// (`__attribute__((target))` + intrinsics) picked once by a CPU check, so the
// speed does not depend on the flags the runtime was compiled with:
// AVX-512 (MRx32 or 16x16 tiles, masked edges), AVX2+FMA (6x16), or plain C++.
//
// Skinny products skip work that does not pay: with one row panel of A, B is
// read in place (packing it would copy every element to use it once); one
// row times a transposed B (a batch-1 `linear`) is a row of dot products;
// K = 1 (a batch-1 weight gradient) is one pass of stores per row of C.
//
// Every element of C is summed in an order fixed by the problem alone: per
// KC block of K, a sum from zero in k order added to C. Threads split M or N,
// never K, so the bits do not depend on the thread count.
#include "runtime/kernels/Gemm.h"

#include "runtime/kernels/ThreadPool.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using Descriptor = kiln::MemRefDescriptor<2>;

/// A strided rank-2 view: element (i, j) is data[i * rs + j * cs].
template <typename T> struct Mat {
  T *data;
  int64_t rows, cols, rs, cs;
  T *at(int64_t i, int64_t j) const { return data + i * rs + j * cs; }
  Mat transposed() const { return {data, cols, rows, cs, rs}; }
  bool rowMajor() const { return cs == 1 || cols <= 1; } // rows contiguous
  bool colMajor() const { return rs == 1 || rows <= 1; } // columns contiguous
};

template <typename T> Mat<T> typed(const Descriptor &d) {
  return {static_cast<T *>(d.aligned) + d.offset, d.sizes[0], d.sizes[1], d.strides[0],
          d.strides[1]};
}

/// c[0:rows, 0:cols] += sum over p < kc of a[p * lda + i] * b[p * ldb + j]
/// (or c = 0 + the sum when `overwrite`: C's old values are never read), for
/// rows <= MR, cols <= NR; c's rows are ldc apart, its columns contiguous.
/// a has MR readable rows (a packed panel, lda = MR, or a column-major A
/// itself); b is read only up to cols (masked loads), so it may be a packed
/// panel (ldb = NR) or a row-major B itself.
template <typename T>
using KernelFn = void (*)(int64_t kc, const T *a, int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc,
                          int64_t rows, int64_t cols, bool overwrite);

template <typename T> struct Kernel {
  int64_t mr, nr;
  KernelFn<T> fn;
  /// The same kernel reading a row-major A in place: element (i, p) at
  /// a[i * lda + p] (null where there is none: A is packed).
  KernelFn<T> fnRowA = nullptr;
};

// ---------------------------------------------------------------- plain C++
template <typename T, int MR, int NR>
void kernelPlain(int64_t kc, const T *a, int64_t lda, const T *b, int64_t ldb, T *c, int64_t ldc, int64_t rows,
                 int64_t cols, bool overwrite) {
  T sum[MR][NR] = {};
  if (cols == NR) {
    for (int64_t p = 0; p < kc; ++p, a += lda, b += ldb)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j)
          sum[i][j] += a[i] * b[j];
  } else {
    for (int64_t p = 0; p < kc; ++p, a += lda, b += ldb)
      for (int i = 0; i < MR; ++i)
        for (int64_t j = 0; j < cols; ++j)
          sum[i][j] += a[i] * b[j];
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      c[i * ldc + j] = (overwrite ? T(0) : c[i * ldc + j]) + sum[i][j];
}

#if defined(__x86_64__)
// ---------------------------------------------------------------- AVX-512
// MR x 16*NV tile in MR*NV zmm accumulators. The arrays are indexed by
// constants only once the loops are unrolled (clang and GCC both keep them
// in registers: no stack traffic in the k loop).
template <int MR, int NV>
__attribute__((target("avx512f,avx512vl,fma"))) void
kernelAvx512(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
             int64_t rows, int64_t cols, bool overwrite) {
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) {
    int64_t left = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    mask[v] = static_cast<__mmask16>((1u << left) - 1);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[i][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += lda, b += ldb) {
    __m512 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_maskz_loadu_ps(mask[v], b + 16 * v);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= rows)
      break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float *row = c + i * ldc + 16 * v;
      // 0 + sum, as after a zero fill: -0 becomes +0 the same way.
      __m512 old = overwrite ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[v], row);
      _mm512_mask_storeu_ps(row, mask[v], _mm512_add_ps(old, acc[i][v]));
    }
  }
}

/// y[j * incy] += dot(x, w + j * ldw) for j < cols (up to 4), k contiguous
/// (y = 0 + dot when `overwrite`):
/// one row of A times a transposed B, each dot vectorized along k.
__attribute__((target("avx512f,avx512vl,fma"))) void dotAvx512(int64_t k, const float *x,
                                                             const float *w, int64_t ldw,
                                                             float *y, int64_t incy,
                                                             int64_t cols, bool overwrite) {
  const float *w1 = w + (cols > 1 ? 1 : 0) * ldw, *w2 = w + (cols > 2 ? 2 : 0) * ldw,
              *w3 = w + (cols > 3 ? 3 : 0) * ldw;
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 xv = _mm512_loadu_ps(x + p);
    s0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + p), s0);
    s1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w1 + p), s1);
    s2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w2 + p), s2);
    s3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w3 + p), s3);
  }
  if (p < k) {
    __mmask16 m = static_cast<__mmask16>((1u << (k - p)) - 1);
    __m512 xv = _mm512_maskz_loadu_ps(m, x + p);
    s0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w + p), s0);
    s1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w1 + p), s1);
    s2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w2 + p), s2);
    s3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w3 + p), s3);
  }
  float sums[4] = {_mm512_reduce_add_ps(s0), _mm512_reduce_add_ps(s1), _mm512_reduce_add_ps(s2),
                   _mm512_reduce_add_ps(s3)};
  for (int64_t j = 0; j < cols; ++j)
    y[j * incy] = (overwrite ? 0.0f : y[j * incy]) + sums[j];
}

// ---------------------------------------------------------------- AVX2 + FMA
// A full tile (cols = 8 * NV) uses plain loads and stores, an edge tile masked
// ones: AMD's vmaskmovps store is microcoded, and a batch-1 weight gradient
// (K = 1) is all stores. Two instances, so the k loop has no branch. RowA:
// A is a row-major matrix read in place, element (i, p) at a[i * lda + p],
// instead of a k-major panel: the same broadcasts, without packing A.
template <int MR, int NV, bool Full, bool RowA>
__attribute__((target("avx2,fma"))) void kernelAvx2Tile(int64_t kc, const float *a, int64_t lda,
                                                        const float *b, int64_t ldb, float *c,
                                                        int64_t ldc, int64_t rows, int64_t cols,
                                                        bool overwrite) {
  __m256i mask[NV];
  for (int v = 0; v < NV; ++v) {
    int left = static_cast<int>(std::clamp<int64_t>(cols - 8 * v, 0, 8));
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[i][v] = _mm256_setzero_ps();
  const int64_t rowStep = RowA ? lda : 1, kStep = RowA ? 1 : lda;
  for (int64_t p = 0; p < kc; ++p, a += kStep, b += ldb) {
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if constexpr (Full)
        bv[v] = _mm256_loadu_ps(b + 8 * v);
      else
        bv[v] = _mm256_maskload_ps(b + 8 * v, mask[v]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      __m256 ai = _mm256_broadcast_ss(a + i * rowStep);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= rows)
      break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float *row = c + i * ldc + 8 * v;
      if constexpr (Full) {
        __m256 old = overwrite ? _mm256_setzero_ps() : _mm256_loadu_ps(row);
        _mm256_storeu_ps(row, _mm256_add_ps(old, acc[i][v]));
      } else {
        __m256 old = overwrite ? _mm256_setzero_ps() : _mm256_maskload_ps(row, mask[v]);
        _mm256_maskstore_ps(row, mask[v], _mm256_add_ps(old, acc[i][v]));
      }
    }
  }
}

template <int MR, int NV, bool RowA = false>
void kernelAvx2(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                int64_t ldc, int64_t rows, int64_t cols, bool overwrite) {
  if (cols == 8 * NV)
    kernelAvx2Tile<MR, NV, true, RowA>(kc, a, lda, b, ldb, c, ldc, rows, cols, overwrite);
  else
    kernelAvx2Tile<MR, NV, false, RowA>(kc, a, lda, b, ldb, c, ldc, rows, cols, overwrite);
}

/// The sum of v's lanes in a fixed order: halves, then pairs, then the two left.
__attribute__((target("avx2"))) inline float reduceAvx2(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/// dotAvx512 with 8-float vectors: y[j * incy] += dot(x, w + j * ldw) for
/// j < cols (up to 4), k contiguous (y = 0 + dot when `overwrite`).
__attribute__((target("avx2,fma"))) void dotAvx2(int64_t k, const float *x, const float *w,
                                                 int64_t ldw, float *y, int64_t incy,
                                                 int64_t cols, bool overwrite) {
  const float *w1 = w + (cols > 1 ? 1 : 0) * ldw, *w2 = w + (cols > 2 ? 2 : 0) * ldw,
              *w3 = w + (cols > 3 ? 3 : 0) * ldw;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 xv = _mm256_loadu_ps(x + p);
    s0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + p), s0);
    s1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w1 + p), s1);
    s2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w2 + p), s2);
    s3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w3 + p), s3);
  }
  if (p < k) {
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k - p)),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 xv = _mm256_maskload_ps(x + p, m);
    s0 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w + p, m), s0);
    s1 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w1 + p, m), s1);
    s2 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w2 + p, m), s2);
    s3 = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w3 + p, m), s3);
  }
  float sums[4] = {reduceAvx2(s0), reduceAvx2(s1), reduceAvx2(s2), reduceAvx2(s3)};
  for (int64_t j = 0; j < cols; ++j)
    y[j * incy] = (overwrite ? 0.0f : y[j * incy]) + sums[j];
}

/// dst[q * ldd + t] = src[t * lds + q] for t < Rows (at most 8), q < 8: the
/// step of packing that turns rows into k-major panels (A row-major, B
/// transposed). Fewer than 8 rows (the AVX2 kernel's panels of 6) transpose
/// with zero rows in their place and store only their Rows values per column.
template <int Rows>
__attribute__((target("avx2"))) void transposeRows8(const float *src, int64_t lds, float *dst,
                                                    int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i)
    r[i] = i < Rows ? _mm256_loadu_ps(src + i * lds) : _mm256_setzero_ps();
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int h = 0; h < 8; h += 4) {
    r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
    r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
    r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
  __m256 columns[8];
  for (int q = 0; q < 4; ++q) {
    columns[q] = _mm256_permute2f128_ps(r[q], r[q + 4], 0x20);
    columns[q + 4] = _mm256_permute2f128_ps(r[q], r[q + 4], 0x31);
  }
  for (int q = 0; q < 8; ++q) {
    __m256 column = columns[q];
    if constexpr (Rows == 8) {
      _mm256_storeu_ps(dst + q * ldd, column);
    } else {
      alignas(32) float values[8];
      _mm256_store_ps(values, column);
      for (int i = 0; i < Rows; ++i)
        dst[q * ldd + i] = values[i];
    }
  }
}

enum class Isa { Plain, Avx2, Avx512 };

Isa hostIsa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
      return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Isa::Avx2;
    return Isa::Plain;
  }();
  return isa;
}
#endif

// ---------------------------------------------------------------- choices
/// The kernels for a problem: `wide` for general tiles, `narrow` for C at most
/// 16 wide (the classes of a classifier), `row` for a single row of A.
template <typename T> struct Kernels {
  Kernel<T> wide, narrow, row;
  /// One row of A times a transposed B, `cols` (up to 4) columns at a time
  /// (dotAvx512, dotAvx2); null where there is none.
  void (*dot)(int64_t k, const float *x, const float *w, int64_t ldw, float *y, int64_t incy,
              int64_t cols, bool overwrite) = nullptr;
};

template <typename T> Kernels<T> kernels() {
  if constexpr (sizeof(T) == sizeof(float)) {
#if defined(__x86_64__)
    switch (hostIsa()) {
    case Isa::Avx512:
      // 8x32: 16 accumulators hide the FMA latency and 8 rows tile the
      // examples' batches and widths (64, 128, 256) without remainder.
      return {{8, 32, kernelAvx512<8, 2>}, {16, 16, kernelAvx512<16, 1>},
              {1, 128, kernelAvx512<1, 8>}, dotAvx512};
    case Isa::Avx2:
      // Only the 6-row kernel reads a row-major A in place: 12 rows' worth
      // of row addresses would not stay in registers.
      return {{6, 16, kernelAvx2<6, 2>, kernelAvx2<6, 2, true>},
              {12, 8, kernelAvx2<12, 1>},
              {1, 64, kernelAvx2<1, 8>},
              dotAvx2};
    case Isa::Plain:
      break;
    }
#endif
    return {{4, 16, kernelPlain<float, 4, 16>}, {4, 16, kernelPlain<float, 4, 16>},
            {1, 64, kernelPlain<float, 1, 64>}};
  } else {
    return {{4, 8, kernelPlain<double, 4, 8>}, {4, 8, kernelPlain<double, 4, 8>},
            {1, 32, kernelPlain<double, 1, 32>}};
  }
}

constexpr int64_t KC = 256, MC = 128, NC = 1024; // B micro-panel in L1, A block in L2

/// A buffer that lives as long as its thread and only grows: no allocation and
/// no zero fill per call (the packers write every element the kernels read).
template <typename T> T *scratch(int which, int64_t count) {
  struct Buffer {
    T *data = nullptr;
    int64_t size = 0;
    ~Buffer() { ::operator delete[](data, std::align_val_t(64)); }
  };
  static thread_local Buffer buffers[2];
  Buffer &b = buffers[which];
  if (b.size < count) {
    ::operator delete[](b.data, std::align_val_t(64));
    b.data = static_cast<T *>(::operator new[](count * sizeof(T), std::align_val_t(64)));
    b.size = count;
  }
  return b.data;
}

/// dst[q * ldd + t] = src[t * lds + q] for t < rows, q < cols: rows of the
/// source (each contiguous) become columns of the destination.
template <typename T>
void transposeCopy(const T *src, int64_t lds, int64_t rows, int64_t cols, T *dst, int64_t ldd) {
  int64_t t0 = 0;
#if defined(__x86_64__)
  if constexpr (sizeof(T) == sizeof(float)) {
    if (hostIsa() != Isa::Plain) {
      using Transpose = void (*)(const float *, int64_t, float *, int64_t);
      static constexpr Transpose byRows[9] = {
          nullptr,           transposeRows8<1>, transposeRows8<2>,
          transposeRows8<3>, transposeRows8<4>, transposeRows8<5>,
          transposeRows8<6>, transposeRows8<7>, transposeRows8<8>};
      while (t0 < rows) {
        int64_t block = std::min<int64_t>(8, rows - t0);
        int64_t q = 0;
        for (; q + 8 <= cols; q += 8)
          byRows[block](src + t0 * lds + q, lds, dst + q * ldd + t0, ldd);
        for (; q < cols; ++q)
          for (int64_t t = t0; t < t0 + block; ++t)
            dst[q * ldd + t] = src[t * lds + q];
        t0 += block;
      }
    }
  }
#endif
  // Strips of 16 columns keep the written lines in L1.
  for (int64_t qs = 0; qs < cols; qs += 16)
    for (int64_t t = t0; t < rows; ++t)
      for (int64_t q = qs; q < std::min(cols, qs + 16); ++q)
        dst[q * ldd + t] = src[t * lds + q];
}

/// Packs A[i0:i0+mc, p0:p0+kc] into row panels of mr, k-major, zero-padded.
template <typename T>
void packA(const Mat<T> &a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t mr, T *out) {
  for (int64_t ir = 0; ir < mc; ir += mr) {
    int64_t rows = std::min(mr, mc - ir);
    if (a.colMajor()) { // A transposed (a gradient's dY^T): each k is contiguous
      for (int64_t p = 0; p < kc; ++p, out += mr) {
        const T *col = a.at(i0 + ir, p0 + p);
        for (int64_t i = 0; i < mr; ++i) // short: no memcpy call
          out[i] = i < rows ? col[i] : T(0);
      }
      continue;
    }
    if (a.cs == 1) {
      transposeCopy(a.at(i0 + ir, p0), a.rs, rows, kc, out, mr);
    } else {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t p = 0; p < kc; ++p)
          out[p * mr + i] = *a.at(i0 + ir + i, p0 + p);
    }
    for (int64_t i = rows; i < mr; ++i)
      for (int64_t p = 0; p < kc; ++p)
        out[p * mr + i] = T(0);
    out += kc * mr;
  }
}

/// Packs B[p0:p0+kc, j0:j0+nc] into column panels of nr, k-major (the last
/// panel is read only up to its width, so it is not padded).
template <typename T>
void packB(const Mat<T> &b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr, T *out) {
  for (int64_t jr = 0; jr < nc; jr += nr, out += kc * nr) {
    int64_t n = std::min(nr, nc - jr);
    if (b.rowMajor()) {
      for (int64_t p = 0; p < kc; ++p)
        std::copy_n(b.at(p0 + p, j0 + jr), n, out + p * nr);
      continue;
    }
    if (b.rs == 1) { // B transposed (the weight of `x @ W^T`): columns contiguous
      transposeCopy(b.at(p0, j0 + jr), b.cs, n, kc, out, nr);
      continue;
    }
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t j = 0; j < n; ++j)
        out[p * nr + j] = *b.at(p0 + p, j0 + jr + j);
  }
}

/// B as the windows of an image, im2col's matrix never written: x is
/// [N, C, H, W] (any strides), and B is im2col's columns [C*KH*KW, N*OH*OW]
/// (row (c, kh, kw), column (n, oh, ow)) or, with `rows`, their transpose.
/// Element ((c, kh, kw), (n, oh, ow)) is x[n, c, oh*sh + kh - ph,
/// ow*sw + kw - pw], zero outside the image (the padding).
template <typename T> struct Windows {
  const T *x;
  int64_t n, c, h, w;     // x's sizes
  int64_t sn, sc, sh, sw; // x's strides
  int64_t kh, kw, strideH, strideW, padH, padW, oh, ow;
  bool rows;

  int64_t positions() const { return n * oh * ow; }
  int64_t offsets() const { return c * kh * kw; }
  int64_t bRows() const { return rows ? positions() : offsets(); }
  int64_t bCols() const { return rows ? offsets() : positions(); }
  bool padded() const { return padH > 0 || padW > 0; }
  /// One past x's last element, in elements from x.
  int64_t extent() const { return (n - 1) * sn + (c - 1) * sc + (h - 1) * sh + (w - 1) * sw + 1; }

  /// A window (n, oh, ow) or a kernel offset (c, kh, kw) as an offset into
  /// x and a pixel row and column: an element of B is x at the sum of
  /// its window's and its kernel offset's (window (n, oh, ow) is at
  /// y = oh*sh - ph, x = ow*sw - pw of image n; offset (c, kh, kw) at
  /// y = kh, x = kw of channel c).
  struct Point {
    int64_t offset, y, x;
  };

  /// The points of B's rows / columns from + i for i < count: kernel
  /// offsets or windows, stepping through (channel or image, row, column).
  void rowPoints(int64_t from, int64_t count, Point *out) const { points(rows, from, count, out); }
  void colPoints(int64_t from, int64_t count, Point *out) const { points(!rows, from, count, out); }
  void points(bool windows, int64_t from, int64_t count, Point *out) const {
    int64_t outer = windows ? sn : sc, rowsOf = windows ? oh : kh, colsOf = windows ? ow : kw;
    int64_t stepY = windows ? strideH : 1, stepX = windows ? strideW : 1;
    int64_t padY = windows ? padH : 0, padX = windows ? padW : 0;
    int64_t col = from % colsOf, row = from / colsOf % rowsOf, a = from / (colsOf * rowsOf);
    for (int64_t i = 0; i < count; ++i) {
      int64_t y = row * stepY - padY, x = col * stepX - padX;
      out[i] = {a * outer + y * sh + x * sw, y, x};
      if (++col == colsOf) {
        col = 0;
        if (++row == rowsOf)
          row = 0, ++a;
      }
    }
  }
};

#if defined(__x86_64__)
/// One panel of WindowPacker (its runs found): the runs cut into chunks of at
/// most 8, each a masked load from x and a whole-vector store into the panel
/// (up to 7 floats past a chunk are overwritten: a later chunk or row, or
/// the scratch buffer's slack). x is read only where in bounds: a row whose
/// windows all lie inside the image copies, one near the border clips each
/// chunk to the image (the padding's zeros).
template <typename Point>
__attribute__((target("avx2"))) void packPanelAvx2(const float *x, int64_t extent, int64_t h,
                                                   int64_t w, bool padded, const Point *rowPoints,
                                                   int64_t kc, const Point *colPoints,
                                                   const int64_t *runStart, int64_t runs,
                                                   float *out, int64_t nr) {
  struct Chunk {
    int64_t src, dst, y, x;
    __m256i mask;
  };
  constexpr int64_t kMaxChunks = 128 + 16;
  Chunk chunks[kMaxChunks];
  int64_t count = 0;
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t minY = INT64_MAX, maxY = INT64_MIN, minX = INT64_MAX, maxX = INT64_MIN;
  int64_t maxSrc = 0; // a whole vector from every chunk's start stays below this
  for (int64_t run = 0; run < runs; ++run)
    for (int64_t q = runStart[run]; q < runStart[run + 1]; q += 8) {
      const Point &first = colPoints[q];
      int64_t len = std::min<int64_t>(8, runStart[run + 1] - q);
      chunks[count++] = {first.offset, q, first.y, first.x,
                         _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(len)), lanes)};
      minY = std::min(minY, first.y), maxY = std::max(maxY, first.y);
      minX = std::min(minX, first.x), maxX = std::max(maxX, first.x + len - 1);
      maxSrc = std::max(maxSrc, first.offset + 8);
    }
  for (int64_t p = 0; p < kc; ++p, out += nr) {
    const Point &r = rowPoints[p];
    const float *base = x + r.offset;
    bool inside = !padded || (r.y + minY >= 0 && r.y + maxY < h && r.x + minX >= 0 &&
                              r.x + maxX < w);
    if (inside && r.offset + maxSrc <= extent) {
      // Whole vectors stay inside x: plain loads (the lanes past a chunk
      // land where a later chunk or row writes).
      for (int64_t c = 0; c < count; ++c)
        _mm256_storeu_ps(out + chunks[c].dst, _mm256_loadu_ps(base + chunks[c].src));
      continue;
    }
    if (inside) {
      for (int64_t c = 0; c < count; ++c)
        _mm256_storeu_ps(out + chunks[c].dst, _mm256_maskload_ps(base + chunks[c].src, chunks[c].mask));
      continue;
    }
    for (int64_t c = 0; c < count; ++c) {
      const Chunk &chunk = chunks[c];
      __m256i mask = chunk.mask;
      if (uint64_t(r.y + chunk.y) >= uint64_t(h)) {
        mask = _mm256_setzero_si256();
      } else {
        __m256i column = _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(r.x + chunk.x)));
        mask = _mm256_and_si256(mask, _mm256_cmpgt_epi32(column, _mm256_set1_epi32(-1)));
        mask = _mm256_and_si256(mask, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(w)), column));
      }
      _mm256_storeu_ps(out + chunk.dst, _mm256_maskload_ps(base + chunk.src, mask));
    }
  }
}
#endif

/// packB for a B of windows: the same panels, each element read from the
/// image. Columns that are neighbours in x (a row of windows at stride 1, or
/// a row of the kernel) are copied as runs. The rows of a block of K are
/// found once (rows), then any panel of it packed (panel).
template <typename T> class WindowPacker {
public:
  explicit WindowPacker(const Windows<T> &b) : b_(b) {}

  void rows(int64_t p0, int64_t kc) {
    b_.rowPoints(p0, kc, rowPoints_);
    kc_ = kc;
  }

  /// Columns [j0, j0 + cols) of the block (cols <= nr) into out, k-major.
  void panel(int64_t j0, int64_t cols, int64_t nr, T *out) {
    // Runs of columns at consecutive addresses of x: [start, end).
    int64_t runStart[kMaxNr + 1], runs = 0;
    b_.colPoints(j0, cols, colPoints_);
    for (int64_t q = 0; q < cols; ++q) {
      const Point &here = colPoints_[q], &before = colPoints_[q > 0 ? q - 1 : 0];
      if (q == 0 || b_.sw != 1 || here.offset != before.offset + 1 || here.y != before.y ||
          here.x != before.x + 1)
        runStart[runs++] = q;
    }
    runStart[runs] = cols;
    const bool padded = b_.padded();
#if defined(__x86_64__)
    // x's columns as 32-bit lanes: the image is below 2^30 elements wide.
    if constexpr (sizeof(T) == sizeof(float)) {
      if (hostIsa() != Isa::Plain && b_.w < (int64_t(1) << 30)) {
        packPanelAvx2(b_.x, b_.extent(), b_.h, b_.w, padded, rowPoints_, kc_, colPoints_,
                      runStart, runs, out, nr);
        return;
      }
    }
#endif
    for (int64_t p = 0; p < kc_; ++p) {
      const Point &r = rowPoints_[p];
      T *dst = out + p * nr;
      for (int64_t run = 0; run < runs; ++run) {
        int64_t q0 = runStart[run], q1 = runStart[run + 1];
        const Point &first = colPoints_[q0], &last = colPoints_[q1 - 1];
        int64_t y = r.y + first.y;
        // The whole run inside the image (always, without padding): a copy.
        if (!padded || (uint64_t(y) < uint64_t(b_.h) && r.x + first.x >= 0 &&
                        r.x + last.x < b_.w)) {
          const T *src = b_.x + r.offset + first.offset;
          for (int64_t q = q0; q < q1; ++q)
            dst[q] = src[q - q0];
          continue;
        }
        for (int64_t q = q0; q < q1; ++q) {
          const Point &col = colPoints_[q];
          int64_t yy = r.y + col.y, xx = r.x + col.x;
          dst[q] = uint64_t(yy) < uint64_t(b_.h) && uint64_t(xx) < uint64_t(b_.w)
                       ? b_.x[r.offset + col.offset]
                       : T(0);
        }
      }
    }
  }

private:
  using Point = typename Windows<T>::Point;
  static constexpr int64_t kMaxNr = 128, kMaxKc = 256;
  const Windows<T> &b_;
  Point rowPoints_[kMaxKc], colPoints_[kMaxNr];
  int64_t kc_ = 0;
};

/// A's side of a blocked product: how its row panels reach the kernel.
/// Panels are packed unless the kernel can read them in place: a
/// column-major A (a gradient's dY^T), a row-major A where the kernel has a
/// form for it, or a one-row kernel always. A partial last panel of A is
/// always packed (zero rows), so no kernel reads past A's last row.
template <typename T> struct RowPanels {
  const Mat<T> &a;
  const Kernel<T> &kern;
  bool aRows, inPlace;
  T *buf;

  /// For blocks of at most `rows` rows of A.
  RowPanels(const Mat<T> &a, const Kernel<T> &kern, int64_t rows) : a(a), kern(kern) {
    bool aColumns = a.rs == 1 && a.cols > 1;
    aRows = !aColumns && kern.fnRowA && a.cs == 1 && a.rows > 1;
    inPlace = kern.mr == 1 || aColumns || aRows;
    buf = scratch<T>(1, KC * (inPlace ? kern.mr : (rows + kern.mr - 1) / kern.mr * kern.mr));
  }

  /// Packs what the kernel cannot read in place of A[i0:i0+m, p0:p0+kc].
  void pack(int64_t i0, int64_t m, int64_t p0, int64_t kc) {
    int64_t tail = inPlace && kern.mr > 1 ? m % kern.mr : 0; // a partial last panel: padded
    if (!inPlace)
      packA(a, i0, m, p0, kc, kern.mr, buf);
    else if (tail)
      packA(a, i0 + m - tail, tail, p0, kc, kern.mr, buf);
  }

  /// C[i0:i0+m, j:j+cols] (+)= A[i0:i0+m, p0:p0+kc] * the B panel bp (rows
  /// ldb apart), each row panel of A in turn (= when `overwrite`).
  void run(int64_t i0, int64_t m, int64_t p0, int64_t kc, const T *bp, int64_t ldb,
           const Mat<T> &c, int64_t j, int64_t cols, bool overwrite) const {
    const int64_t mr = kern.mr;
    for (int64_t ir = 0; ir < m; ir += mr) {
      int64_t rows = std::min(mr, m - ir);
      const T *ap = buf + (inPlace ? 0 : ir * kc);
      int64_t lda = mr;
      KernelFn<T> fn = kern.fn;
      if (inPlace && (rows == mr || mr == 1)) {
        ap = a.at(i0 + ir, p0), lda = aRows ? a.rs : a.cs;
        fn = aRows ? kern.fnRowA : kern.fn;
      }
      fn(kc, ap, lda, bp, ldb, c.at(i0 + ir, j), c.rs, rows, cols, overwrite);
    }
  }
};

/// C[i0:i1, j0:j1] += A[i0:i1, :] * B[:, j0:j1], blocked for the caches (=
/// when `overwrite`: the first block of k writes C, the others add to it).
/// A's panels as RowPanels has them; B's are packed unless the caller says
/// a row-major B is reused too little to pay for its copy.
template <typename T>
void blockedProduct(const Mat<T> &a, const Mat<T> &b, const Mat<T> &c, const Kernel<T> &kern,
                    int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool bInPlace, bool overwrite) {
  const int64_t nr = kern.nr, k = a.cols;
  T *bufB = bInPlace ? nullptr : scratch<T>(0, KC * ((std::min(NC, j1 - j0) + nr - 1) / nr) * nr);
  RowPanels<T> panels(a, kern, std::min(MC, i1 - i0));
  for (int64_t jc = j0; jc < j1; jc += NC) {
    int64_t nc = std::min(NC, j1 - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      int64_t kc = std::min(KC, k - pc);
      if (!bInPlace)
        packB(b, pc, kc, jc, nc, nr, bufB);
      for (int64_t ic = i0; ic < i1; ic += MC) {
        int64_t mc = std::min(MC, i1 - ic);
        panels.pack(ic, mc, pc, kc);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const T *bp = bInPlace ? b.at(pc, jc + jr) : bufB + jr * kc;
          int64_t ldb = bInPlace ? b.rs : nr;
          panels.run(ic, mc, pc, kc, bp, ldb, c, jc + jr, std::min(nr, nc - jr),
                     overwrite && pc == 0);
        }
      }
    }
  }
}

/// blockedProduct for a B of windows: A's rows [i0, i1) packed whole per
/// block of K (a convolution's few output channels), then each panel of B
/// packed from the image into an L1-sized buffer right before every row
/// panel of A runs over it. Packing a whole KC x NC block of B first would
/// write a megabyte per block: the packing then ran at memory speed.
/// Each element of C meets the same KC blocks in the same order as in
/// blockedProduct: the same bits.
template <typename T>
void windowProduct(const Mat<T> &a, const Windows<T> &b, const Mat<T> &c, const Kernel<T> &kern,
                   int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool overwrite) {
  const int64_t nr = kern.nr, k = a.cols, m = i1 - i0;
  // 8 elements of slack: the AVX2 packer stores whole vectors past a panel.
  T *bufB = scratch<T>(0, KC * nr + 8);
  RowPanels<T> panels(a, kern, m);
  WindowPacker<T> packer(b);
  for (int64_t pc = 0; pc < k; pc += KC) {
    int64_t kc = std::min(KC, k - pc);
    panels.pack(i0, m, pc, kc);
    packer.rows(pc, kc);
    for (int64_t jr = j0; jr < j1; jr += nr) {
      int64_t cols = std::min(nr, j1 - jr);
      packer.panel(jr, cols, nr, bufB);
      panels.run(i0, m, pc, kc, bufB, nr, c, jr, cols, overwrite && pc == 0);
    }
  }
}

#if defined(__x86_64__)
/// C[0, j0:j1] (+)= A[0, :] * B[:, j0:j1] for B with contiguous columns.
void dotProduct(const Kernels<float> &ks, const Mat<float> &a, const Mat<float> &b,
                const Mat<float> &c, int64_t j0, int64_t j1, bool overwrite) {
  const int64_t k = a.cols;
  const float *x = a.data;
  if (!a.rowMajor()) {
    float *buf = scratch<float>(1, k);
    for (int64_t p = 0; p < k; ++p)
      buf[p] = *a.at(0, p);
    x = buf;
  }
  for (int64_t j = j0; j < j1; j += 4)
    ks.dot(k, x, b.at(0, j), b.cs, c.at(0, j), c.cs, std::min<int64_t>(4, j1 - j), overwrite);
}
#endif

/// C[i0:i1, :] (+)= A[i0:i1, 0] * B[0, :] for K = 1 (a batch-1 weight
/// gradient) and B's row contiguous: each row of C one pass of stores, no
/// packing and no micro-kernel calls. 0 + a * b and c + a * b, as the
/// kernels' one-step sums: the same bits (plain SSE2 code: no FMA to fuse
/// the two roundings into one, with GCC or clang).
template <typename T>
void rank1(const Mat<T> &a, const Mat<T> &b, const Mat<T> &c, int64_t i0, int64_t i1,
           bool overwrite) {
  const T *x = b.data;
  for (int64_t i = i0; i < i1; ++i) {
    const T ai = *a.at(i, 0);
    T *row = c.at(i, 0);
    if (overwrite)
      for (int64_t j = 0; j < c.cols; ++j)
        row[j] = T(0) + ai * x[j];
    else
      for (int64_t j = 0; j < c.cols; ++j)
        row[j] = row[j] + ai * x[j];
  }
}

// Below this many multiply-adds a product stays on one thread: waking the
// pool's workers costs more than the second core saves. 2^18 (was 2^21) is
// an estimate (a wake-up of tens of microseconds against ~100 GFLOP/s a
// core); measuring the break-even needs a quiet machine (docs/bench.md).
constexpr int64_t kParallelMacs = int64_t(1) << 18;

/// C += A * B, or C = A * B when `overwrite` (C's old values unread). B is
/// a strided matrix (Mat) or an image's windows (Windows, always packed).
template <typename T, typename B>
void gemm(const Mat<T> &a0, const B &b0, const Mat<T> &c0, bool overwrite) {
  constexpr bool matrixB = std::is_same_v<B, Mat<T>>;
  Mat<T> a = a0, c = c0;
  B b = b0;
  int64_t m = c.rows, n = c.cols, k = a.cols;
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    if (overwrite)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          *c.at(i, j) = T(0);
    return;
  }
  // A matrix-vector product C[m, 1] is C^T = B^T A^T: one row times a matrix.
  if constexpr (matrixB)
    if (n == 1 && m > 1) {
      Mat<T> at = b.transposed(), bt = a.transposed();
      a = at, b = bt, c = c.transposed();
      std::swap(m, n);
    }
  // The kernels want C's columns contiguous; anything else goes through a copy.
  if (!c.rowMajor()) {
    std::vector<T> tmp(m * n);
    for (int64_t i = 0; i < m && !overwrite; ++i)
      for (int64_t j = 0; j < n; ++j)
        tmp[i * n + j] = *c.at(i, j);
    gemm(a, b, Mat<T>{tmp.data(), m, n, n, 1}, overwrite);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        *c.at(i, j) = tmp[i * n + j];
    return;
  }
  const Kernels<T> ks = kernels<T>();
  // The path and the kernel follow from the problem, never from the threads.
  enum { Packed, Direct, Dot, Rank1 } path = Packed;
  Kernel<T> kern = n <= ks.narrow.nr ? ks.narrow : ks.wide;
  if constexpr (matrixB) {
    if (k == 1 && m > 1 && b.cs == 1)
      path = Rank1;
    else if (m == 1 && ks.dot && b.colMajor() && !b.rowMajor())
      path = Dot;
    else if (m == 1 && b.rowMajor())
      path = Direct, kern = ks.row;
    else if (m <= 4 * kern.mr && b.rowMajor()) // few row panels: B read in place
      path = Direct;
  } else if (m == 1) {
    kern = ks.row;
  }

  // Split N (each thread packs its own part of B, all of A) or M (the other
  // way round), whichever duplicates less packing; tiles are whole panels.
  bool splitRows = path == Rank1 || (path != Dot && m > n);
  int64_t unit = path == Dot ? 4 : splitRows ? kern.mr : kern.nr;
  int64_t panels = ((splitRows ? m : n) + unit - 1) / unit;
  int64_t threads = std::min<int64_t>(kiln::runtime::threadPool().threads(), panels);
  if (m * n * k < kParallelMacs)
    threads = 1;
  auto part = [&](int64_t t) {
    int64_t lo = panels * t / threads * unit, hi = panels * (t + 1) / threads * unit;
    int64_t size = splitRows ? m : n;
    lo = std::min(lo, size), hi = std::min(hi, size);
    if (lo >= hi)
      return;
    switch (path) {
    case Dot:
#if defined(__x86_64__)
      if constexpr (sizeof(T) == sizeof(float) && matrixB)
        dotProduct(ks, a, b, c, lo, hi, overwrite);
#endif
      break;
    case Rank1:
      if constexpr (matrixB)
        rank1(a, b, c, lo, hi, overwrite);
      break;
    case Direct:
    case Packed:
      if constexpr (!matrixB) {
        if (splitRows)
          windowProduct(a, b, c, kern, lo, hi, 0, n, overwrite);
        else
          windowProduct(a, b, c, kern, 0, m, lo, hi, overwrite);
      } else if (splitRows)
        blockedProduct(a, b, c, kern, lo, hi, 0, n, path == Direct, overwrite);
      else
        blockedProduct(a, b, c, kern, 0, m, lo, hi, path == Direct, overwrite);
      break;
    }
  };
  if (threads <= 1)
    return part(0);
  kiln::runtime::parallelFor(threads, part);
}

} // namespace

extern "C" void _mlir_ciface_kiln_matmul_f32(Descriptor *a, Descriptor *b, Descriptor *c,
                                             int64_t accumulate) {
  gemm(typed<float>(*a), typed<float>(*b), typed<float>(*c), accumulate == 0);
}

extern "C" void _mlir_ciface_kiln_matmul_f64(Descriptor *a, Descriptor *b, Descriptor *c,
                                             int64_t accumulate) {
  gemm(typed<double>(*a), typed<double>(*b), typed<double>(*c), accumulate == 0);
}

namespace {

/// B = im2col(x) (its transpose with `rows`) as Windows over x's descriptor.
template <typename T>
void convMatmul(Descriptor *a, kiln::MemRefDescriptor<4> *x, Descriptor *c, const int64_t window[6],
                int64_t rows, int64_t accumulate) {
  Windows<T> b{static_cast<const T *>(x->aligned) + x->offset,
               x->sizes[0], x->sizes[1], x->sizes[2], x->sizes[3],
               x->strides[0], x->strides[1], x->strides[2], x->strides[3],
               window[0], window[1], window[2], window[3], window[4], window[5], 0, 0,
               rows != 0};
  b.oh = (b.h + 2 * b.padH - b.kh) / b.strideH + 1;
  b.ow = (b.w + 2 * b.padW - b.kw) / b.strideW + 1;
  Mat<T> ma = typed<T>(*a), mc = typed<T>(*c);
  if (ma.cols != b.bRows() || mc.cols != b.bCols() || ma.rows != mc.rows) {
    std::fprintf(stderr, "kiln: internal error: a window product of %lldx%lld and %lldx%lld "
                         "into %lldx%lld\n",
                 (long long)ma.rows, (long long)ma.cols, (long long)b.bRows(),
                 (long long)b.bCols(), (long long)mc.rows, (long long)mc.cols);
    std::abort();
  }
  gemm(ma, b, mc, accumulate == 0);
}

} // namespace

extern "C" void _mlir_ciface_kiln_conv_matmul_f32(Descriptor *a, kiln::MemRefDescriptor<4> *x,
                                                  Descriptor *c, int64_t kh, int64_t kw,
                                                  int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                                  int64_t rows, int64_t accumulate) {
  const int64_t window[6] = {kh, kw, sh, sw, ph, pw};
  convMatmul<float>(a, x, c, window, rows, accumulate);
}

extern "C" void _mlir_ciface_kiln_conv_matmul_f64(Descriptor *a, kiln::MemRefDescriptor<4> *x,
                                                  Descriptor *c, int64_t kh, int64_t kw,
                                                  int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                                  int64_t rows, int64_t accumulate) {
  const int64_t window[6] = {kh, kw, sh, sw, ph, pw};
  convMatmul<double>(a, x, c, window, rows, accumulate);
}
