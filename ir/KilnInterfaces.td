//===- KilnInterfaces.td - kiln op interfaces -------------*- tablegen -*-===//
#ifndef KILN_INTERFACES
#define KILN_INTERFACES

include "mlir/IR/OpBase.td"

def Kiln_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let description = [{
    An op's reverse-mode gradient rule (its vector-Jacobian product): given
    the gradient of the loss with respect to the op's result, build the
    gradients with respect to its operands, in front of the builder's
    insertion point. The autodiff pass calls it for every op between the
    parameters and the loss; an op without it cannot be differentiated.
  }];
  let cppNamespace = "::kiln::ir";
  let methods = [
    InterfaceMethod<[{
        Builds d(loss)/d(operand #i) for each i where `needed[i]`, into
        `grads[i]` (grads has one slot per operand; others stay null).
      }],
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Value":$resultGrad,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$grads)>,
  ];
}

#endif // KILN_INTERFACES
