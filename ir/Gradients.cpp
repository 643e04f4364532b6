// The gradient rules: one vector-Jacobian product per differentiable op, in
// the style of tinygrad's gradient.py. Each rule writes its operands'
// gradients with kiln ops, following ATen's backward formulas (same
// operations in the same order) so the numbers track PyTorch's.
#include "ir/KilnBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace kiln::ir;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Sums a broadcast gradient `g` back down to the shape of `target`: over the
/// leading dims `target` lacks and the dims where it has size 1.
Value unbroadcast(OpBuilder &b, Location loc, Value g, Value target) {
  RankedTensorType gt = typeOf(g), tt = typeOf(target);
  if (gt == tt)
    return g;
  int64_t offset = gt.getRank() - tt.getRank();
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < gt.getRank(); ++d)
    if (d < offset || (tt.getDimSize(d - offset) == 1 && gt.getDimSize(d) != 1))
      dims.push_back(d);
  Value summed = dims.empty() ? g : SumOp::create(b, loc, g, dims, false).getResult();
  if (typeOf(summed) == tt)
    return summed;
  return ReshapeOp::create(b, loc, tt, summed);
}

/// `g`, the gradient of a reduction over `dims` of `x`, with the reduced
/// dims put back as size 1 (keepdim=true).
Value keepDims(OpBuilder &b, Location loc, Value g, Value x, ArrayRef<int64_t> dims) {
  RankedTensorType xt = typeOf(x);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < xt.getRank(); ++d)
    shape.push_back(dims.empty() || llvm::is_contained(dims, d) ? 1 : xt.getDimSize(d));
  auto type = RankedTensorType::get(shape, typeOf(g).getElementType());
  if (typeOf(g) == type)
    return g;
  return ReshapeOp::create(b, loc, type, g);
}

/// Swaps the last two dims.
/// g, a reduction's gradient in its keepdim=true shape, without the size-1
/// dimension `dim` of the reduced `input`.
Value dropDim(OpBuilder &b, Location loc, Value g, Value input, int64_t dim) {
  auto in = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (d != dim)
      shape.push_back(in.getDimSize(d));
  return ReshapeOp::create(b, loc, RankedTensorType::get(shape, in.getElementType()), g);
}

Value transposeLast(OpBuilder &b, Location loc, Value x) {
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(d == rank - 2 ? rank - 1 : d == rank - 1 ? rank - 2 : d);
  return TransposeOp::create(b, loc, x, perm);
}

/// x with every dim but the last folded into one: [M, last].
Value rows(OpBuilder &b, Location loc, Value x) {
  RankedTensorType t = typeOf(x);
  if (t.getRank() == 2)
    return x;
  int64_t last = t.getDimSize(t.getRank() - 1);
  int64_t m = t.hasStaticShape() ? t.getNumElements() / last : ShapedType::kDynamic;
  return ReshapeOp::create(b, loc, RankedTensorType::get({m, last}, t.getElementType()), x);
}

} // namespace

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = unbroadcast(b, getLoc(), g, getLhs());
  if (needed[1])
    grads[1] = unbroadcast(b, getLoc(), g, getRhs());
  return success();
}

LogicalResult SubOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = unbroadcast(b, getLoc(), g, getLhs());
  if (needed[1])
    grads[1] = unbroadcast(b, getLoc(), NegOp::create(b, getLoc(), g), getRhs());
  return success();
}

LogicalResult MulOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0])
    grads[0] = unbroadcast(b, loc, MulOp::create(b, loc, g, getRhs()), getLhs());
  if (needed[1])
    grads[1] = unbroadcast(b, loc, MulOp::create(b, loc, g, getLhs()), getRhs());
  return success();
}

LogicalResult DivOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0])
    grads[0] = unbroadcast(b, loc, DivOp::create(b, loc, g, getRhs()), getLhs());
  if (needed[1]) {
    // -g * a / (b * b)
    Value num = MulOp::create(b, loc, NegOp::create(b, loc, g), getLhs());
    Value den = MulOp::create(b, loc, getRhs(), getRhs());
    grads[1] = unbroadcast(b, loc, DivOp::create(b, loc, num, den), getRhs());
  }
  return success();
}

