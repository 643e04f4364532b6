//===- KilnOps.td - kiln dialect operations ---------------*- tablegen -*-===//
//
// Most ops infer their result type (InferTypeOpAdaptor): the inference is
// also the verifier, and both call the shape rules in common/Shapes.h that
// semantic analysis uses, so the frontend and the IR never disagree.
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
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_FillOp : Kiln_Op<"fill", [Pure]> {
  let summary = "a tensor of one value (zeros, ones, full)";
  let description = [{
    One index operand per dynamic dimension of the result gives its size.
    ```mlir
    %z = kiln.fill 0.0 sizes(%n) : tensor<?x3xf32>
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

class Kiln_BinaryOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # ", element-wise with NumPy broadcasting";
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "sum">;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "difference">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "product">;
def Kiln_DivOp : Kiln_BinaryOp<"div", "quotient (floats only)">;

class Kiln_UnaryOp<string mnemonic, string what, Type type = Kiln_Tensor,
                   list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType], traits)> {
  let summary = what # ", element-wise";
  let arguments = (ins type:$input);
  let results = (outs type:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation", Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> { let hasFolder = 1; }
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value", Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)", Kiln_Tensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "1 / (1 + exp(-x))", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "e to the x", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_Log1pOp : Kiln_UnaryOp<"log1p", "log(1 + x), exact near 0", Kiln_FloatTensor, [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;

def Kiln_CastOp : Kiln_Op<"cast", [Pure, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "converts the element type (u8 -> f32 as uitofp, like torch)";
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

// A dropout seed: the train step's 0-d f64 hyperparameter.
def Kiln_Seed : 0DTensorOf<[F64]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF64Type())">;

def Kiln_DropoutOp : Kiln_Op<"dropout", [Pure, AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "zeroes each element with probability p in training, else identity";
  let description = [{
    Without `seed` the op is the identity: evaluation and prediction. With a
    `seed` (the train step's 0-d f64 hyperparameter) it keeps element i where
    a counter-based hash of (seed, salt, i) clears p, scaling kept elements by
    1 / (1 - p) as `nn.Dropout` does. The mask is a pure function of
    (seed, salt, i), so the gradient, a dropout of the same seed and salt,
    replays it without storing it. `salt` tells a model's dropouts apart.
    ```mlir
    %y = kiln.dropout %x, 5.000000e-01 : tensor<?x8xf32>
    %z = kiln.dropout %x, 5.000000e-01 seed %s salt 1 : tensor<?x8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F64Attr:$p,
                       Optional<Kiln_Seed>:$seed,
                       DefaultValuedAttr<I64Attr, "0">:$salt);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $p (`seed` $seed^)? (`salt` $salt^)? attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "matrix product, batched with broadcast leading dims (torch.matmul)";
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "x @ weight^T + bias, as nn.Linear (weight is [out, in])";
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " over `dims` (every dim when empty)";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$dims,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input $dims attr-dict `:` functional-type(operands, results)";
}

def Kiln_SumOp : Kiln_ReduceOp<"sum", "sum">;
def Kiln_MeanOp : Kiln_ReduceOp<"mean", "mean (floats only)">;

class Kiln_ReduceDimOp<string mnemonic, string what, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, InferTypeOpAdaptor], traits)> {
  let summary = what # " along `dim`";
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $dim attr-dict `:` functional-type(operands, results)";
}

def Kiln_MaxOp : Kiln_ReduceDimOp<"max", "largest value", [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>;
def Kiln_ArgMaxOp : Kiln_ReduceDimOp<"argmax", "index (i64) of the first largest value">;

class Kiln_SoftmaxLikeOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " along `dim`";
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$dim);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $dim attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_SoftmaxLikeOp<"softmax", "softmax">;
def Kiln_LogSoftmaxOp : Kiln_SoftmaxLikeOp<"log_softmax", "log of softmax">;

//===----------------------------------------------------------------------===//
// Shape changes
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "same elements, another shape (row-major)";
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "permutes the dimensions: result dim i is input dim permutation[i]";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "joins tensors along `dim`";
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$inputs `dim` $dim attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, recurrence
//===----------------------------------------------------------------------===//

def Kiln_Conv2dOp : Kiln_Op<"conv2d", [Pure, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "2-D convolution over NCHW, as nn.Conv2d (weight [O, C, kh, kw])";
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

class Kiln_PoolOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor,
                         DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = what # " over windows of H and W (NCHW)";
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `kernel` $kernel `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_MaxPool2dOp : Kiln_PoolOp<"max_pool2d", "maximum">;
def Kiln_AvgPool2dOp : Kiln_PoolOp<"avg_pool2d", "average (padding counted, as PyTorch's default)">;

def Kiln_RNNOp : Kiln_Op<"rnn", [Pure, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]> {
  let summary = "one tanh RNN layer over [N, T, in], batch first, zero initial state";
  let description = [{
    h_t = tanh(x_t @ weight_ih^T + bias_ih + h_{t-1} @ weight_hh^T + bias_hh),
    as `nn.RNN(batch_first=True)`; the result stacks every h_t: [N, T, hidden].
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight_ih,
                       Kiln_FloatTensor:$weight_hh, Kiln_FloatTensor:$bias_ih,
                       Kiln_FloatTensor:$bias_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight_ih `,` $weight_hh `,` $bias_ih `,` $bias_hh "
                       "attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Losses and metrics: scalars, averaged as PyTorch's reduction='mean'
//===----------------------------------------------------------------------===//

class Kiln_LossOp<string mnemonic, string what, Type targetType,
                  list<Trait> traits = [DeclareOpInterfaceMethods<Kiln_GradientOpInterface>]>
    : Kiln_Op<mnemonic, !listconcat([Pure, InferTypeOpAdaptor], traits)> {
  let summary = what;
  let arguments = (ins Kiln_FloatTensor:$input, targetType:$target);
  let results = (outs Kiln_Scalar:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` functional-type(operands, results)";
}

