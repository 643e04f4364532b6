//===- KilnOps.td - kiln dialect operations ---------------*- tablegen -*-===//
//
// Most ops infer their result type (InferTypeOpAdaptor): the inference is
// also the verifier, and both call the shape rules in common/Shapes.h that
// semantic analysis uses, so the frontend and the IR never disagree.
//
// Every op's description ends in an ```mlir example whose first line names
// the types of the values it uses (`// %x: tensor<...>`);
// test/ir/doc-examples.test parses each example from the generated op
// documentation, so an example that stops parsing fails the tests.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_OPS
#define KILN_OPS

include "ir/KilnDialect.td"
include "ir/KilnInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "a tensor literal";
  let description = [{
    A tensor given element by element, or one value for every element (a
    splat), like `torch.tensor(...)`. The value's type is the result type, so
    every dimension is static. MLIRGen writes the model file's literals this
    way; the op folds to its value, and the dialect materializes folded
    constants as `kiln.constant`.
    ```mlir
    // (no operands)
    %c = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %one = kiln.constant dense<1.000000e+00> : tensor<f32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_FillOp : Kiln_Op<"fill", [Pure]> {
  let summary = "a tensor of one value (zeros, ones, full)";
  let description = [{
    Every element is `value`, converted to the result's element type, as
    `torch.full` (and `torch.zeros`, `torch.ones`). One index operand per
    dynamic dimension of the result gives its size, so a fill can take the
    batch size of a run-time tensor.
    ```mlir
    // %n: index
    %z = kiln.fill 0.0 sizes(%n) : tensor<?x3xf32>
    %h = kiln.fill 5.000000e-01 : tensor<2x2xf64>
    ```
  }];
  let arguments = (ins F64Attr:$value, Variadic<Index>:$dynamicSizes);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$value (`sizes` `(` $dynamicSizes^ `)`)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

// `doc` says what the op computes and names its PyTorch counterpart; the
// class adds the broadcasting rule and an example. Not `Elementwise`: MLIR's
// trait forbids broadcasting, and these broadcast.
// The inferReturnTypes of an op that forwards its adaptor to the C++ rule
// `rule(location, adaptor, results)` in ir/KilnOps.cpp: one rule serves a
// family of ops, with no stub per op.
class Kiln_InferredBy<string rule> {
  code definition = [{
  ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
      ::std::optional<::mlir::Location> location, Adaptor adaptor,
      ::llvm::SmallVectorImpl<::mlir::Type> &inferredReturnTypes) {
    return }] # rule # [{(location, adaptor, inferredReturnTypes);
  }
  }];
}

class Kiln_BinaryOp<string mnemonic, string what, string doc, list<Trait> traits = [],
                    string inferRule = "inferBroadcast">
    : Kiln_Op<mnemonic, !listconcat([Pure, InferTypeOpAdaptor, SameOperandsElementType,
                                     DeclareOpInterfaceMethods<Kiln_GradientOpInterface>],
                                    traits)> {
  let summary = what # ", element-wise with NumPy broadcasting";
  let description = doc # [{
    The operands broadcast as in NumPy and PyTorch: shapes align at the
    last dimension, and a missing leading dimension or a dimension of size 1
    stretches to the other operand's size. Both operands have one element
    type, which the result has: there is no type promotion (cast first).
    ```mlir
    // %x: tensor<?x10xf32>, %b: tensor<10xf32>
    %y = kiln.}] # mnemonic # [{ %x, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<inferRule>.definition;
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "sum", [{
    `lhs + rhs`, as `torch.add` (integers wrap). Commutative: the
    canonicalizer moves a constant operand to the right. `x + 0` is not
    folded: `-0.0 + 0.0` is `+0.0`.
  }], [Commutative]>;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "difference", [{
    `lhs - rhs`, as `torch.sub` (integers wrap).
  }]>;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "product", [{
    `lhs * rhs`, as `torch.mul` (integers wrap). Commutative: the
    canonicalizer moves a constant operand to the right, and a product with
    a splat one (a `kiln.constant` or `kiln.fill` of 1) that broadcasts
    nothing, so the result has the other operand's type, is that operand.
    It is exact: `x * 1.0` is `x` for every float, `-0.0` and NaN included.
  }], [Commutative]> {
  let hasCanonicalizeMethod = 1;
}
def Kiln_DivOp : Kiln_BinaryOp<"div", "quotient (floats only)", [{
    `lhs / rhs` in floating point, as `torch.div` (true division); integer
    operands are rejected. A quotient by a splat one that broadcasts nothing
    is the dividend, exactly.
  }], [], "inferQuotient"> {
  let hasCanonicalizeMethod = 1;
}

