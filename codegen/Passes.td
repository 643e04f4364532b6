//===- Passes.td - Kiln's code generation passes ----------*- tablegen -*-===//
#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"kiln-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower the kiln dialect to linalg, tensor, arith and math";
  let description = [{
    Each kiln op becomes linalg.generic ops (or named linalg ops) on tensors:
    broadcasting becomes indexing maps, reductions reduction iterators, and
    losses a handful of reductions. Unsigned element types (u8) become
    signless integers; the ops that care (casts, max, argmax) read the
    signedness off the original op. `dropout` lowers to the identity: this
    pipeline serves evaluation and prediction.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::func::FuncDialect"
  ];
}

def MatmulToCall : Pass<"kiln-matmul-to-call", "mlir::ModuleOp"> {
  let summary = "Turn f32/f64 linalg.matmul on buffers into calls to the runtime's GEMM";
  let description = [{
    After bufferization, each `linalg.matmul` on f32 or f64 memrefs (C += A * B,
    default indexing maps) becomes `func.call @kiln_matmul_f32(A, B, C)`
    (or `_f64`), with operands cast to fully dynamic strided memrefs. The
    runtime implements them (runtime/Gemm.cpp) as a packed, register-blocked
    GEMM; other linalg ops keep lowering to loops.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect"];
}

#endif // KILN_CODEGEN_PASSES