def Kiln_MseOp : Kiln_LossOp<"mse", "mean squared error over every element",
                             Kiln_FloatTensor>;
def Kiln_BceWithLogitsOp : Kiln_LossOp<"bce_with_logits",
    "binary cross-entropy of sigmoid(input), averaged over every element", Kiln_FloatTensor>;
def Kiln_CrossEntropyOp : Kiln_LossOp<"cross_entropy",
    "mean over samples of -log_softmax(input)[class]; input [N, C], target [N]",
    Kiln_IndexTensor>;
def Kiln_NllLossOp : Kiln_LossOp<"nll_loss",
    "mean over samples of -input[n, target[n]]; input [N, C] (log-probabilities), target [N]",
    Kiln_IndexTensor>;
def Kiln_AccuracyOp : Kiln_LossOp<"accuracy",
    "fraction of samples whose argmax equals the class index", Kiln_IndexTensor, []>;

//===----------------------------------------------------------------------===//
// Gradient helpers: ops the autodiff pass emits
//===----------------------------------------------------------------------===//

def Kiln_BroadcastLikeOp : Kiln_Op<"broadcast_like", [Pure, InferTypeOpAdaptor]> {
  let summary = "broadcasts `input` (NumPy rules) to the shape of `like`";
  let description = [{
    The result has `like`'s shape and `input`'s element type; `like` is read
    only for its (possibly run-time) sizes.
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$like);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $like attr-dict `:` functional-type(operands, results)";
}

def Kiln_ReluGradOp : Kiln_Op<"relu_grad", [Pure, SameOperandsAndResultType]> {
  let summary = "grad where input > 0, else 0: relu's gradient";
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$grad);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($input)";
}

def Kiln_SignOp : Kiln_UnaryOp<"sign", "-1, 0 or 1 (abs's gradient)">;

def Kiln_MaxGradOp : Kiln_Op<"max_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "max's gradient: grad at the first largest element along `dim`, 0 elsewhere";
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$grad, I64Attr:$dim);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $grad `,` $dim attr-dict `:` functional-type(operands, results)";
}

def Kiln_CrossEntropyGradOp : Kiln_Op<"cross_entropy_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "(softmax(input) - one_hot(target)) / N: cross_entropy's gradient";
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_IndexTensor:$target);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` functional-type(operands, results)";
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", [Pure]> {
  let summary = "1 at each sample's class index, 0 elsewhere (nll_loss's gradient)";
  let description = [{
    The result is [N, C] with C from the result type. A class index outside
    [0, C) gives its sample a row of NaN: a bad label poisons the loss and
    its gradient instead of reading or writing out of bounds.
    ```mlir
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
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$dim, I64Attr:$start, I64Attr:$size);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `dim` $dim `start` $start `size` $size attr-dict `:` "
                       "functional-type(operands, results)";
}

def Kiln_Conv2dInputGradOp : Kiln_Op<"conv2d_input_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "conv2d's gradient for its input (col2im of grad @ weight)";
  let description = [{
    `grad` is the gradient of conv2d's result; `input` is read only for its
    type and (run-time) batch size, since stride makes H and W ambiguous.
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$input,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $weight `,` $input `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_Conv2dWeightGradOp : Kiln_Op<"conv2d_weight_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "conv2d's gradient for its weight (grad^T @ im2col(input))";
  let description = [{
    `weight` is read only for its type: the kernel size.
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
    is the gradient's channel rows times it.
    ```mlir
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

def Kiln_Col2imOp : Kiln_Op<"col2im", [Pure, InferTypeOpAdaptor]> {
  let summary = "adds window columns back onto the pixels they came from (im2col's adjoint)";
  let description = [{
    `columns` has im2col's column layout [C*KH*KW, N*OH*OW] for an input of
    `like`'s type; each pixel of the result (`like`'s type) is the sum of
    the entries im2col would have copied it to. conv2d's input gradient is
    col2im of the weight's transpose times the gradient's channel rows.
    ```mlir
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

class Kiln_PoolGradOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = what;
  let description = [{
    `grad` is the gradient of the pool's result, `input` the pool's input;
    the result has the input's type.
  }];
  let arguments = (ins Kiln_FloatTensor:$grad, Kiln_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$padding);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input `kernel` $kernel `stride` $stride `padding` $padding "
                       "attr-dict `:` functional-type(operands, results)";
}

def Kiln_MaxPool2dGradOp : Kiln_PoolGradOp<"max_pool2d_grad",
    "max_pool2d's gradient: each window's grad goes to its first largest input">;
def Kiln_AvgPool2dGradOp : Kiln_PoolGradOp<"avg_pool2d_grad",
    "avg_pool2d's gradient: each window's grad spread evenly over it">;

def Kiln_RNNStepGradOp : Kiln_Op<"rnn_step_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "backprop through time: the loss's gradient at each step's pre-activation";
  let description = [{
    From the rnn's result `states` [N, T, H], its gradient `grad` and
    `weight_hh`, runs t = T-1 .. 0:
    d_t = (grad_t + d_{t+1} @ weight_hh) * (1 - h_t^2), and returns every d_t
    as [N, T, H]; the weight, bias and input gradients are products of it.
  }];
  let arguments = (ins Kiln_FloatTensor:$states, Kiln_FloatTensor:$grad,
                       Kiln_FloatTensor:$weight_hh);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$states `,` $grad `,` $weight_hh attr-dict `:` "
                       "functional-type(operands, results)";
}

#endif // KILN_OPS