LogicalResult NegOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  grads[0] = NegOp::create(b, getLoc(), g);
  return success();
}

LogicalResult AbsOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  grads[0] = MulOp::create(b, getLoc(), g, SignOp::create(b, getLoc(), getInput()));
  return success();
}

LogicalResult ReluOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  grads[0] = ReluGradOp::create(b, getLoc(), getResult(), g);
  return success();
}

LogicalResult SigmoidOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &grads) {
  // g * (1 - y) * y
  Location loc = getLoc();
  Value y = getResult();
  Value oneMinus = SubOp::create(b, loc, scalarLike(b, loc, y, 1.0), y);
  grads[0] = MulOp::create(b, loc, MulOp::create(b, loc, g, oneMinus), y);
  return success();
}

LogicalResult TanhOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  // g * (1 - y * y)
  Location loc = getLoc();
  Value y = getResult();
  Value oneMinus = SubOp::create(b, loc, scalarLike(b, loc, y, 1.0), MulOp::create(b, loc, y, y));
  grads[0] = MulOp::create(b, loc, g, oneMinus);
  return success();
}

LogicalResult ExpOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  grads[0] = MulOp::create(b, getLoc(), g, getResult());
  return success();
}

LogicalResult LogOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  grads[0] = DivOp::create(b, getLoc(), g, getInput());
  return success();
}

LogicalResult SiluOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  // g * s * (1 + x * (1 - s)) with s = sigmoid(x), as ATen's silu_backward.
  Location loc = getLoc();
  Value x = getInput();
  Value s = SigmoidOp::create(b, loc, x);
  Value one = scalarLike(b, loc, x, 1.0);
  Value slope = AddOp::create(b, loc, one, MulOp::create(b, loc, x, SubOp::create(b, loc, one, s)));
  grads[0] = MulOp::create(b, loc, MulOp::create(b, loc, g, s), slope);
  return success();
}

LogicalResult Log1pOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                      SmallVectorImpl<Value> &grads) {
  // g / (1 + x)
  Location loc = getLoc();
  Value onePlus = AddOp::create(b, loc, scalarLike(b, loc, getInput(), 1.0), getInput());
  grads[0] = DivOp::create(b, loc, g, onePlus);
  return success();
}

LogicalResult SqrtOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  // g / (2 * y)
  Location loc = getLoc();
  Value twice = MulOp::create(b, loc, scalarLike(b, loc, getResult(), 2.0), getResult());
  grads[0] = DivOp::create(b, loc, g, twice);
  return success();
}

LogicalResult CastOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  // Only a float source has a gradient: the cast back to its dtype.
  if (isa<FloatType>(getInput().getType().getElementType()))
    grads[0] = CastOp::create(b, getLoc(), getInput().getType(), g);
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0]) {
    Value ga = MatMulOp::create(b, loc, g, transposeLast(b, loc, getRhs()));
    grads[0] = unbroadcast(b, loc, ga, getLhs());
  }
  if (needed[1]) {
    Value gb = MatMulOp::create(b, loc, transposeLast(b, loc, getLhs()), g);
    grads[1] = unbroadcast(b, loc, gb, getRhs());
  }
  return success();
}

LogicalResult LinearOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  bool vector = typeOf(g).getRank() == 1; // a rank-1 input: one sample, no batch
  if (needed[0]) {
    // [..., out] @ [out, in]; a vector as a one-row matrix and back.
    grads[0] = MatMulOp::create(b, loc, vector ? rows(b, loc, g) : g, getWeight());
    if (vector)
      grads[0] = ReshapeOp::create(b, loc, getInput().getType(), grads[0]);
  }
  if (needed[1]) {
    // g^T @ x over every sample (and every leading index): [out, in].
    Value gRows = rows(b, loc, g), xRows = rows(b, loc, getInput());
    grads[1] = MatMulOp::create(b, loc, TransposeOp::create(b, loc, gRows, ArrayRef<int64_t>{1, 0}),
                                xRows);
  }
  if (getBias() && needed[2]) {
    // The sum over every leading index; a vector's gradient is the bias's.
    SmallVector<int64_t> dims;
    for (int64_t d = 0; d + 1 < typeOf(g).getRank(); ++d)
      dims.push_back(d);
    grads[2] = vector ? g : SumOp::create(b, loc, g, dims, false).getResult();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

LogicalResult SumOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  grads[0] = BroadcastLikeOp::create(b, loc, keepDims(b, loc, g, getInput(), getDims()),
                                     getInput());
  return success();
}

