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

#endif // KILN_CODEGEN_PASSES