// `doc` says what the op computes and names its PyTorch counterpart; the
// class adds the type rule and an example.
class Kiln_UnaryOp<string mnemonic, string what, string doc, Type type = Kiln_Tensor,
                   list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, Elementwise, SameOperandsAndResultType], traits)> {
  let summary = what # ", element-wise";
  let description = doc # [{
    The result has the operand's type (shape and element type).
    ```mlir
    // %x: tensor<?x10xf32>
    %y = kiln.}] # mnemonic # [{ %x : tensor<?x10xf32>
    ```
  }];
  let arguments = (ins type:$input);
  let results = (outs type:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation", [{
    `-x`, as `torch.neg`; on integers too. `neg(neg(x))` folds to `x`.
  }], Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> { let hasFolder = 1; }
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value", [{
    `|x|`, as `torch.abs`; on integers too. Its gradient is
    `grad * sign(x)`: 0 at 0, as PyTorch's.
  }], Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)", [{
    `max(x, 0)`, as `torch.relu`; on integers too. Its gradient is
    `kiln.relu_grad` of the result.
  }], Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "1 / (1 + exp(-x))", [{
    The logistic function `1 / (1 + exp(-x))`, as `torch.sigmoid`; floats
    only.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent", [{
    The hyperbolic tangent, as `torch.tanh`; floats only.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "e to the x", [{
    `e^x`, as `torch.exp`; floats only.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm", [{
    The natural logarithm, as `torch.log`; floats only (`log(0)` is -inf,
    a negative operand gives NaN).
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root", [{
    The square root, as `torch.sqrt`; floats only (a negative operand gives
    NaN).
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_SiluOp : Kiln_UnaryOp<"silu", "x * sigmoid(x)", [{
    `x * sigmoid(x)`, computed as `x / (1 + exp(-x))` in ATen's order, as
    `torch.nn.functional.silu` (`nn.SiLU`); floats only. Its gradient is
    `grad * s * (1 + x * (1 - s))` with `s = sigmoid(x)`.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_Log1pOp : Kiln_UnaryOp<"log1p", "log(1 + x), exact near 0", [{
    `log(1 + x)` computed without first rounding `1 + x`, so it keeps its
    precision for `|x|` far below the float's epsilon, as `torch.log1p`;
    floats only. bce_with_logits decomposes through it.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;

def Kiln_CastOp : Kiln_Op<"cast", [Pure, Elementwise,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "converts the element type (u8 -> f32 as uitofp, like torch)";
  let description = [{
    Converts every element to the result's element type, as `Tensor.to(dtype)`;
    the shape stays. Integers become floats rounded to nearest (u8 as
    unsigned); floats become integers truncated toward zero (a value out of
    the integer's range is undefined, as in C); an integer narrows by keeping
    its low bits and widens by sign (by zero from u8); f64 to f32 rounds to
    nearest. The gradient of a float source is the cast back.

    Folds: a cast to the operand's own type is the operand; a cast of a cast
    whose first conversion is exact (f32 to f64; i32 to i64 or f64; u8 to
    anything) becomes one cast when that gives the same value: back to the
    original type (the operand itself), to a float type, or between integers
    only. A cast through a narrower type (f64 -> f32 -> f64) keeps both.
    ```mlir
    // %image: tensor<?x28x28xui8>
    %x = kiln.cast %image : tensor<?x28x28xui8> to tensor<?x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasFolder = 1;
}

// A dropout seed: the train step's 0-d f64 hyperparameter.
def Kiln_Seed : 0DTensorOf<[F64]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF64Type())">;

// Not `Elementwise`: whether an element is kept depends on its index, and
// the seed is a 0-d operand of another shape.
def Kiln_DropoutOp : Kiln_Op<"dropout", [Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "zeroes each element with probability p in training, else identity";
  let description = [{
    Without `seed` the op is the identity: evaluation and prediction. With a
    `seed` (the train step's 0-d f64 hyperparameter) it keeps element i where
    a counter-based hash of (seed, salt, i) clears p, scaling kept elements by
    1 / (1 - p) as `nn.Dropout` does. The mask is a pure function of
    (seed, salt, i), so the gradient, a dropout of the same seed and salt,
    replays it without storing it. `salt` tells a model's dropouts apart.
    `offset` (the train step's `offset` hyperparameter: this process's first
    sample in the global batch) shifts i by offset times the elements of one
    sample when the input's leading dimension is the batch, so that with
    data parallelism i is the element's index in the global batch and the
    masks do not depend on the number of processes.
    The result has the input's type; floats only, p in [0, 1).
    ```mlir
    // %x: tensor<?x8xf32>, %s: tensor<f64>, %o: tensor<f64>
    %y = kiln.dropout %x, 5.000000e-01 : tensor<?x8xf32>
    %z = kiln.dropout %x, 5.000000e-01 seed %s offset %o salt 1 : tensor<?x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F64Attr:$p,
                       Optional<Kiln_Seed>:$seed, Optional<Kiln_Seed>:$offset,
                       DefaultValuedAttr<I64Attr, "0">:$salt);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $p (`seed` $seed^)? (`offset` $offset^)? (`salt` $salt^)? "
                       "attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "matrix product, batched with broadcast leading dims (torch.matmul)";
  let description = [{
    The product of the last two dimensions, `[..., M, K] @ [..., K, N]` gives
    `[..., M, N]`, as `torch.matmul`; the leading (batch) dimensions
    broadcast as in `kiln.add`. Both operands have rank 2 or more (1-D
    operands are not promoted: reshape to a row or a column) and one element
    type. kiln-decompose and lowering turn 2-D f32/f64 products into calls to
    the runtime's GEMM, and a product plus an addend into one GEMM that
    accumulates into the addend.
    ```mlir
    // %p: tensor<2x3x4xf32>, %q: tensor<4x5xf32>
    %r = kiln.matmul %p, %q : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "x @ weight^T + bias, as nn.Linear (weight is [out, in])";
  let description = [{
    `input @ weight^T + bias`, as `torch.nn.functional.linear`: input
    `[..., in]`, weight `[out, in]`, optional bias `[out]`, result
    `[..., out]`; floats, one element type. kiln-decompose writes it as a
    2-D `kiln.matmul` with the weight transposed plus the bias.
    ```mlir
    // %x: tensor<?x784xf32>, %w: tensor<256x784xf32>, %b: tensor<256xf32>
    %y = kiln.linear %x, %w, %b : (tensor<?x784xf32>, tensor<256x784xf32>, tensor<256xf32>) -> tensor<?x256xf32>
    %z = kiln.linear %x, %w : (tensor<?x784xf32>, tensor<256x784xf32>) -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what, string doc, string inferRule>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " over `dims` (every dim when empty)";
  let description = doc # [{
    `dims` are sorted, unique and in range; an empty list reduces every
    dimension. Reduced dimensions are dropped, or kept with size 1 when
    `keepdim`. The result has the input's element type.
    ```mlir
    // %x: tensor<?x10xf32>
    %all = kiln.}] # mnemonic # [{ %x [] : (tensor<?x10xf32>) -> tensor<f32>
    %rows = kiln.}] # mnemonic # [{ %x [1] {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$dims,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input $dims attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<inferRule>.definition;
}

def Kiln_SumOp : Kiln_ReduceOp<"sum", "sum", [{
    The sum of the elements over `dims`, as `torch.sum(x, dims, keepdim)`;
    on integers too (they wrap).
  }], "inferSum">;
def Kiln_MeanOp : Kiln_ReduceOp<"mean", "mean (floats only)", [{
    The mean of the elements over `dims`, as `torch.mean(x, dims, keepdim)`;
    floats only.
  }], "inferMean">;

class Kiln_ReduceDimOp<string mnemonic, string what, string doc, string resultElement,
                       string inferRule, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, InferTypeOpAdaptor], traits)> {
  let summary = what # " along `dim`";
  let description = doc # [{
    `dim` is in range; it is dropped from the result's shape, or kept with
    size 1 when `keepdim`.
    ```mlir
    // %x: tensor<?x10xf32>
    %m = kiln.}] # mnemonic # [{ %x, 1 : (tensor<?x10xf32>) -> tensor<?x}] # resultElement # [{>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $dim attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<inferRule>.definition;
}

def Kiln_MaxOp : Kiln_ReduceDimOp<"max", "largest value", [{
    The largest element along `dim`, as `torch.max(x, dim, keepdim).values`;
    the result has the input's element type. Its gradient goes to the first
    largest element, as `torch.max`'s does (`kiln.max_grad`).
  }], "f32", "inferReduceDim", [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ArgMaxOp : Kiln_ReduceDimOp<"argmax", "index (i64) of the first largest value", [{
    The index of the first largest element along `dim`, as
    `torch.argmax(x, dim, keepdim)`; the result is i64. Not differentiable.
  }], "i64", "inferArgMax">;

class Kiln_SoftmaxLikeOp<string mnemonic, string what, string doc>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " along `dim`";
  let description = doc # [{
    `dim` is in range; the result has the input's type; floats only.
    kiln-decompose writes it with the input shifted by its maximum along
    `dim`, as PyTorch does, so `exp` never overflows.
    ```mlir
    // %x: tensor<?x10xf32>
    %p = kiln.}] # mnemonic # [{ %x, 1 : tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$dim);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $dim attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_SoftmaxLikeOp<"softmax", "softmax", [{
    `exp(x) / sum(exp(x), dim)`, as `torch.softmax(x, dim)`.
  }]>;
def Kiln_LogSoftmaxOp : Kiln_SoftmaxLikeOp<"log_softmax", "log of softmax", [{
    `x - log(sum(exp(x), dim))`, as `torch.log_softmax(x, dim)`.
  }]>;

//===----------------------------------------------------------------------===//
// Shape changes
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "same elements, another shape (row-major)";
  let description = [{
    The input's elements in row-major order, read into the result's shape, as
    `torch.reshape`. The element type and the element count stay; a dynamic
    (batch) dimension stays dynamic: the input has one exactly when the
    result has one. Folds: a reshape to the input's own type is the input,
    and a reshape of a reshape is one reshape of the first input (the input
    itself when the two cancel).
    ```mlir
    // %x: tensor<?x28x28xf32>
    %flat = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "permutes the dimensions: result dim i is input dim permutation[i]";
  let description = [{
    Result dimension i is input dimension `permutation[i]`, as
    `torch.permute(x, permutation)` (`x.T` for `[1, 0]`); the element type
    stays. `permutation` names every dimension once. Folds: the identity
    permutation is the input, and a transpose of a transpose is one
    transpose of the first input by the composed permutation (the input
    itself when the two cancel).
    ```mlir
    // %x: tensor<?x28x28xf32>
    %t = kiln.transpose %x [0, 2, 1] : (tensor<?x28x28xf32>) -> tensor<?x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "joins tensors along `dim`";
  let description = [{
    The inputs one after another along `dim`, as `torch.cat(inputs, dim)`.
    At least one input; all have one rank, one element type and the same
    sizes except along `dim`, which must be static (not the batch). Its
    gradient slices the result's gradient apart (`kiln.slice`).
    ```mlir
    // %a: tensor<?x784xf32>, %b: tensor<?x16xf32>
    %c = kiln.concat %a, %b dim 1 : (tensor<?x784xf32>, tensor<?x16xf32>) -> tensor<?x800xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$inputs `dim` $dim attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, recurrence
//===----------------------------------------------------------------------===//

def Kiln_Conv2dOp : Kiln_Op<"conv2d", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "2-D convolution over NCHW, as nn.Conv2d (weight [O, C, kh, kw])";
  let description = [{
    The cross-correlation of `torch.nn.functional.conv2d(input, weight, bias,
    stride, padding)`: input `[N, C, H, W]` with static H and W, weight
    `[O, C, KH, KW]`, optional bias `[O]`, zero padding; the result is
    `[N, O, OH, OW]` with `OH = (H + 2*ph - KH) / sh + 1` (floor), likewise
    OW. Floats, one element type; stride >= 1, padding >= 0. kiln-decompose
    writes it as `kiln.im2col` and one `kiln.matmul`.
    ```mlir
    // %x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %b: tensor<6xf32>
    %y = kiln.conv2d %x, %w, %b stride [1, 1] padding [2, 2] : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<?x6x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

class Kiln_PoolOp<string mnemonic, string what, string doc>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor,
                         DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " over windows of H and W (NCHW)";
  let description = doc # [{
    The input is `[N, C, H, W]` or `[C, H, W]` with static H and W; the
    result keeps the leading dimensions and has `OH = (H + 2*ph - KH) / sh + 1`
    (floor, no `ceil_mode`), likewise OW. Kernel and stride >= 1; padding at
    most half the kernel. Floats only.
    ```mlir
    // %x: tensor<?x6x28x28xf32>
    %y = kiln.}] # mnemonic # [{ %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x28x28xf32>) -> tensor<?x6x14x14xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `kernel` $kernel `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<"inferPool">.definition;
}

def Kiln_MaxPool2dOp : Kiln_PoolOp<"max_pool2d", "maximum", [{
    The largest element of each window, as
    `torch.nn.functional.max_pool2d(x, kernel, stride, padding)`; padding
    counts as -inf.
  }]>;
def Kiln_AvgPool2dOp : Kiln_PoolOp<"avg_pool2d", "average (padding counted, as PyTorch's default)", [{
    The mean of each window, as
    `torch.nn.functional.avg_pool2d(x, kernel, stride, padding)` with its
    default `count_include_pad=True`: padding counts as zeros and every
    window divides by KH*KW.
  }]>;

def Kiln_BatchNormOp : Kiln_Op<"batch_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "batch normalization with the running statistics (eval mode)";
  let description = [{
    `nn.BatchNorm1d/2d` in eval mode: `(x - running_mean) /
    sqrt(running_var + eps) * weight + bias`, per channel (dimension 1) of
    `x` `[N, C]`, `[N, C, L]` or `[N, C, H, W]`; the vectors are `[C]` of x's
    element type, `num_batches_tracked` an i64 0-d tensor that eval leaves
    alone. It has no gradient rule: kiln-autodiff turns each one it
    differentiates into `kiln.batch_norm_train`, which uses the batch's
    statistics as PyTorch's train mode does.
    ```mlir
    // %x: tensor<?x16x7x7xf32>, %w: tensor<16xf32>, %b: tensor<16xf32>, %mean: tensor<16xf32>, %var: tensor<16xf32>, %n: tensor<i64>
    %y = kiln.batch_norm %x, %w, %b, %mean, %var, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x16x7x7xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>) -> tensor<?x16x7x7xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight, Kiln_FloatTensor:$bias,
                       Kiln_FloatTensor:$running_mean, Kiln_FloatTensor:$running_var,
                       0DTensorOf<[I64]>:$num_batches_tracked, F64Attr:$eps, F64Attr:$momentum);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_BatchNormTrainOp : Kiln_Op<"batch_norm_train", [Pure, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "batch normalization with the batch's statistics (train mode)";
  let description = [{
    `nn.BatchNorm1d/2d` in train mode, over the same operands as
    `kiln.batch_norm`: the result normalizes each channel by the batch's
    mean and biased variance (over every dimension but 1); the other
    results are the running statistics after this batch, as PyTorch updates
    them: `(1 - momentum) * running + momentum * batch` with the unbiased
    variance, and `num_batches_tracked + 1`. kiln-train-step makes them the
    buffers' new values. Its gradient rule differentiates the first result
    only.
    ```mlir
    // %x: tensor<?x16xf32>, %w: tensor<16xf32>, %b: tensor<16xf32>, %mean: tensor<16xf32>, %var: tensor<16xf32>, %n: tensor<i64>
    %y, %mean2, %var2, %n2 = kiln.batch_norm_train %x, %w, %b, %mean, %var, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>) -> (tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>)
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight, Kiln_FloatTensor:$bias,
                       Kiln_FloatTensor:$running_mean, Kiln_FloatTensor:$running_var,
                       0DTensorOf<[I64]>:$num_batches_tracked, F64Attr:$eps, F64Attr:$momentum);
  let results = (outs Kiln_FloatTensor:$result, Kiln_FloatTensor:$new_running_mean,
                      Kiln_FloatTensor:$new_running_var, 0DTensorOf<[I64]>:$new_num_batches_tracked);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_RNNOp : Kiln_Op<"rnn", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "one tanh RNN layer over [N, T, in], batch first, zero initial state";
  let description = [{
    h_t = tanh(x_t @ weight_ih^T + bias_ih + h_{t-1} @ weight_hh^T + bias_hh),
    as `nn.RNN(batch_first=True)`; the result stacks every h_t: [N, T, hidden].
    Input `[N, T, in]`, weight_ih `[H, in]`, weight_hh `[H, H]`, both biases
    `[H]`; floats, one element type. kiln-decompose writes it as an `scf.for`
    over time-major steps.
    ```mlir
    // %s: tensor<?x28x28xf32>, %wih: tensor<32x28xf32>, %whh: tensor<32x32xf32>, %bih: tensor<32xf32>, %bhh: tensor<32xf32>
    %h = kiln.rnn %s, %wih, %whh, %bih, %bhh : (tensor<?x28x28xf32>, tensor<32x28xf32>, tensor<32x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x28x32xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight_ih,
                       Kiln_FloatTensor:$weight_hh, Kiln_FloatTensor:$bias_ih,
                       Kiln_FloatTensor:$bias_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight_ih `,` $weight_hh `,` $bias_ih `,` $bias_hh "
                       "attr-dict `:` functional-type(operands, results)";
}

// Recurrent and normalization layers, embedding (issue 13).

// LSTM and GRU: one layer each, the rnn's operands with G*H gate rows.
class Kiln_GatedRecurrentOp<string mnemonic, string what, string doc, string example,
                            string inferRule>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor, SameOperandsElementType,
                         DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what;
  let description = doc # [{
    Floats, one element type. kiln-decompose writes it as one product for
    the input projection of every step and an `scf.for` over time-major
    steps with one product each.
    ```mlir
    }] # example # [{
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight_ih,
                       Kiln_FloatTensor:$weight_hh, Kiln_FloatTensor:$bias_ih,
                       Kiln_FloatTensor:$bias_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight_ih `,` $weight_hh `,` $bias_ih `,` $bias_hh "
                       "attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<inferRule>.definition;
}

def Kiln_LSTMOp : Kiln_GatedRecurrentOp<"lstm",
    "one LSTM layer over [N, T, in], batch first, zero initial state", [{
    With gates = x_t @ weight_ih^T + bias_ih + h_{t-1} @ weight_hh^T + bias_hh
    split into i, f, g, o (PyTorch's order): c_t = sigmoid(f) * c_{t-1} +
    sigmoid(i) * tanh(g), h_t = sigmoid(o) * tanh(c_t), as
    `nn.LSTM(batch_first=True)` with h_{-1} = c_{-1} = 0; the result stacks
    every h_t: [N, T, H]. Input `[N, T, in]`, weight_ih `[4H, in]`, weight_hh
    `[4H, H]`, both biases `[4H]`. Its gradient recomputes the gates from the
    result and runs backprop through time (`kiln.lstm_step_grad`).
  }], [{// %x: tensor<?x28x28xf32>, %wih: tensor<64x28xf32>, %whh: tensor<64x16xf32>, %bih: tensor<64xf32>, %bhh: tensor<64xf32>
    %h = kiln.lstm %x, %wih, %whh, %bih, %bhh : (tensor<?x28x28xf32>, tensor<64x28xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x28x16xf32>}],
    "inferLSTM">;

def Kiln_GRUOp : Kiln_GatedRecurrentOp<"gru",
    "one GRU layer over [N, T, in], batch first, zero initial state", [{
    With x_t @ weight_ih^T + bias_ih split into (xr, xz, xn) and
    h_{t-1} @ weight_hh^T + bias_hh into (hr, hz, hn) (PyTorch's order):
    r = sigmoid(xr + hr), z = sigmoid(xz + hz), n = tanh(xn + r * hn),
    h_t = (h_{t-1} - n) * z + n (that is, (1 - z) * n + z * h_{t-1}), as
    `nn.GRU(batch_first=True)` with h_{-1} = 0; the result stacks every h_t:
    [N, T, H]. Input `[N, T, in]`, weight_ih `[3H, in]`, weight_hh `[3H, H]`,
    both biases `[3H]`. Its gradient recomputes both projections from the
    result and runs backprop through time (`kiln.gru_step_grad`).
  }], [{// %x: tensor<?x28x28xf32>, %wih: tensor<48x28xf32>, %whh: tensor<48x16xf32>, %bih: tensor<48xf32>, %bhh: tensor<48xf32>
    %h = kiln.gru %x, %wih, %whh, %bih, %bhh : (tensor<?x28x28xf32>, tensor<48x28xf32>, tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>) -> tensor<?x28x16xf32>}],
    "inferGRU">;

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure, InferTypeOpAdaptor, SameOperandsElementType,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "normalizes over the last dim, then scales and shifts (nn.LayerNorm)";
  let description = [{
    `(x - mean) / sqrt(var + eps) * weight + bias` over the last dimension,
    with the biased variance, as `torch.nn.functional.layer_norm(x, [C],
    weight, bias, eps)`: input `[..., C]`, weight and bias `[C]`; the result
    has the input's type. kiln-decompose writes ATen's CPU kernel,
    `(x * rstd + (-rstd * mean)) * weight + bias` with
    `rstd = 1 / sqrt(var + eps)`; the gradient is ATen's
    `layer_norm_backward`.
    ```mlir
    // %x: tensor<?x5x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>
    %y = kiln.layer_norm %x, %w, %b eps 1.000000e-05 : (tensor<?x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x5x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$bias, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias `eps` $eps attr-dict `:` "
                       "functional-type(operands, results)";
}

def Kiln_EmbeddingOp : Kiln_Op<"embedding", [Pure, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "rows of `weight` picked by integer indices (nn.Embedding)";
  let description = [{
    `weight[indices]`, as `torch.nn.functional.embedding(indices, weight)`:
    indices of any shape `[...]` (i32, i64 or u8) into weight `[num, dim]`
    give `[..., dim]` of the weight's element type. An index outside
    [0, num) gives a row of NaN instead of reading out of bounds. Its
    gradient is `kiln.embedding_grad`.
    ```mlir
    // %ids: tensor<?x12xui8>, %w: tensor<256x16xf32>
    %e = kiln.embedding %ids, %w : (tensor<?x12xui8>, tensor<256x16xf32>) -> tensor<?x12x16xf32>
    ```
  }];
  let arguments = (ins Kiln_IndexTensor:$indices, Kiln_FloatTensor:$weight);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$indices `,` $weight attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Losses and metrics: scalars, averaged as PyTorch's reduction='mean'
//===----------------------------------------------------------------------===//

// `doc` says what the op computes and names its PyTorch counterpart; the
// class adds an example with `exampleTarget` as the target's type.
class Kiln_LossOp<string mnemonic, string what, string doc, Type targetType,
                  string exampleTarget, string inferRule,
                  list<Trait> traits = [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>
    : Kiln_Op<mnemonic, !listconcat([Pure, InferTypeOpAdaptor], traits)> {
  let summary = what;
  let description = doc # [{
    The result is a 0-d tensor of the input's element type.
    ```mlir
    // %x: tensor<?x10xf32>, %t: }] # exampleTarget # [{
    %l = kiln.}] # mnemonic # [{ %x, %t : (tensor<?x10xf32>, }] # exampleTarget # [{) -> tensor<f32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, targetType:$target);
  let results = (outs Kiln_Scalar:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<inferRule>.definition;
}

def Kiln_MseOp : Kiln_LossOp<"mse", "mean squared error over every element", [{
    `mean((input - target)^2)` over every element, as
    `torch.nn.functional.mse_loss`; input and target have one type.
  }], Kiln_FloatTensor, "tensor<?x10xf32>", "inferSameShapeLoss",
    [SameOperandsElementType, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_BceWithLogitsOp : Kiln_LossOp<"bce_with_logits",
    "binary cross-entropy of sigmoid(input), averaged over every element", [{
    The binary cross-entropy of `sigmoid(input)` against `target` (in
    [0, 1]), averaged over every element, as
    `torch.nn.functional.binary_cross_entropy_with_logits`; kiln-decompose
    writes PyTorch's stable form `max(x, 0) - x * y + log1p(exp(-|x|))`.
    Input and target have one type.
  }], Kiln_FloatTensor, "tensor<?x10xf32>", "inferSameShapeLoss",
    [SameOperandsElementType, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_CrossEntropyOp : Kiln_LossOp<"cross_entropy",
    "mean over samples of -log_softmax(input)[class]; input [N, C], target [N]", [{
    `-mean_n(log_softmax(input)[n, target[n]])`, as
    `torch.nn.functional.cross_entropy` with class-index targets: input
    (logits) `[N, C]`, target `[N]` of i32, i64 or u8. kiln-decompose writes
    it as `kiln.nll_loss` of `kiln.log_softmax`; a class index outside
    [0, C) makes the loss NaN.
  }], Kiln_IndexTensor, "tensor<?xi64>", "inferClassLoss">;
def Kiln_NllLossOp : Kiln_LossOp<"nll_loss",
    "mean over samples of -input[n, target[n]]; input [N, C] (log-probabilities), target [N]", [{
    `-mean_n(input[n, target[n]])`, as `torch.nn.functional.nll_loss`: input
    `[N, C]` (log-probabilities), target `[N]` of i32, i64 or u8. A class
    index outside [0, C) makes the loss NaN instead of reading out of
    bounds. Its gradient is `one_hot(target) * (-grad / N)`.
  }], Kiln_IndexTensor, "tensor<?xi64>", "inferClassLoss">;
def Kiln_AccuracyOp : Kiln_LossOp<"accuracy",
    "fraction of samples whose argmax equals the class index", [{
    The fraction of samples whose first largest input is their class, as
    `(input.argmax(1) == target).float().mean()`: input `[N, C]`, target
    `[N]` of i32, i64 or u8 (an index outside [0, C) never matches). A
    metric: not differentiable.
  }], Kiln_IndexTensor, "tensor<?xui8>", "inferClassLoss", []>;

//===----------------------------------------------------------------------===//
// Gradient helpers: ops the autodiff pass emits
//===----------------------------------------------------------------------===//

// Not `SameOperandsElementType`: `like` gives only its sizes.
def Kiln_BroadcastLikeOp : Kiln_Op<"broadcast_like", [Pure, InferTypeOpAdaptor]> {
  let summary = "broadcasts `input` (NumPy rules) to the shape of `like`";
  let description = [{
    The result has `like`'s shape and `input`'s element type; `like` is read
    only for its (possibly run-time) sizes. As `input.expand_as(like)`: the
    input's shape must broadcast to exactly `like`'s. Reductions' gradients
    use it to spread a gradient back over the reduced dimensions.
    ```mlir
    // %g: tensor<?x1xf32>, %x: tensor<?x10xf32>
    %b = kiln.broadcast_like %g, %x : (tensor<?x1xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$like);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $like attr-dict `:` functional-type(operands, results)";
}

def Kiln_ReluGradOp : Kiln_Op<"relu_grad", [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = "grad where input > 0, else 0: relu's gradient";
  let description = [{
    `grad` where `input > 0`, else 0, element by element: relu's gradient,
    with `input` relu's result, as
    `torch.ops.aten.threshold_backward(grad, result, 0)`. Both operands and
    the result have one type.
    ```mlir
    // %y: tensor<?x10xf32>, %g: tensor<?x10xf32>
    %d = kiln.relu_grad %y, %g : tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$grad);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($input)";
}

def Kiln_SignOp : Kiln_UnaryOp<"sign", "-1, 0 or 1 (abs's gradient)", [{
    -1 where `x < 0`, 1 where `x > 0`, else 0, as `torch.sign` except that
    NaN gives 0; abs's gradient is `grad * sign(x)`.
  }]>;

def Kiln_MaxGradOp : Kiln_Op<"max_grad", [Pure, InferTypeOpAdaptor, SameOperandsElementType]> {
  let summary = "max's gradient: grad at the first largest element along `dim`, 0 elsewhere";
  let description = [{
    `input` is max's input and `grad` the gradient of its result, without
    `dim` (the rule drops a kept dim first); the result, of the input's
    type, holds `grad` at the first largest element along `dim` and 0
    elsewhere, as `torch.max(x, dim)`'s backward through its indices.
    ```mlir
    // %x: tensor<3x4xf32>, %g: tensor<3xf32>
    %d = kiln.max_grad %x, %g, 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$grad, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $grad `,` $dim attr-dict `:` functional-type(operands, results)";
}

def Kiln_CrossEntropyGradOp : Kiln_Op<"cross_entropy_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "(softmax(input) - one_hot(target)) / N: cross_entropy's gradient";
  let description = [{
    The gradient of `kiln.cross_entropy` for a loss gradient of 1:
    `(softmax(input, 1) - one_hot(target)) / N`, with input `[N, C]` and
    class indices `[N]` as for cross_entropy; the result has the input's
    type. The rule multiplies it by the loss's gradient (a product the
    canonicalizer drops when that is the seed 1). kiln-decompose writes it
    with `kiln.softmax` and `kiln.one_hot`.
    ```mlir
    // %x: tensor<?x10xf32>, %t: tensor<?xi64>
    %d = kiln.cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_IndexTensor:$target);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` functional-type(operands, results)";
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", [Pure]> {
  let summary = "1 at each sample's class index, 0 elsewhere (nll_loss's gradient)";
  let description = [{
    The result is [N, C] with C from the result type, as
    `torch.nn.functional.one_hot(target, C)` converted to the result's float
    type. A class index outside [0, C) gives its sample a row of NaN: a bad
    label poisons the loss and its gradient instead of reading or writing
    out of bounds.
    ```mlir
    // %label: tensor<?xi64>
    %h = kiln.one_hot %label : tensor<?xi64> to tensor<?x10xf32>
    ```
  }];
  let arguments = (ins Kiln_IndexTensor:$target);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$target attr-dict `:` type($target) `to` type($result)";
  let hasVerifier = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "elements [start, start + size) along `dim` (concat's gradient)";
  let description = [{
    The elements at indices [start, start + size) along `dim`, all of the
    others, as `x.narrow(dim, start, size)`; the range lies within the
    dimension, which must be static (not the batch). The result has the
    input's element type and `size` along `dim`.
    ```mlir
    // %g: tensor<3x8xf32>
    %a = kiln.slice %g dim 1 start 0 size 4 : (tensor<3x8xf32>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim, I64Attr:$start, I64Attr:$size);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `dim` $dim `start` $start `size` $size attr-dict `:` "
                       "functional-type(operands, results)";
}

def Kiln_Conv2dInputGradOp : Kiln_Op<"conv2d_input_grad", [Pure, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "conv2d's gradient for its input (col2im of grad @ weight)";
  let description = [{
    `grad` is the gradient of conv2d's result; `input` is read only for its
    type and (run-time) batch size, since stride makes H and W ambiguous.
    As `torch.nn.grad.conv2d_input(input.shape, weight, grad, stride,
    padding)`: `grad` must have the type conv2d of `input` and `weight` has;
    the result has the input's type. kiln-decompose writes it as a product
    and `kiln.col2im`.
    ```mlir
    // %g: tensor<?x6x28x28xf32>, %w: tensor<6x1x5x5xf32>, %x: tensor<?x1x28x28xf32>
    %dx = kiln.conv2d_input_grad %g, %w, %x stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<6x1x5x5xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$input,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $weight `,` $input `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_Conv2dWeightGradOp : Kiln_Op<"conv2d_weight_grad", [Pure, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "conv2d's gradient for its weight (grad^T @ im2col(input))";
  let description = [{
    `weight` is read only for its type: the kernel size. As
    `torch.nn.grad.conv2d_weight(input, weight.shape, grad, stride,
    padding)`: `grad` must have the type conv2d of `input` and `weight` has;
    the result has the weight's type. kiln-decompose writes it as
    `kiln.im2col` with `rows` and one product.
    ```mlir
    // %g: tensor<?x6x28x28xf32>, %x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>
    %dw = kiln.conv2d_weight_grad %g, %x, %w stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<6x1x5x5xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_FloatTensor:$input,
                       Kiln_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `,` $weight `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_Im2colOp : Kiln_Op<"im2col", [Pure, InferTypeOpAdaptor]> {
  let summary = "a convolution's zero-padded windows as a matrix (im2col)";
  let description = [{
    For `input` [N, C, H, W], column (n, oh, ow) and row (c, kh, kw) of the
    result [C*KH*KW, N*OH*OW] hold input[n, c, oh*sh + kh - ph,
    ow*sw + kw - pw], or 0 in the padding: Caffe's layout, where conv2d is
    the weight's rows [O, C*KH*KW] times these columns. With `rows` the
    result is the transpose, [N*OH*OW, C*KH*KW]: conv2d's weight gradient
    is the gradient's channel rows times it. The values of
    `torch.nn.functional.unfold`, whose layout is [N, C*KH*KW, OH*OW].
    ```mlir
    // %x: tensor<?x1x28x28xf32>
    %cols = kiln.im2col %x kernel [5, 5] stride [1, 1] padding [2, 2]
        : (tensor<?x1x28x28xf32>) -> tensor<25x?xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       UnitAttr:$rows);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `kernel` $kernel `stride` $stride `padding` $padding "
                       "(`rows` $rows^)? attr-dict `:` functional-type(operands, results)";
}

def Kiln_Col2imOp : Kiln_Op<"col2im", [Pure, InferTypeOpAdaptor, SameOperandsElementType]> {
  let summary = "adds window columns back onto the pixels they came from (im2col's adjoint)";
  let description = [{
    `columns` has im2col's column layout [C*KH*KW, N*OH*OW] for an input of
    `like`'s type; each pixel of the result (`like`'s type) is the sum of
    the entries im2col would have copied it to, as
    `torch.nn.functional.fold` does in its own layout. conv2d's input
    gradient is col2im of the weight's transpose times the gradient's
    channel rows.
    ```mlir
    // %shares: tensor<25x?xf32>, %x: tensor<?x1x28x28xf32>
    %dx = kiln.col2im %shares, %x kernel [5, 5] stride [1, 1] padding [2, 2]
        : (tensor<25x?xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$columns, Kiln_FloatTensor:$like,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$columns `,` $like `kernel` $kernel `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

class Kiln_PoolGradOp<string mnemonic, string what, string doc>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor, SameOperandsElementType]> {
  let summary = what;
  let description = doc # [{
    `grad` is the gradient of the pool's result, `input` the pool's input;
    `grad` must have the pool's result type, and the result has the input's
    type.
    ```mlir
    // %g: tensor<?x6x14x14xf32>, %x: tensor<?x6x28x28xf32>
    %dx = kiln.}] # mnemonic # [{ %g, %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x14x14xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `kernel` $kernel `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = Kiln_InferredBy<"inferPoolGrad">.definition;
}

def Kiln_MaxPool2dGradOp : Kiln_PoolGradOp<"max_pool2d_grad",
    "max_pool2d's gradient: each window's grad goes to its first largest input", [{
    Each window's gradient goes to the window's first largest input element,
    summed where windows overlap, as
    `torch.ops.aten.max_pool2d_with_indices_backward`.
  }]>;
def Kiln_AvgPool2dGradOp : Kiln_PoolGradOp<"avg_pool2d_grad",
    "avg_pool2d's gradient: each window's grad spread evenly over it", [{
    Each window's gradient divided by KH*KW goes to every element of the
    window, summed where windows overlap, as
    `torch.ops.aten.avg_pool2d_backward` with `count_include_pad=True`.
  }]>;

def Kiln_RNNStepGradOp : Kiln_Op<"rnn_step_grad", [Pure, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "backprop through time: the loss's gradient at each step's pre-activation";
  let description = [{
    From the rnn's result `states` [N, T, H], its gradient `grad` and
    `weight_hh`, runs t = T-1 .. 0:
    d_t = (grad_t + d_{t+1} @ weight_hh) * (1 - h_t^2), and returns every d_t
    as [N, T, H]; the weight, bias and input gradients are products of it.
    `grad` has the states' type, `weight_hh` is [H, H] of their element
    type. kiln-decompose writes the loop as an `scf.for`.
    ```mlir
    // %s: tensor<?x5x8xf32>, %g: tensor<?x5x8xf32>, %whh: tensor<8x8xf32>
    %d = kiln.rnn_step_grad %s, %g, %whh : (tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<8x8xf32>) -> tensor<?x5x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$states, Kiln_FloatTensor:$grad,
                       Kiln_FloatTensor:$weight_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$states `,` $grad `,` $weight_hh attr-dict `:` "
                       "functional-type(operands, results)";
}

// Gradient helpers of the layers above (issue 13).

def Kiln_LSTMStepGradOp : Kiln_Op<"lstm_step_grad", [Pure, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "LSTM backprop through time: the loss's gradient at every step's gates";
  let description = [{
    `gates` [N, T, 4H] are the pre-activations of every step (i, f, g, o:
    `x_t @ weight_ih^T + bias_ih + h_{t-1} @ weight_hh^T + bias_hh`),
    `grad` [N, T, H] the gradient of the lstm's result and `weight_hh`
    [4H, H]. Recomputes the cell states c_t forward, then runs t = T-1 .. 0:
    dh = grad_t + dgates_{t+1} @ weight_hh, dc = dh * o * (1 - tanh(c_t)^2)
    + dc_{t+1} * f_{t+1}, and returns every step's dgates = (dc * g * i(1-i),
    dc * c_{t-1} * f(1-f), dc * i * (1-g^2), dh * tanh(c_t) * o(1-o)) as
    [N, T, 4H]: the weights', biases' and input's gradients are products of
    it. kiln-decompose writes both loops as `scf.for`s.
    ```mlir
    // %gates: tensor<?x5x32xf32>, %g: tensor<?x5x8xf32>, %whh: tensor<32x8xf32>
    %d = kiln.lstm_step_grad %gates, %g, %whh : (tensor<?x5x32xf32>, tensor<?x5x8xf32>, tensor<32x8xf32>) -> tensor<?x5x32xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$gates, Kiln_FloatTensor:$grad,
                       Kiln_FloatTensor:$weight_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$gates `,` $grad `,` $weight_hh attr-dict `:` "
                       "functional-type(operands, results)";
}

def Kiln_GRUStepGradOp : Kiln_Op<"gru_step_grad", [Pure, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "GRU backprop through time: the loss's gradient at every step's projections";
  let description = [{
    `input_gates` [N, T, 3H] are every step's `x_t @ weight_ih^T + bias_ih`
    (r, z, n), `hidden_gates` [N, T, 3H] every step's
    `h_{t-1} @ weight_hh^T + bias_hh`, `previous` [N, T, H] the states
    h_{t-1} (zeros first), `grad` [N, T, H] the gradient of the gru's result
    and `weight_hh` [3H, H]. Runs t = T-1 .. 0: dh = grad_t + dh_{t+1} *
    z_{t+1} + dhidden_{t+1} @ weight_hh, dn = dh * (1 - z) * (1 - n^2),
    dz = dh * (h_{t-1} - n) * z(1-z), dr = dn * hn * r(1-r), and returns
    [N, T, 4H] = (dr, dz, dn * r, dn): its first 3H columns are the gradient
    at the hidden projection, columns (dr, dz, dn) the one at the input
    projection. kiln-decompose writes the loop as an `scf.for`.
    ```mlir
    // %xg: tensor<?x5x24xf32>, %hg: tensor<?x5x24xf32>, %prev: tensor<?x5x8xf32>, %g: tensor<?x5x8xf32>, %whh: tensor<24x8xf32>
    %d = kiln.gru_step_grad %xg, %hg, %prev, %g, %whh : (tensor<?x5x24xf32>, tensor<?x5x24xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<24x8xf32>) -> tensor<?x5x32xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input_gates, Kiln_FloatTensor:$hidden_gates,
                       Kiln_FloatTensor:$previous, Kiln_FloatTensor:$grad,
                       Kiln_FloatTensor:$weight_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input_gates `,` $hidden_gates `,` $previous `,` $grad `,` $weight_hh "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_EmbeddingGradOp : Kiln_Op<"embedding_grad", [Pure]> {
  let summary = "embedding's gradient: each position's gradient row added onto its index's row";
  let description = [{
    `grad` [..., dim] is the gradient of an embedding's result and
    `indices` [...] its indices; the result [num, dim] (num from the result
    type, the weight's) holds in row k the sum of the gradient rows of the
    positions whose index is k, as `torch.ops.aten.embedding_dense_backward`.
    Deterministic: positions are added in row-major order, one after
    another, with no atomics. An index outside [0, num) adds a row of NaN
    onto row clamp(index) instead of writing out of bounds.
    ```mlir
    // %g: tensor<?x12x16xf32>, %ids: tensor<?x12xui8>
    %dw = kiln.embedding_grad %g, %ids : (tensor<?x12x16xf32>, tensor<?x12xui8>) -> tensor<256x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_IndexTensor:$indices);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// More expressions: powers, activations with settings, clamp, min, indexing,
// l1_loss, and the gradient helpers their rules emit
//===----------------------------------------------------------------------===//

// An element-wise op with number settings: `attrs` are its attributes,
// `format` prints them after the operand, and `example` is what the example
// writes there. `doc` says what it computes and names its PyTorch
// counterpart.
class Kiln_UnaryWithOp<string mnemonic, string what, string doc, dag attrs, string format,
                       string example, Type type = Kiln_FloatTensor>
    : Kiln_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType,
                         DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # ", element-wise";
  let description = doc # [{
    The result has the operand's type (shape and element type).
    ```mlir
    // %x: tensor<?x10xf32>
    %y = kiln.}] # mnemonic # [{ %x}] # example # [{ : tensor<?x10xf32>
    ```
  }];
  let arguments = !con((ins type:$input), attrs);
  let results = (outs type:$result);
  let assemblyFormat = "$input " # format # " attr-dict `:` type($input)";
}

def Kiln_PowOp : Kiln_UnaryWithOp<"pow", "x to a constant power", [{
    `x ** exponent` with a number exponent, as `torch.pow(x, exponent)`, in
    ATen's cases: exponent 0 gives 1, 1 gives x, 2 `x * x`, 3 `x * x * x`,
    -2 `1 / (x * x)`, 0.5 `sqrt(x)`, -0.5 `1 / sqrt(x)`, -1 `1 / x`, and any
    other exponent `pow(x, exponent)` (f32 computed in f64 and rounded, as
    ATen's scalar loop does). Integer tensors take a non-negative integer
    exponent (repeated products; they wrap). Its gradient is
    `grad * (exponent * x ** (exponent - 1))`, zeros for exponent 0, as
    ATen's pow_backward.
  }], (ins F64Attr:$exponent), "`,` $exponent", ", 2.0", Kiln_Tensor> {
  let hasVerifier = 1;
}

def Kiln_GeluOp : Kiln_UnaryOp<"gelu", "x * Phi(x), the exact (erf) GELU", [{
    `x * 0.5 * (1 + erf(x / sqrt(2)))` in ATen's order, as
    `torch.nn.functional.gelu` with its default `approximate='none'`
    (`nn.GELU()`); floats only. Its gradient is `kiln.gelu_grad`.
  }], Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;

def Kiln_SoftplusOp : Kiln_UnaryWithOp<"softplus", "log(1 + exp(beta * x)) / beta", [{
    `x` where `x * beta > threshold`, else `log1p(exp(x * beta)) / beta`, as
    `torch.nn.functional.softplus(x, beta, threshold)` (PyTorch's defaults
    are beta 1 and threshold 20); floats only. Its gradient is
    `kiln.softplus_grad`.
  }], (ins F64Attr:$beta, F64Attr:$threshold), "`beta` $beta `threshold` $threshold",
  " beta 1.0 threshold 20.0">;

def Kiln_LeakyReluOp : Kiln_UnaryWithOp<"leaky_relu", "x where x > 0, else x * negative_slope", [{
    `x > 0 ? x : x * negative_slope`, as
    `torch.nn.functional.leaky_relu(x, negative_slope)` (`nn.LeakyReLU`);
    floats only. Its gradient is `kiln.leaky_relu_grad`.
  }], (ins F64Attr:$negative_slope), "`,` $negative_slope", ", 0.01">;

def Kiln_ClampOp : Kiln_UnaryWithOp<"clamp", "x limited to [min, max]", [{
    `min(max(x, min), max)` with either bound left out, as
    `torch.clamp(x, min, max)`; NaN stays NaN. At least one bound is given;
    on integer tensors the bounds are integers. When min > max every
    element is max, as in PyTorch. Its gradient is `kiln.clamp_grad`.
  }], (ins OptionalAttr<F64Attr>:$min, OptionalAttr<F64Attr>:$max),
  "(`min` $min^)? (`max` $max^)?", " min 0.0 max 6.0", Kiln_Tensor> {
  let hasVerifier = 1;
}

def Kiln_MinOp : Kiln_ReduceDimOp<"min", "smallest value", [{
    The smallest element along `dim`, as `torch.min(x, dim, keepdim).values`;
    the result has the input's element type. Its gradient goes to the first
    smallest element, as `torch.min`'s does (`kiln.min_grad`).
  }], "f32", "inferReduceDim", [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;

def Kiln_L1LossOp : Kiln_LossOp<"l1_loss", "mean absolute error over every element", [{
    `mean(|input - target|)` over every element, as
    `torch.nn.functional.l1_loss`; input and target have one type.
    kiln-decompose writes it as `kiln.mean` of `kiln.abs` of `kiln.sub`.
  }], Kiln_FloatTensor, "tensor<?x10xf32>", "inferSameShapeLoss",
    [SameOperandsElementType, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;

// Basic indexing's window, shared by kiln.index and kiln.index_grad: per
// input dimension a start, a size (-1: the whole dimension) and a step;
// `dropped` lists the dimensions an integer index removes.
def Kiln_IndexOp : Kiln_Op<"index", [Pure, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "x[i, a:b:s, :]: a strided window, integer-indexed dims dropped";
  let description = [{
    PyTorch's basic indexing with integers and slices, normalized: each
    input dimension d has a window of `sizes[d]` elements from `starts[d]`
    every `steps[d]`, and the dimensions in `dropped` (each a size-1 window)
    leave the result. The assembly writes one entry per dimension: `:` the
    whole dimension (size -1), `i` an integer index (dropped), `a:b` or
    `a:b:s` a slice whose stop b is exclusive. Starts are non-negative, the
    window lies inside the dimension, steps are >= 1, and a dynamic (batch)
    dimension takes only `:`. The result has the input's element type. Its
    gradient writes the gradient into zeros at the window (`kiln.index_grad`).
    ```mlir
    // %x: tensor<?x8x4xf32>
    %y = kiln.index %x [:, 2:5, 3] : (tensor<?x8x4xf32>) -> tensor<?x3xf32>
    %z = kiln.index %x [:, 0:8:2, :] : (tensor<?x8x4xf32>) -> tensor<?x4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$sizes,
                       DenseI64ArrayAttr:$steps, DenseI64ArrayAttr:$dropped);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input custom<IndexWindow>($starts, $sizes, $steps, $dropped) attr-dict "
                       "`:` functional-type(operands, results)";
}

//--- Gradient helpers of the ops above ---------------------------------===//

// The gradient of an element-wise op with settings: `input` is the op's
// input, `grad` the gradient of its result, with the op's settings.
class Kiln_UnaryGradOp<string mnemonic, string what, string doc, dag attrs = (ins),
                       string format = "", string example = "", Type type = Kiln_FloatTensor>
    : Kiln_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = what;
  let description = doc # [{
    `input` is the forward op's input and `grad` the gradient of its result;
    both operands and the result have one type.
    ```mlir
    // %x: tensor<?x10xf32>, %g: tensor<?x10xf32>
    %d = kiln.}] # mnemonic # [{ %x, %g}] # example # [{ : tensor<?x10xf32>
    ```
  }];
  let arguments = !con((ins type:$input, type:$grad), attrs);
  let results = (outs type:$result);
  let assemblyFormat = "$input `,` $grad " # format # " attr-dict `:` type($input)";
}

def Kiln_GeluGradOp : Kiln_UnaryGradOp<"gelu_grad", "gelu's gradient", [{
    `grad * (cdf + x * pdf)` with `cdf = 0.5 * (1 + erf(x / sqrt(2)))` and
    `pdf = exp(-x * x / 2) / sqrt(2 pi)`, as ATen's `gelu_backward` with
    `approximate='none'`, in its order of operations.
  }]>;
def Kiln_SoftplusGradOp : Kiln_UnaryGradOp<"softplus_grad", "softplus's gradient", [{
    `grad` where `x * beta > threshold`, else `grad * z / (z + 1)` with
    `z = exp(x * beta)`, as ATen's `softplus_backward`.
  }], (ins F64Attr:$beta, F64Attr:$threshold), "`beta` $beta `threshold` $threshold",
  " beta 1.0 threshold 20.0">;
def Kiln_LeakyReluGradOp : Kiln_UnaryGradOp<"leaky_relu_grad", "leaky_relu's gradient", [{
    `grad` where `x > 0`, else `grad * negative_slope`, as ATen's
    `leaky_relu_backward`.
  }], (ins F64Attr:$negative_slope), "`,` $negative_slope", ", 0.01">;
def Kiln_ClampGradOp : Kiln_UnaryGradOp<"clamp_grad", "clamp's gradient", [{
    `grad` where `min <= x <= max` (a missing bound always holds), else 0,
    as ATen's `clamp_backward`: the gradient passes at the bounds.
  }], (ins OptionalAttr<F64Attr>:$min, OptionalAttr<F64Attr>:$max),
  "(`min` $min^)? (`max` $max^)?", " min 0.0 max 6.0", Kiln_Tensor>;

def Kiln_MinGradOp : Kiln_Op<"min_grad", [Pure, InferTypeOpAdaptor, SameOperandsElementType]> {
  let summary = "min's gradient: grad at the first smallest element along `dim`, 0 elsewhere";
  let description = [{
    `input` is min's input and `grad` the gradient of its result, without
    `dim` (the rule drops a kept dim first); the result, of the input's
    type, holds `grad` at the first smallest element along `dim` and 0
    elsewhere, as `torch.min(x, dim)`'s backward through its indices.
    ```mlir
    // %x: tensor<3x4xf32>, %g: tensor<3xf32>
    %d = kiln.min_grad %x, %g, 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$grad, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $grad `,` $dim attr-dict `:` functional-type(operands, results)";
}

def Kiln_IndexGradOp : Kiln_Op<"index_grad", [Pure, InferTypeOpAdaptor, SameOperandsElementType]> {
  let summary = "kiln.index's gradient: grad written into zeros at the window";
  let description = [{
    A tensor of `like`'s type that is zero except at the window `kiln.index`
    with the same entries reads, where it holds `grad` (which has that
    index's result type), as ATen's `slice_backward` and `select_backward`.
    `like` is read only for its type and (run-time) batch size.
    ```mlir
    // %g: tensor<?x3xf32>, %x: tensor<?x8x4xf32>
    %dx = kiln.index_grad %g, %x [:, 2:5, 3] : (tensor<?x3xf32>, tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$grad, Kiln_Tensor:$like, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps,
                       DenseI64ArrayAttr:$dropped);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$grad `,` $like custom<IndexWindow>($starts, $sizes, $steps, $dropped) "
                       "attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Data parallelism
//===----------------------------------------------------------------------===//

// Not Pure: it communicates with the other processes of the run.
def Kiln_AllReduceMeanOp : Kiln_Op<"all_reduce_mean", [InferTypeOpAdaptor]> {
  let summary = "the global batch's mean of per-process batch means (data parallelism)";
  let description = [{
    Each result is the sum over the run's processes of `share` times the
    operand, where `share` (the train step's 0-d f64 hyperparameter) is the
    process's part of the global batch (local rows / global rows): batch
    means over each process's rows become the mean over the global batch.
    With one process `share` is 1 and the results are the operands. The
    train step puts the gradients, loss, metrics and new running statistics
    through one such op between the backward and the optimizer update; it
    lowers to one call of the runtime's `kiln_all_reduce_mean_f32/f64` per
    element type on a flat buffer holding all operands (MPI_Allreduce).
    ```mlir
    // %g: tensor<8x4xf32>, %l: tensor<f32>, %share: tensor<f64>
    %r:2 = kiln.all_reduce_mean %g, %l share %share : tensor<8x4xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_FloatTensor>:$values, Kiln_Seed:$share);
  let results = (outs Variadic<Kiln_FloatTensor>:$results);
  let assemblyFormat = "$values `share` $share attr-dict `:` type($values)";
}

#endif // KILN_OPS