LogicalResult MeanOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  Value spread = BroadcastLikeOp::create(b, loc, keepDims(b, loc, g, getInput(), getDims()),
                                         getInput());
  grads[0] = DivOp::create(b, loc, spread, countOf(b, loc, getInput(), getDims()));
  return success();
}

LogicalResult MaxOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  // max_grad takes the gradient in the keepdim=false shape.
  Location loc = getLoc();
  Value reduced = getKeepdim() ? dropDim(b, loc, g, getInput(), getDim()) : g;
  grads[0] = MaxGradOp::create(b, loc, getInput(), reduced, getDim());
  return success();
}

LogicalResult SoftmaxOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &grads) {
  // y * (g - sum(g * y, dim, keepdim))
  Location loc = getLoc();
  Value y = getResult();
  int64_t dim = getDim();
  Value dot = SumOp::create(b, loc, MulOp::create(b, loc, g, y), ArrayRef<int64_t>{dim}, true);
  grads[0] = MulOp::create(b, loc, y, SubOp::create(b, loc, g, dot));
  return success();
}

LogicalResult LogSoftmaxOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                           SmallVectorImpl<Value> &grads) {
  // g - exp(y) * sum(g, dim, keepdim)
  Location loc = getLoc();
  int64_t dim = getDim();
  Value total = SumOp::create(b, loc, g, ArrayRef<int64_t>{dim}, true);
  Value spread = MulOp::create(b, loc, ExpOp::create(b, loc, getResult()), total);
  grads[0] = SubOp::create(b, loc, g, spread);
  return success();
}

//===----------------------------------------------------------------------===//
// Shape changes
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &grads) {
  grads[0] = ReshapeOp::create(b, getLoc(), getInput().getType(), g);
  return success();
}

LogicalResult TransposeOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                          SmallVectorImpl<Value> &grads) {
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, d] : llvm::enumerate(perm))
    inverse[d] = i;
  grads[0] = TransposeOp::create(b, getLoc(), g, inverse);
  return success();
}

LogicalResult ConcatOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  int64_t dim = getDim(), start = 0;
  // One piece (cat([x], dim=0), the only join along the batch that the
  // frontend lets through): its gradient is the result's.
  if (getInputs().size() == 1) {
    if (needed[0])
      grads[0] = g;
    return success();
  }
  for (auto [i, piece] : llvm::enumerate(getInputs())) {
    int64_t size = typeOf(piece).getDimSize(dim);
    if (ShapedType::isDynamic(size))
      return emitOpError("has no gradient when joining along the batch dimension");
    if (needed[i])
      grads[i] = SliceOp::create(b, getLoc(), g, dim, start, size);
    start += size;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult MseOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  // 2 * (a - b) * g / numel, as mse_loss_backward
  Location loc = getLoc();
  Value diff = SubOp::create(b, loc, getInput(), getTarget());
  Value scaled = MulOp::create(b, loc, MulOp::create(b, loc, scalarLike(b, loc, g, 2.0), diff), g);
  Value ga = DivOp::create(b, loc, scaled, countOf(b, loc, getInput(), {}));
  if (needed[0])
    grads[0] = ga;
  if (needed[1])
    grads[1] = NegOp::create(b, loc, ga);
  return success();
}

LogicalResult BceWithLogitsOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                              SmallVectorImpl<Value> &grads) {
  // (sigmoid(x) - y) * g / numel for x; -x * g / numel for y.
  Location loc = getLoc();
  Value count = countOf(b, loc, getInput(), {});
  if (needed[0]) {
    Value diff = SubOp::create(b, loc, SigmoidOp::create(b, loc, getInput()), getTarget());
    grads[0] = DivOp::create(b, loc, MulOp::create(b, loc, diff, g), count);
  }
  if (needed[1]) {
    Value neg = NegOp::create(b, loc, getInput());
    grads[1] = DivOp::create(b, loc, MulOp::create(b, loc, neg, g), count);
  }
  return success();
}

