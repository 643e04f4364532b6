//===- KilnDialect.td - the kiln dialect ------------------*- tablegen -*-===//
#ifndef KILN_DIALECT
#define KILN_DIALECT

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Tensor operations of Kiln models, before fusion and code generation";
  let description = [{
    The `kiln` dialect says what a model file says: element-wise arithmetic with
    NumPy broadcasting, matrix products, reductions, shape changes, layers
    (`linear`, `conv2d`, pools, `rnn`, `dropout`), losses and metrics. Values are
    ranked tensors whose only dynamic dimension is the batch. Result types are
    inferred from operands and attributes and checked by the verifiers.
  }];
  let cppNamespace = "::kiln::ir";
  let hasConstantMaterializer = 1;
  // The model's metadata (ir/KilnAttrs.td): verified wherever they appear.
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

// The element types a model file can name: f32 f64 i32 i64 u8.
def Kiln_Element : AnyTypeOf<[F32, F64, I32, I64, UI8]>;
def Kiln_Float : AnyTypeOf<[F32, F64]>;
def Kiln_Tensor : RankedTensorOf<[F32, F64, I32, I64, UI8]>;
def Kiln_FloatTensor : RankedTensorOf<[F32, F64]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64, UI8]>;
def Kiln_Scalar : 0DTensorOf<[F32, F64]>;

#endif // KILN_DIALECT
