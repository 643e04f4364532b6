//===- Passes.td - Kiln's code generation passes ----------*- tablegen -*-===//
#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"kiln-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower primitive kiln ops to linalg, tensor, arith, math and scf";
  let description = [{
    One conversion pattern per op (codegen/KilnToLinalg/, a file per family
    of ops): element-wise ops become linalg.generic ops with broadcasting as
    indexing maps, reductions use reduction iterators, 2-D products
    linalg.matmul (a product's addend becomes its accumulator), windows and
    pools generics over (kh, kw). Composite ops (linear, the losses,
    softmax, conv2d, rnn) must have been expanded by kiln-decompose: an op
    without a pattern fails the conversion, naming the op. Unsigned element
    types (u8) become signless integers; the patterns that care (casts, max,
    argmax, class indices) read the signedness off the original op. A
    dropout without a seed is the identity (evaluation and prediction).
    `kiln.all_reduce_mean` copies its operands into one flat buffer per
    element type and calls the runtime's `kiln_all_reduce_mean_f32/f64` on it.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
    "mlir::bufferization::BufferizationDialect"
  ];
}

def MatmulToCall : Pass<"kiln-matmul-to-call", "mlir::ModuleOp"> {
  let summary = "Turn f32/f64 linalg.matmul on buffers into calls to the runtime's GEMM";
  let description = [{
    After bufferization, each `linalg.matmul` on f32 or f64 memrefs (C += A * B,
    default indexing maps) becomes `func.call @kiln_matmul_f32(A, B, C)`
    (or `_f64`), with operands cast to fully dynamic strided memrefs. The
    runtime implements them (runtime/kernels/Gemm.cpp) as a packed, register-blocked
    GEMM; other linalg ops keep lowering to loops.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect"];
}

#endif // KILN_CODEGEN_PASSES