LogicalResult CrossEntropyOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = MulOp::create(b, getLoc(),
                             CrossEntropyGradOp::create(b, getLoc(), getInput(), getTarget()), g);
  return success();
}

LogicalResult NllLossOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  // -g / N at each sample's class, as nll_loss_backward with reduction='mean'.
  if (!needed[0])
    return success();
  Location loc = getLoc();
  Value scale = DivOp::create(b, loc, NegOp::create(b, loc, g),
                              countOf(b, loc, getInput(), ArrayRef<int64_t>{0}));
  Value hot = OneHotOp::create(b, loc, getInput().getType(), getTarget());
  grads[0] = MulOp::create(b, loc, hot, scale);
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, recurrence, dropout
//===----------------------------------------------------------------------===//

LogicalResult Conv2dOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0])
    grads[0] = Conv2dInputGradOp::create(b, loc, g, getWeight(), getInput(), getStride(),
                                         getPadding());
  if (needed[1])
    grads[1] = Conv2dWeightGradOp::create(b, loc, g, getInput(), getWeight(), getStride(),
                                          getPadding());
  if (getBias() && needed[2])
    grads[2] = SumOp::create(b, loc, g, ArrayRef<int64_t>{0, 2, 3}, false);
  return success();
}

LogicalResult MaxPool2dOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                          SmallVectorImpl<Value> &grads) {
  grads[0] = MaxPool2dGradOp::create(b, getLoc(), g, getInput(), getKernel(), getStride(),
                                     getPadding());
  return success();
}

LogicalResult AvgPool2dOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                          SmallVectorImpl<Value> &grads) {
  grads[0] = AvgPool2dGradOp::create(b, getLoc(), g, getInput(), getKernel(), getStride(),
                                     getPadding());
  return success();
}

/// Train-mode batch norm, with xhat = (x - mean) * invstd over the batch's
/// statistics (dims all but 1): dx = w * invstd * (g - mean(g) - xhat *
/// mean(g * xhat)), dw = sum(g * xhat), db = sum(g); the running statistics
/// get no gradient.
LogicalResult BatchNormTrainOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  Value x = getInput();
  SmallVector<int64_t> dims = batchNormDims(x);
  Moments m = momentsOf(b, loc, x, dims);
  Value invstd = inverseStd(b, loc, m.var, getEps().convertToDouble());
  Value xhat = MulOp::create(b, loc, m.centered, invstd);
  Value gxhat = MulOp::create(b, loc, g, xhat);
  if (needed[0]) {
    Value centered = SubOp::create(b, loc, g, MeanOp::create(b, loc, g, dims, true));
    Value inner = SubOp::create(b, loc, centered,
                                MulOp::create(b, loc, xhat, MeanOp::create(b, loc, gxhat, dims, true)));
    Value scale = MulOp::create(b, loc, invstd, perChannel(b, loc, getWeight(), x));
    grads[0] = MulOp::create(b, loc, inner, scale);
  }
  if (needed[1])
    grads[1] = SumOp::create(b, loc, gxhat, dims, false);
  if (needed[2])
    grads[2] = SumOp::create(b, loc, g, dims, false);
  return success();
}

