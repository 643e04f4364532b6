// The runtime's matrix product (Gemm.cpp), which generated code calls for
// every linalg.matmul: C[M, N] += A[M, K] * B[K, N] over strided rank-2
// memrefs (C = A * B when `accumulate` is 0). Large products split C's columns between the threads of
// threadPool() (ThreadPool.h); each thread computes whole columns in the
// order one thread would, so the results do not depend on the thread count.
#pragma once

#include "runtime/KilnABI.h"

extern "C" {
/// The C interfaces of `func.func @kiln_matmul_f32/f64(memref, memref, memref,
/// index) attributes {llvm.emit_c_interface}`, which codegen declares and calls.
void _mlir_ciface_kiln_matmul_f32(kiln::MemRefDescriptor<2> *a, kiln::MemRefDescriptor<2> *b,
                                  kiln::MemRefDescriptor<2> *c, int64_t accumulate);
void _mlir_ciface_kiln_matmul_f64(kiln::MemRefDescriptor<2> *a, kiln::MemRefDescriptor<2> *b,
                                  kiln::MemRefDescriptor<2> *c, int64_t accumulate);

/// C[M, N] (+)= A[M, K] * im2col(x): `func.func @kiln_conv_matmul_f32/f64(A,
/// x, C, kh, kw, sh, sw, ph, pw, rows, accumulate)`, which codegen calls for
/// a product whose B is a convolution's windows (a linalg.generic marked
/// kiln.conv_gemm). x is [N, C, H, W]; B is im2col's columns [C*KH*KW,
/// N*OH*OW] or, when `rows` is 1, their transpose; the padding reads as 0.
/// The same blocking and kernels as kiln_matmul: the bits of the product
/// with im2col's matrix written out.
void _mlir_ciface_kiln_conv_matmul_f32(kiln::MemRefDescriptor<2> *a, kiln::MemRefDescriptor<4> *x,
                                       kiln::MemRefDescriptor<2> *c, int64_t kh, int64_t kw,
                                       int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                       int64_t rows, int64_t accumulate);
void _mlir_ciface_kiln_conv_matmul_f64(kiln::MemRefDescriptor<2> *a, kiln::MemRefDescriptor<4> *x,
                                       kiln::MemRefDescriptor<2> *c, int64_t kh, int64_t kw,
                                       int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                       int64_t rows, int64_t accumulate);
}
