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
}