LogicalResult RNNOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  // d [N, T, H]: the gradient at every step's pre-activation. Each weight
  // then sees all N*T steps at once, as one product: d^T @ x for weight_ih,
  // d^T @ h_{t-1} for weight_hh (h_{-1} = 0).
  Location loc = getLoc();
  Value states = getResult();
  RankedTensorType st = typeOf(states);
  int64_t steps = st.getDimSize(1), hidden = st.getDimSize(2);
  Value d = RNNStepGradOp::create(b, loc, states, g, getWeightHh());
  Value dRows = rows(b, loc, d);
  Value dT = TransposeOp::create(b, loc, dRows, ArrayRef<int64_t>{1, 0});
  if (needed[0]) {
    Value gx = MatMulOp::create(b, loc, dRows, getWeightIh());
    grads[0] = ReshapeOp::create(b, loc, getInput().getType(), gx);
  }
  if (needed[1])
    grads[1] = MatMulOp::create(b, loc, dT, rows(b, loc, getInput()));
  if (needed[2]) {
    // h_{t-1} for every t: zeros, then the states but the last.
    SmallVector<Value> batch;
    if (st.isDynamicDim(0))
      batch.push_back(tensor::DimOp::create(b, loc, states, 0));
    auto firstType = RankedTensorType::get({st.getDimSize(0), 1, hidden}, st.getElementType());
    Value first = FillOp::create(b, loc, firstType, b.getF64FloatAttr(0.0), batch);
    Value previous = first;
    if (steps > 1)
      previous = ConcatOp::create(
          b, loc, ValueRange{first, SliceOp::create(b, loc, states, 1, 0, steps - 1)}, 1);
    grads[2] = MatMulOp::create(b, loc, dT, rows(b, loc, previous));
  }
  Value biasGrad;
  if (needed[3] || needed[4])
    biasGrad = SumOp::create(b, loc, d, ArrayRef<int64_t>{0, 1}, false);
  if (needed[3])
    grads[3] = biasGrad;
  if (needed[4])
    grads[4] = biasGrad;
  return success();
}

LogicalResult DropoutOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &grads) {
  // The same seed and salt replay the same mask and scale on the gradient.
  grads[0] = DropoutOp::create(b, getLoc(), g.getType(), g, getPAttr(), getSeed(), getOffset(),
                               getSaltAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Recurrent and normalization layers, embedding (issue 13)
//===----------------------------------------------------------------------===//

namespace {

/// h_{t-1} for every t of a result `states` [N, T, H]: zeros, then the
/// states but the last.
Value previousStates(OpBuilder &b, Location loc, Value states) {
  RankedTensorType st = typeOf(states);
  int64_t steps = st.getDimSize(1), hidden = st.getDimSize(2);
  SmallVector<Value> batch;
  if (st.isDynamicDim(0))
    batch.push_back(tensor::DimOp::create(b, loc, states, 0));
  auto firstType = RankedTensorType::get({st.getDimSize(0), 1, hidden}, st.getElementType());
  Value first = FillOp::create(b, loc, firstType, b.getF64FloatAttr(0.0), batch);
  if (steps == 1)
    return first;
  return ConcatOp::create(
      b, loc, ValueRange{first, SliceOp::create(b, loc, states, 1, 0, steps - 1)}, 1);
}

/// The gradients of a gated layer's operands from `dInput` [N, T, G*H] (the
/// gradient at x_t @ weight_ih^T + bias_ih) and `dHidden` (the one at
/// h_{t-1} @ weight_hh^T + bias_hh): whole-sequence products, as the rnn's.
void gatedGradients(OpBuilder &b, Location loc, Value x, Value wih, Value previous,
                    Value dInput, Value dHidden, ArrayRef<bool> needed,
                    SmallVectorImpl<Value> &grads) {
  Value dInRows = rows(b, loc, dInput);
  auto transposed = [&](Value r) -> Value {
    return TransposeOp::create(b, loc, r, ArrayRef<int64_t>{1, 0});
  };
  Value dInT = needed[1] || (needed[2] && dHidden == dInput) ? transposed(dInRows) : Value();
  if (needed[0])
    grads[0] = ReshapeOp::create(b, loc, x.getType(), MatMulOp::create(b, loc, dInRows, wih));
  if (needed[1])
    grads[1] = MatMulOp::create(b, loc, dInT, rows(b, loc, x));
  if (needed[2]) {
    Value dHidT = dHidden == dInput ? dInT : transposed(rows(b, loc, dHidden));
    grads[2] = MatMulOp::create(b, loc, dHidT, rows(b, loc, previous));
  }
  Value dInSum;
  if (needed[3] || (needed[4] && dHidden == dInput))
    dInSum = SumOp::create(b, loc, dInput, ArrayRef<int64_t>{0, 1}, false);
  if (needed[3])
    grads[3] = dInSum;
  if (needed[4])
    grads[4] = dHidden == dInput
                   ? dInSum
                   : SumOp::create(b, loc, dHidden, ArrayRef<int64_t>{0, 1}, false).getResult();
}

} // namespace

LogicalResult LSTMOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  // The gates of every step from the result: one product per side over the
  // whole sequence (h_{t-1} is known for every t), then backprop through
  // time gives the gradient at the gates, d [N, T, 4H], which both sides
  // share.
  Location loc = getLoc();
  Value previous = previousStates(b, loc, getResult());
  Value gates = AddOp::create(
      b, loc, LinearOp::create(b, loc, getInput(), getWeightIh(), getBiasIh()),
      LinearOp::create(b, loc, previous, getWeightHh(), getBiasHh()));
  Value d = LSTMStepGradOp::create(b, loc, gates, g, getWeightHh());
  gatedGradients(b, loc, getInput(), getWeightIh(), previous, d, d, needed, grads);
  return success();
}

LogicalResult GRUOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  // Both projections of every step from the result, then backprop through
  // time: (dr, dz, dn * r, dn). The hidden side's gradient is its first 3H
  // columns; the input side's (dr, dz, dn).
  Location loc = getLoc();
  int64_t hidden = typeOf(getResult()).getDimSize(2);
  Value previous = previousStates(b, loc, getResult());
  Value inputGates = LinearOp::create(b, loc, getInput(), getWeightIh(), getBiasIh());
  Value hiddenGates = LinearOp::create(b, loc, previous, getWeightHh(), getBiasHh());
  Value d = GRUStepGradOp::create(b, loc, inputGates, hiddenGates, previous, g, getWeightHh());
  Value dHidden = SliceOp::create(b, loc, d, 2, 0, 3 * hidden);
  Value dInput = ConcatOp::create(
      b, loc,
      ValueRange{SliceOp::create(b, loc, d, 2, 0, 2 * hidden),
                 SliceOp::create(b, loc, d, 2, 3 * hidden, hidden)},
      2);
  gatedGradients(b, loc, getInput(), getWeightIh(), previous, dInput, dHidden, needed, grads);
  return success();
}

LogicalResult LayerNormOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  // ATen's layer_norm_backward (CPU), with mean and rstd recomputed as the
  // forward computes them and s = 1 / C:
  //   ds = sum(g * w * x), db = sum(g * w) over the last dim
  //   b' = (db * mean - ds) * rstd^3 * s, c' = -b' * mean - db * rstd * s
  //   dx = rstd * g * w + b' * x + c'
  //   dw = sum over rows of g * (x * rstd + (-rstd * mean)), db = sum of g
  Location loc = getLoc();
  Value x = getInput();
  RankedTensorType xt = typeOf(x);
  int64_t last = xt.getRank() - 1;
  SmallVector<int64_t> lastDim{last};
  Moments m = momentsOf(b, loc, x, lastDim);
  Value mean = m.mean;
  Value rstd = inverseStd(b, loc, m.var, getEps().convertToDouble());
  if (needed[0]) {
    Value s = scalarLike(b, loc, x, 1.0 / static_cast<double>(xt.getDimSize(last)));
    Value dyw = MulOp::create(b, loc, g, getWeight());
    Value ds = SumOp::create(b, loc, MulOp::create(b, loc, dyw, x), lastDim, true);
    Value db = SumOp::create(b, loc, dyw, lastDim, true);
    Value cube = MulOp::create(b, loc, MulOp::create(b, loc, rstd, rstd), rstd);
    Value bb = MulOp::create(
        b, loc, MulOp::create(b, loc, SubOp::create(b, loc, MulOp::create(b, loc, db, mean), ds), cube),
        s);
    Value cc = SubOp::create(b, loc, MulOp::create(b, loc, NegOp::create(b, loc, bb), mean),
                             MulOp::create(b, loc, MulOp::create(b, loc, db, rstd), s));
    Value scaled = MulOp::create(b, loc, MulOp::create(b, loc, rstd, g), getWeight());
    grads[0] = AddOp::create(b, loc, AddOp::create(b, loc, scaled, MulOp::create(b, loc, bb, x)),
                             cc);
  }
  SmallVector<int64_t> leading;
  for (int64_t d = 0; d < last; ++d)
    leading.push_back(d);
  auto overRows = [&](Value v) -> Value {
    return leading.empty() ? v : SumOp::create(b, loc, v, leading, false).getResult();
  };
  if (needed[1]) {
    Value shift = MulOp::create(b, loc, NegOp::create(b, loc, rstd), mean);
    Value normalized = AddOp::create(b, loc, MulOp::create(b, loc, x, rstd), shift);
    grads[1] = overRows(MulOp::create(b, loc, g, normalized));
  }
  if (needed[2])
    grads[2] = overRows(g);
  return success();
}

LogicalResult EmbeddingOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  // Indices are integers: only the weight has a gradient.
  if (needed[1])
    grads[1] = EmbeddingGradOp::create(b, getLoc(), getWeight().getType(), g, getIndices());
  return success();
}

//===----------------------------------------------------------------------===//
// More expressions: pow, activations with settings, clamp, min, indexing,
// l1_loss
//===----------------------------------------------------------------------===//

namespace {
/// Zeros of `like`'s type (its batch size read at run time).
Value zerosLike(OpBuilder &b, Location loc, Value like) {
  RankedTensorType t = typeOf(like);
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (t.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, loc, like, d));
  return FillOp::create(b, loc, t, b.getF64FloatAttr(0.0), sizes);
}
} // namespace

LogicalResult PowOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  // grad * (exponent * x ** (exponent - 1)), zeros for exponent 0, as ATen's
  // pow_backward.
  Location loc = getLoc();
  Value x = getInput();
  double p = getExponent().convertToDouble();
  if (p == 0.0) {
    grads[0] = zerosLike(b, loc, x);
    return success();
  }
  Value power = PowOp::create(b, loc, x, b.getF64FloatAttr(p - 1.0));
  Value slope = MulOp::create(b, loc, scalarLike(b, loc, x, p), power);
  grads[0] = MulOp::create(b, loc, g, slope);
  return success();
}

LogicalResult GeluOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                     SmallVectorImpl<Value> &grads) {
  grads[0] = GeluGradOp::create(b, getLoc(), getInput(), g);
  return success();
}

LogicalResult SoftplusOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                         SmallVectorImpl<Value> &grads) {
  grads[0] = SoftplusGradOp::create(b, getLoc(), getInput(), g, getBetaAttr(), getThresholdAttr());
  return success();
}

LogicalResult LeakyReluOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                          SmallVectorImpl<Value> &grads) {
  grads[0] = LeakyReluGradOp::create(b, getLoc(), getInput(), g, getNegativeSlopeAttr());
  return success();
}

LogicalResult ClampOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                      SmallVectorImpl<Value> &grads) {
  grads[0] = ClampGradOp::create(b, getLoc(), getInput(), g, getMinAttr(), getMaxAttr());
  return success();
}

LogicalResult MinOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                    SmallVectorImpl<Value> &grads) {
  // min_grad takes the gradient in the keepdim=false shape.
  Location loc = getLoc();
  Value reduced = getKeepdim() ? dropDim(b, loc, g, getInput(), getDim()) : g;
  grads[0] = MinGradOp::create(b, loc, getInput(), reduced, getDim());
  return success();
}

LogicalResult IndexOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool>,
                                      SmallVectorImpl<Value> &grads) {
  // The gradient written into zeros at the window, as slice_backward and
  // select_backward.
  grads[0] = IndexGradOp::create(b, getLoc(), g, getInput(), getStartsAttr(), getSizesAttr(),
                                 getStepsAttr(), getDroppedAttr());
  return success();
}

LogicalResult L1LossOp::buildGradients(OpBuilder &b, Value g, ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  // mean's backward (g / numel), then abs's (times sign(x - y)), then sub's.
  Location loc = getLoc();
  Value diff = SubOp::create(b, loc, getInput(), getTarget());
  Value spread = DivOp::create(b, loc, g, countOf(b, loc, getInput(), {}));
  Value ga = MulOp::create(b, loc, spread, SignOp::create(b, loc, diff));
  if (needed[0])
    grads[0] = ga;
  if (needed[1])
    grads[1] = NegOp::create(b, loc, ga);
  return success();
}
