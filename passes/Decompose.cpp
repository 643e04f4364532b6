// kiln-decompose: composite kiln ops become primitive kiln ops, so that
// lowering has one pattern per primitive and the IR shows what runs.
#include "ir/KilnBuilders.h"
#include "passes/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_DECOMPOSE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Where the pieces of a decomposed op are built: the op's file location,
/// without its name, which only the op's final value keeps.
Location pieceLoc(Location loc) {
  if (auto named = dyn_cast<NameLoc>(loc))
    return named.getChildLoc();
  return loc;
}

/// A pattern that replaces `Op` with the value `build` makes from primitives.
template <typename Op>
struct Decomposition : OpRewritePattern<Op> {
  using OpRewritePattern<Op>::OpRewritePattern;
  virtual Value build(Op op, PatternRewriter &b, Location loc) const = 0;
  LogicalResult matchAndRewrite(Op op, PatternRewriter &rewriter) const final {
    Value result = build(op, rewriter, pieceLoc(op.getLoc()));
    if (Operation *def = result.getDefiningOp())
      def->setLoc(op.getLoc());
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// x [..., in] @ weight^T + bias: a 2-D product on rows [M, in].
struct DecomposeLinear : Decomposition<LinearOp> {
  using Decomposition::Decomposition;
  Value build(LinearOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType xt = typeOf(op.getInput()), wt = op.getWeight().getType();
    Type elem = xt.getElementType();
    int64_t in = wt.getDimSize(1);
    Value x = op.getInput();
    if (xt.getRank() != 2) {
      int64_t rows = xt.hasStaticShape() ? xt.getNumElements() / in : ShapedType::kDynamic;
      x = ReshapeOp::create(b, loc, RankedTensorType::get({rows, in}, elem), x);
    }
    Value wT = TransposeOp::create(b, loc, op.getWeight(), ArrayRef<int64_t>{1, 0});
    Value y = MatMulOp::create(b, loc, x, wT);
    if (op.getBias())
      y = AddOp::create(b, loc, y, op.getBias());
    if (typeOf(y) != op.getType())
      y = ReshapeOp::create(b, loc, op.getType(), y);
    return y;
  }
};

/// x - max(x, dim, keepdim): the shift that keeps exp finite.
Value shifted(PatternRewriter &b, Location loc, Value x, int64_t dim) {
  Value m = MaxOp::create(b, loc, x, dim, /*keepdim=*/true);
  return SubOp::create(b, loc, x, m);
}

/// exp(s) / sum(exp(s), dim, keepdim) with s the shifted input.
struct DecomposeSoftmax : Decomposition<SoftmaxOp> {
  using Decomposition::Decomposition;
  Value build(SoftmaxOp op, PatternRewriter &b, Location loc) const override {
    int64_t dim = op.getDim();
    Value e = ExpOp::create(b, loc, shifted(b, loc, op.getInput(), dim));
    return DivOp::create(b, loc, e, SumOp::create(b, loc, e, ArrayRef<int64_t>{dim}, true));
  }
};

/// s - log(sum(exp(s), dim, keepdim)) with s the shifted input.
struct DecomposeLogSoftmax : Decomposition<LogSoftmaxOp> {
  using Decomposition::Decomposition;
  Value build(LogSoftmaxOp op, PatternRewriter &b, Location loc) const override {
    int64_t dim = op.getDim();
    Value s = shifted(b, loc, op.getInput(), dim);
    Value total = SumOp::create(b, loc, ExpOp::create(b, loc, s), ArrayRef<int64_t>{dim}, true);
    return SubOp::create(b, loc, s, LogOp::create(b, loc, total));
  }
};

/// mean((x - y)^2) over every element.
struct DecomposeMse : Decomposition<MseOp> {
  using Decomposition::Decomposition;
  Value build(MseOp op, PatternRewriter &b, Location loc) const override {
    Value d = SubOp::create(b, loc, op.getInput(), op.getTarget());
    return MeanOp::create(b, loc, MulOp::create(b, loc, d, d), ArrayRef<int64_t>{}, false);
  }
};

/// mean(max(x, 0) - x * y + log1p(exp(-|x|))): PyTorch's stable form.
struct DecomposeBceWithLogits : Decomposition<BceWithLogitsOp> {
  using Decomposition::Decomposition;
  Value build(BceWithLogitsOp op, PatternRewriter &b, Location loc) const override {
    Value x = op.getInput();
    Value soft = Log1pOp::create(
        b, loc, ExpOp::create(b, loc, NegOp::create(b, loc, AbsOp::create(b, loc, x))));
    Value margin = SubOp::create(b, loc, ReluOp::create(b, loc, x),
                                 MulOp::create(b, loc, x, op.getTarget()));
    return MeanOp::create(b, loc, AddOp::create(b, loc, margin, soft), ArrayRef<int64_t>{},
                          false);
  }
};

/// nll_loss(log_softmax(x, 1), t), as torch.nn.functional.cross_entropy.
struct DecomposeCrossEntropy : Decomposition<CrossEntropyOp> {
  using Decomposition::Decomposition;
  Value build(CrossEntropyOp op, PatternRewriter &b, Location loc) const override {
    Value logProbs = LogSoftmaxOp::create(b, loc, op.getInput(), 1);
    return NllLossOp::create(b, loc, logProbs, op.getTarget());
  }
};

/// (softmax(x, 1) - one_hot(t)) / N.
struct DecomposeCrossEntropyGrad : Decomposition<CrossEntropyGradOp> {
  using Decomposition::Decomposition;
  Value build(CrossEntropyGradOp op, PatternRewriter &b, Location loc) const override {
    Value x = op.getInput();
    Value hot = OneHotOp::create(b, loc, x.getType(), op.getTarget());
    Value diff = SubOp::create(b, loc, SoftmaxOp::create(b, loc, x, 1), hot);
    return DivOp::create(b, loc, diff, countOf(b, loc, x, ArrayRef<int64_t>{0}));
  }
};

/// weight [O, C, KH, KW] as rows [O, C*KH*KW].
Value weightRows(PatternRewriter &b, Location loc, Value w) {
  RankedTensorType t = typeOf(w);
  int64_t o = t.getDimSize(0);
  return ReshapeOp::create(b, loc, RankedTensorType::get({o, t.getNumElements() / o},
                                                         t.getElementType()), w);
}

/// A conv result or its gradient [N, O, OH, OW] as channel rows
/// [O, N*OH*OW]: a transpose that moves whole OH*OW planes.
Value channelRows(PatternRewriter &b, Location loc, Value y) {
  RankedTensorType t = typeOf(y);
  Value onhw = TransposeOp::create(b, loc, y, ArrayRef<int64_t>{1, 0, 2, 3});
  int64_t n = t.getDimSize(0), plane = t.getDimSize(2) * t.getDimSize(3);
  int64_t columns = ShapedType::isDynamic(n) ? ShapedType::kDynamic : n * plane;
  return ReshapeOp::create(b, loc, RankedTensorType::get({t.getDimSize(1), columns},
                                                         t.getElementType()), onhw);
}

SmallVector<int64_t> kernelOf(Value weight) {
  RankedTensorType w = typeOf(weight);
  return {w.getDimSize(2), w.getDimSize(3)};
}

/// im2col + one GEMM, Caffe's way: weight rows [O, CKK] @ columns
/// [CKK, N*OH*OW] plus the bias per row, then the channel planes back to
/// NCHW. Few output channels are the GEMM's short side: no padding.
struct DecomposeConv2d : Decomposition<Conv2dOp> {
  using Decomposition::Decomposition;
  Value build(Conv2dOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType type = op.getType();
    Value cols = Im2colOp::create(b, loc, op.getInput(), kernelOf(op.getWeight()),
                                  op.getStride(), op.getPadding(), /*rows=*/false);
    Value y = MatMulOp::create(b, loc, weightRows(b, loc, op.getWeight()), cols);
    int64_t o = type.getDimSize(1);
    if (Value bias = op.getBias())
      y = AddOp::create(b, loc, y, ReshapeOp::create(b, loc, RankedTensorType::get({o, 1},
                                                      type.getElementType()), bias));
    auto onhw = RankedTensorType::get(
        {o, type.getDimSize(0), type.getDimSize(2), type.getDimSize(3)}, type.getElementType());
    return TransposeOp::create(b, loc, ReshapeOp::create(b, loc, onhw, y),
                               ArrayRef<int64_t>{1, 0, 2, 3});
  }
};

/// d(input): weight^T [CKK, O] @ grad rows [O, N*OH*OW] is each window's
/// share of the gradient; col2im adds the shares onto the pixels.
struct DecomposeConv2dInputGrad : Decomposition<Conv2dInputGradOp> {
  using Decomposition::Decomposition;
  Value build(Conv2dInputGradOp op, PatternRewriter &b, Location loc) const override {
    Value wT = TransposeOp::create(b, loc, weightRows(b, loc, op.getWeight()),
                                   ArrayRef<int64_t>{1, 0});
    Value shares = MatMulOp::create(b, loc, wT, channelRows(b, loc, op.getGrad()));
    return Col2imOp::create(b, loc, shares, op.getInput(), kernelOf(op.getWeight()),
                            op.getStride(), op.getPadding());
  }
};

/// d(weight): grad rows [O, N*OH*OW] @ im2col rows [N*OH*OW, CKK].
struct DecomposeConv2dWeightGrad : Decomposition<Conv2dWeightGradOp> {
  using Decomposition::Decomposition;
  Value build(Conv2dWeightGradOp op, PatternRewriter &b, Location loc) const override {
    Value rows = Im2colOp::create(b, loc, op.getInput(), kernelOf(op.getWeight()),
                                  op.getStride(), op.getPadding(), /*rows=*/true);
    Value dw = MatMulOp::create(b, loc, channelRows(b, loc, op.getGrad()), rows);
    return ReshapeOp::create(b, loc, op.getWeight().getType(), dw);
  }
};

//===----------------------------------------------------------------------===//
// Recurrence: loops over time-major [T, N, H] sequences
//===----------------------------------------------------------------------===//

/// Dim `d` of `x` (the batch) as a slice's size: an attribute when static,
/// so the slice's type keeps it (a constant Value would make the inferred
/// type's dim dynamic, and an RNN over a [2, T, F] that does not depend on
/// the batch failed the slice's verifier), else read at run time.
OpFoldResult sizeOf(PatternRewriter &b, Location loc, Value x, int64_t d) {
  int64_t size = typeOf(x).getDimSize(d);
  if (!ShapedType::isDynamic(size))
    return b.getIndexAttr(size);
  return tensor::DimOp::create(b, loc, x, d).getResult();
}

/// Steps [from, from + count) of a time-major [T, N, H] sequence, as
/// [count, N, H], or as [N, H] when `dropTime` (one step, from may be a
/// loop index).
Value stepsOf(PatternRewriter &b, Location loc, Value seq, OpFoldResult from, int64_t count,
              bool dropTime) {
  RankedTensorType st = typeOf(seq);
  SmallVector<int64_t> shape{st.getDimSize(1), st.getDimSize(2)};
  if (!dropTime)
    shape.insert(shape.begin(), count);
  auto type = RankedTensorType::get(shape, st.getElementType());
  SmallVector<OpFoldResult> offsets{from, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(count), sizeOf(b, loc, seq, 1),
                                  b.getIndexAttr(st.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, seq, offsets, sizes, strides);
}

/// `seq` with step `t` replaced by `step` [N, H].
Value withStep(PatternRewriter &b, Location loc, Value seq, Value step, Value t) {
  RankedTensorType st = typeOf(seq);
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), sizeOf(b, loc, seq, 1),
                                  b.getIndexAttr(st.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, step, seq, offsets, sizes, strides);
}

/// Zeros [T + 1, N, H]: the sequence a recurrence carries, with one step
/// more than `like` [N, T, H] (the state before the first or after the last).
Value zeroSequence(PatternRewriter &b, Location loc, Value like, int64_t hidden) {
  RankedTensorType t = typeOf(like);
  auto type = RankedTensorType::get({t.getDimSize(1) + 1, t.getDimSize(0), hidden},
                                    t.getElementType());
  SmallVector<Value> batch;
  if (t.isDynamicDim(0))
    batch.push_back(tensor::DimOp::create(b, loc, like, 0));
  return FillOp::create(b, loc, type, b.getF64FloatAttr(0.0), batch);
}

/// An scf.for over t = 0 .. steps-1 carrying one sequence; `body(t, seq)`
/// returns the next sequence.
Value timeLoop(PatternRewriter &b, Location loc, int64_t steps, Value init,
               function_ref<Value(Value t, Value seq)> body) {
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto loop = scf::ForOp::create(b, loc, index(0), index(steps), index(1), ValueRange{init},
                                 [&](OpBuilder &, Location, Value t, ValueRange carried) {
                                   scf::YieldOp::create(b, loc, body(t, carried[0]));
                                 });
  return loop.getResult(0);
}

/// h_t = tanh(x_t W_ih^T + b_ih + (h_{t-1} W_hh^T + b_hh)): the input
/// projection of every step is one product on time-major rows [T*N, in];
/// the recurrence a loop over T of [N, H] x [H, H] products. The states
/// live time-major in [T + 1, N, H] with h_{-1} = 0 at step 0, so each
/// step is contiguous and the loop updates one tensor in place.
struct DecomposeRNN : Decomposition<RNNOp> {
  using Decomposition::Decomposition;
  Value build(RNNOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType xt = typeOf(op.getInput()), type = op.getType();
    Type elem = type.getElementType();
    int64_t n = xt.getDimSize(0), count = xt.getDimSize(1), hidden = type.getDimSize(2);
    int64_t rows = ShapedType::isDynamic(n) ? ShapedType::kDynamic : n * count;
    Value timeMajor = TransposeOp::create(b, loc, op.getInput(), ArrayRef<int64_t>{1, 0, 2});
    Value x = ReshapeOp::create(b, loc, RankedTensorType::get({rows, xt.getDimSize(2)}, elem),
                                timeMajor);
    Value wihT = TransposeOp::create(b, loc, op.getWeightIh(), ArrayRef<int64_t>{1, 0});
    Value projected = AddOp::create(b, loc, MatMulOp::create(b, loc, x, wihT), op.getBiasIh());
    Value pre = ReshapeOp::create(b, loc, RankedTensorType::get({count, n, hidden}, elem),
                                  projected);
    Value whhT = TransposeOp::create(b, loc, op.getWeightHh(), ArrayRef<int64_t>{1, 0});
    Value states = timeLoop(b, loc, count, zeroSequence(b, loc, op.getInput(), hidden),
                            [&](Value t, Value seq) {
      Value previous = stepsOf(b, loc, seq, t, 1, true);
      Value recurrent = AddOp::create(b, loc, MatMulOp::create(b, loc, previous, whhT),
                                      op.getBiasHh());
      Value h = TanhOp::create(b, loc, AddOp::create(b, loc, stepsOf(b, loc, pre, t, 1, true),
                                                    recurrent));
      Value next = arith::AddIOp::create(b, loc, t, arith::ConstantIndexOp::create(b, loc, 1));
      return withStep(b, loc, seq, h, next);
    });
    return TransposeOp::create(b, loc, stepsOf(b, loc, states, b.getIndexAttr(1), count, false),
                               ArrayRef<int64_t>{1, 0, 2});
  }
};

/// Backprop through time, t = T-1 .. 0: d_t = (g_t + d_{t+1} W_hh) *
/// (1 - h_t^2), in a time-major [T + 1, N, H] with d_T = 0.
struct DecomposeRNNStepGrad : Decomposition<RNNStepGradOp> {
  using Decomposition::Decomposition;
  Value build(RNNStepGradOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType st = op.getStates().getType();
    int64_t count = st.getDimSize(1);
    Value hs = TransposeOp::create(b, loc, op.getStates(), ArrayRef<int64_t>{1, 0, 2});
    Value gs = TransposeOp::create(b, loc, op.getGrad(), ArrayRef<int64_t>{1, 0, 2});
    Value one = scalarLike(b, loc, op.getStates(), 1.0);
    Value ds = timeLoop(b, loc, count, zeroSequence(b, loc, op.getStates(), st.getDimSize(2)),
                        [&](Value i, Value seq) {
      Value last = arith::ConstantIndexOp::create(b, loc, count - 1);
      Value t = arith::SubIOp::create(b, loc, last, i);
      Value next = arith::AddIOp::create(b, loc, t, arith::ConstantIndexOp::create(b, loc, 1));
      Value dh = AddOp::create(b, loc,
                               MatMulOp::create(b, loc, stepsOf(b, loc, seq, next, 1, true),
                                                op.getWeightHh()),
                               stepsOf(b, loc, gs, t, 1, true));
      Value h = stepsOf(b, loc, hs, t, 1, true);
      Value d = MulOp::create(b, loc, dh, SubOp::create(b, loc, one, MulOp::create(b, loc, h, h)));
      return withStep(b, loc, seq, d, t);
    });
    return TransposeOp::create(b, loc, stepsOf(b, loc, ds, b.getIndexAttr(0), count, false),
                               ArrayRef<int64_t>{1, 0, 2});
  }
};

//===----------------------------------------------------------------------===//
// LSTM, GRU and their backprop through time; layer_norm (issue 13)
//===----------------------------------------------------------------------===//

/// An scf.for over t = 0 .. steps-1 carrying several sequences; `body(t,
/// seqs)` returns the next ones.
SmallVector<Value> timeLoopOf(PatternRewriter &b, Location loc, int64_t steps, ValueRange inits,
                              function_ref<SmallVector<Value>(Value t, ValueRange seqs)> body) {
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto loop = scf::ForOp::create(b, loc, index(0), index(steps), index(1), inits,
                                 [&](OpBuilder &, Location, Value t, ValueRange carried) {
                                   scf::YieldOp::create(b, loc, body(t, carried));
                                 });
  return SmallVector<Value>(loop.getResults());
}

/// `seq` [S, N, W] with `piece` [N, w] written at step `t`, columns
/// [column, column + w).
Value withPiece(PatternRewriter &b, Location loc, Value seq, Value piece, Value t,
                int64_t column) {
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(column)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), sizeOf(b, loc, seq, 1),
                                  b.getIndexAttr(typeOf(piece).getDimSize(1))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, piece, seq, offsets, sizes, strides);
}

/// A [N, T, F] sequence time-major, [T, N, F].
Value timeMajor(PatternRewriter &b, Location loc, Value x) {
  return TransposeOp::create(b, loc, x, ArrayRef<int64_t>{1, 0, 2});
}

/// Gate k of `gates` [..., G*H] along its last dim: [..., H].
Value gate(PatternRewriter &b, Location loc, Value gates, int64_t k, int64_t hidden) {
  return SliceOp::create(b, loc, gates, typeOf(gates).getRank() - 1, k * hidden, hidden);
}

/// x_t @ weight_ih^T + bias_ih for every step at once, time-major
/// [T, N, G*H]: one product on rows [T*N, in], as the rnn's.
Value inputProjection(PatternRewriter &b, Location loc, Value input, Value wih, Value bih) {
  RankedTensorType xt = typeOf(input);
  Type elem = xt.getElementType();
  int64_t n = xt.getDimSize(0), count = xt.getDimSize(1), rows = typeOf(wih).getDimSize(0);
  int64_t flat = ShapedType::isDynamic(n) ? ShapedType::kDynamic : n * count;
  Value x = ReshapeOp::create(b, loc, RankedTensorType::get({flat, xt.getDimSize(2)}, elem),
                              timeMajor(b, loc, input));
  Value wihT = TransposeOp::create(b, loc, wih, ArrayRef<int64_t>{1, 0});
  Value projected = AddOp::create(b, loc, MatMulOp::create(b, loc, x, wihT), bih);
  return ReshapeOp::create(b, loc, RankedTensorType::get({count, n, rows}, elem), projected);
}

/// The states [T + 1, N, H] (step 0 the zero state) back as the layer's
/// result [N, T, H].
Value resultOf(PatternRewriter &b, Location loc, Value states, int64_t count) {
  return timeMajor(b, loc, stepsOf(b, loc, states, b.getIndexAttr(1), count, false));
}

Value plusOne(PatternRewriter &b, Location loc, Value t) {
  return arith::AddIOp::create(b, loc, t, arith::ConstantIndexOp::create(b, loc, 1));
}

/// `grad * (1 - y) * y` and `grad * (1 - y * y)`: sigmoid's and tanh's
/// rules, in their order of operations.
Value sigmoidGrad(PatternRewriter &b, Location loc, Value g, Value y, Value one) {
  return MulOp::create(b, loc, MulOp::create(b, loc, g, SubOp::create(b, loc, one, y)), y);
}
Value tanhGrad(PatternRewriter &b, Location loc, Value g, Value y, Value one) {
  return MulOp::create(b, loc, g, SubOp::create(b, loc, one, MulOp::create(b, loc, y, y)));
}

/// ATen's LSTM cell per step: gates = (h_{t-1} W_hh^T + b_hh) + (x_t W_ih^T
/// + b_ih), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). The input
/// projection of every step is one product; the loop carries the states
/// and the cells time-major in [T + 1, N, H] each (step 0 zero).
struct DecomposeLSTM : Decomposition<LSTMOp> {
  using Decomposition::Decomposition;
  Value build(LSTMOp op, PatternRewriter &b, Location loc) const override {
    int64_t count = typeOf(op.getInput()).getDimSize(1), hidden = op.getType().getDimSize(2);
    Value pre = inputProjection(b, loc, op.getInput(), op.getWeightIh(), op.getBiasIh());
    Value whhT = TransposeOp::create(b, loc, op.getWeightHh(), ArrayRef<int64_t>{1, 0});
    // Two tensors: one-shot bufferization gives each its own buffer.
    Value states = zeroSequence(b, loc, op.getInput(), hidden);
    Value cells = zeroSequence(b, loc, op.getInput(), hidden);
    SmallVector<Value> seqs = timeLoopOf(
        b, loc, count, ValueRange{states, cells}, [&](Value t, ValueRange carried) {
          Value hPrev = stepsOf(b, loc, carried[0], t, 1, true);
          Value cPrev = stepsOf(b, loc, carried[1], t, 1, true);
          Value recurrent = AddOp::create(b, loc, MatMulOp::create(b, loc, hPrev, whhT),
                                          op.getBiasHh());
          Value gates = AddOp::create(b, loc, recurrent, stepsOf(b, loc, pre, t, 1, true));
          Value i = SigmoidOp::create(b, loc, gate(b, loc, gates, 0, hidden));
          Value f = SigmoidOp::create(b, loc, gate(b, loc, gates, 1, hidden));
          Value g = TanhOp::create(b, loc, gate(b, loc, gates, 2, hidden));
          Value o = SigmoidOp::create(b, loc, gate(b, loc, gates, 3, hidden));
          Value c = AddOp::create(b, loc, MulOp::create(b, loc, f, cPrev),
                                  MulOp::create(b, loc, i, g));
          Value h = MulOp::create(b, loc, o, TanhOp::create(b, loc, c));
          Value next = plusOne(b, loc, t);
          return SmallVector<Value>{withStep(b, loc, carried[0], h, next),
                                    withStep(b, loc, carried[1], c, next)};
        });
    return resultOf(b, loc, seqs[0], count);
  }
};

/// From the gates of every step: the activations over the whole sequence,
/// the cells c_t in a forward loop of element-wise ops, then backprop
/// through time, t = T-1 .. 0, carrying the gates' gradients [T + 1, N, 4H]
/// and dc_{t+1} * f_{t+1} [T + 1, N, H] (zero at step T).
struct DecomposeLSTMStepGrad : Decomposition<LSTMStepGradOp> {
  using Decomposition::Decomposition;
  Value build(LSTMStepGradOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType gt = typeOf(op.getGrad());
    int64_t count = gt.getDimSize(1), hidden = gt.getDimSize(2);
    Value gates = timeMajor(b, loc, op.getGates());
    Value grads = timeMajor(b, loc, op.getGrad());
    Value one = scalarLike(b, loc, op.getGrad(), 1.0);
    Value i = SigmoidOp::create(b, loc, gate(b, loc, gates, 0, hidden));
    Value f = SigmoidOp::create(b, loc, gate(b, loc, gates, 1, hidden));
    Value g = TanhOp::create(b, loc, gate(b, loc, gates, 2, hidden));
    Value o = SigmoidOp::create(b, loc, gate(b, loc, gates, 3, hidden));
    Value cells = timeLoopOf(b, loc, count, ValueRange{zeroSequence(b, loc, op.getGrad(), hidden)},
                             [&](Value t, ValueRange carried) {
      Value c = AddOp::create(
          b, loc, MulOp::create(b, loc, stepsOf(b, loc, f, t, 1, true),
                                stepsOf(b, loc, carried[0], t, 1, true)),
          MulOp::create(b, loc, stepsOf(b, loc, i, t, 1, true), stepsOf(b, loc, g, t, 1, true)));
      return SmallVector<Value>{withStep(b, loc, carried[0], c, plusOne(b, loc, t))};
    })[0];
    Value tanhCells =
        TanhOp::create(b, loc, stepsOf(b, loc, cells, b.getIndexAttr(1), count, false));
    SmallVector<Value> seqs = timeLoopOf(
        b, loc, count,
        ValueRange{zeroSequence(b, loc, op.getGrad(), 4 * hidden),
                   zeroSequence(b, loc, op.getGrad(), hidden)},
        [&](Value step, ValueRange carried) {
          Value last = arith::ConstantIndexOp::create(b, loc, count - 1);
          Value t = arith::SubIOp::create(b, loc, last, step);
          Value next = plusOne(b, loc, t);
          auto at = [&](Value seq) { return stepsOf(b, loc, seq, t, 1, true); };
          Value dh = AddOp::create(
              b, loc,
              MatMulOp::create(b, loc, stepsOf(b, loc, carried[0], next, 1, true),
                               op.getWeightHh()),
              at(grads));
          Value ot = at(o), it = at(i), ft = at(f), gtt = at(g), tc = at(tanhCells);
          Value dc = AddOp::create(b, loc, tanhGrad(b, loc, MulOp::create(b, loc, dh, ot), tc, one),
                                   stepsOf(b, loc, carried[1], next, 1, true));
          Value di = sigmoidGrad(b, loc, MulOp::create(b, loc, dc, gtt), it, one);
          Value df = sigmoidGrad(b, loc, MulOp::create(b, loc, dc, at(cells)), ft, one);
          Value dg = tanhGrad(b, loc, MulOp::create(b, loc, dc, it), gtt, one);
          Value dO = sigmoidGrad(b, loc, MulOp::create(b, loc, dh, tc), ot, one);
          Value dcf = MulOp::create(b, loc, dc, ft);
          Value d = carried[0];
          SmallVector<Value, 4> pieces{di, df, dg, dO};
          for (auto [k, piece] : llvm::enumerate(pieces))
            d = withPiece(b, loc, d, piece, t, static_cast<int64_t>(k) * hidden);
          return SmallVector<Value>{d, withStep(b, loc, carried[1], dcf, t)};
        });
    return timeMajor(b, loc, stepsOf(b, loc, seqs[0], b.getIndexAttr(0), count, false));
  }
};

/// ATen's GRU cell per step: hh = h_{t-1} W_hh^T + b_hh, r = sigmoid(hr + xr),
/// z = sigmoid(hz + xz), n = tanh(xn + hn * r), h_t = (h_{t-1} - n) * z + n.
struct DecomposeGRU : Decomposition<GRUOp> {
  using Decomposition::Decomposition;
  Value build(GRUOp op, PatternRewriter &b, Location loc) const override {
    int64_t count = typeOf(op.getInput()).getDimSize(1), hidden = op.getType().getDimSize(2);
    Value pre = inputProjection(b, loc, op.getInput(), op.getWeightIh(), op.getBiasIh());
    Value whhT = TransposeOp::create(b, loc, op.getWeightHh(), ArrayRef<int64_t>{1, 0});
    Value states = timeLoopOf(
        b, loc, count, ValueRange{zeroSequence(b, loc, op.getInput(), hidden)},
        [&](Value t, ValueRange carried) {
          Value hPrev = stepsOf(b, loc, carried[0], t, 1, true);
          Value hh = AddOp::create(b, loc, MatMulOp::create(b, loc, hPrev, whhT), op.getBiasHh());
          Value x = stepsOf(b, loc, pre, t, 1, true);
          Value r = SigmoidOp::create(
              b, loc, AddOp::create(b, loc, gate(b, loc, hh, 0, hidden), gate(b, loc, x, 0, hidden)));
          Value z = SigmoidOp::create(
              b, loc, AddOp::create(b, loc, gate(b, loc, hh, 1, hidden), gate(b, loc, x, 1, hidden)));
          Value n = TanhOp::create(
              b, loc, AddOp::create(b, loc, gate(b, loc, x, 2, hidden),
                                    MulOp::create(b, loc, gate(b, loc, hh, 2, hidden), r)));
          Value h = AddOp::create(b, loc, MulOp::create(b, loc, SubOp::create(b, loc, hPrev, n), z),
                                  n);
          return SmallVector<Value>{withStep(b, loc, carried[0], h, plusOne(b, loc, t))};
        })[0];
    return resultOf(b, loc, states, count);
  }
};

/// The gates r, z, n of every step over the whole sequence, then backprop
/// through time, t = T-1 .. 0, carrying (dr, dz, dn * r, dn) [T + 1, N, 4H]
/// and dh_{t+1} * z_{t+1} [T + 1, N, H] (zero at step T).
struct DecomposeGRUStepGrad : Decomposition<GRUStepGradOp> {
  using Decomposition::Decomposition;
  Value build(GRUStepGradOp op, PatternRewriter &b, Location loc) const override {
    RankedTensorType gt = typeOf(op.getGrad());
    int64_t count = gt.getDimSize(1), hidden = gt.getDimSize(2);
    Value xs = timeMajor(b, loc, op.getInputGates());
    Value hs = timeMajor(b, loc, op.getHiddenGates());
    Value previous = timeMajor(b, loc, op.getPrevious());
    Value grads = timeMajor(b, loc, op.getGrad());
    Value one = scalarLike(b, loc, op.getGrad(), 1.0);
    Value r = SigmoidOp::create(
        b, loc, AddOp::create(b, loc, gate(b, loc, hs, 0, hidden), gate(b, loc, xs, 0, hidden)));
    Value z = SigmoidOp::create(
        b, loc, AddOp::create(b, loc, gate(b, loc, hs, 1, hidden), gate(b, loc, xs, 1, hidden)));
    Value hn = gate(b, loc, hs, 2, hidden);
    Value n = TanhOp::create(
        b, loc, AddOp::create(b, loc, gate(b, loc, xs, 2, hidden), MulOp::create(b, loc, hn, r)));
    Value whh = op.getWeightHh();
    SmallVector<Value> seqs = timeLoopOf(
        b, loc, count,
        ValueRange{zeroSequence(b, loc, op.getGrad(), 4 * hidden),
                   zeroSequence(b, loc, op.getGrad(), hidden)},
        [&](Value step, ValueRange carried) {
          Value last = arith::ConstantIndexOp::create(b, loc, count - 1);
          Value t = arith::SubIOp::create(b, loc, last, step);
          Value next = plusOne(b, loc, t);
          auto at = [&](Value seq) { return stepsOf(b, loc, seq, t, 1, true); };
          Value dNext = SliceOp::create(b, loc, stepsOf(b, loc, carried[0], next, 1, true), 1, 0,
                                        3 * hidden);
          Value dh = AddOp::create(
              b, loc,
              AddOp::create(b, loc, MatMulOp::create(b, loc, dNext, whh),
                            stepsOf(b, loc, carried[1], next, 1, true)),
              at(grads));
          Value rt = at(r), zt = at(z), nt = at(n);
          Value dn = tanhGrad(b, loc, MulOp::create(b, loc, dh, SubOp::create(b, loc, one, zt)),
                              nt, one);
          Value dz = sigmoidGrad(
              b, loc, MulOp::create(b, loc, dh, SubOp::create(b, loc, at(previous), nt)), zt, one);
          Value dr = sigmoidGrad(b, loc, MulOp::create(b, loc, dn, at(hn)), rt, one);
          Value dnr = MulOp::create(b, loc, dn, rt);
          Value dhz = MulOp::create(b, loc, dh, zt);
          Value d = carried[0];
          SmallVector<Value, 4> pieces{dr, dz, dnr, dn};
          for (auto [k, piece] : llvm::enumerate(pieces))
            d = withPiece(b, loc, d, piece, t, static_cast<int64_t>(k) * hidden);
          return SmallVector<Value>{d, withStep(b, loc, carried[1], dhz, t)};
        });
    return timeMajor(b, loc, stepsOf(b, loc, seqs[0], b.getIndexAttr(0), count, false));
  }
};

/// ATen's CPU layer norm: mean and the biased variance over the last dim,
/// rstd = 1 / sqrt(var + eps), y = (x * rstd + (-rstd * mean)) * w + b.
struct DecomposeLayerNorm : Decomposition<LayerNormOp> {
  using Decomposition::Decomposition;
  Value build(LayerNormOp op, PatternRewriter &b, Location loc) const override {
    Value x = op.getInput();
    SmallVector<int64_t> lastDim{typeOf(x).getRank() - 1};
    Moments m = momentsOf(b, loc, x, lastDim);
    Value rstd = inverseStd(b, loc, m.var, op.getEps().convertToDouble());
    Value shift = MulOp::create(b, loc, NegOp::create(b, loc, rstd), m.mean);
    Value normalized = AddOp::create(b, loc, MulOp::create(b, loc, x, rstd), shift);
    return AddOp::create(b, loc, MulOp::create(b, loc, normalized, op.getWeight()), op.getBias());
  }
};

/// mean(|x - y|) over every element, as l1_loss.
struct DecomposeL1Loss : Decomposition<L1LossOp> {
  using Decomposition::Decomposition;
  Value build(L1LossOp op, PatternRewriter &b, Location loc) const override {
    Value d = SubOp::create(b, loc, op.getInput(), op.getTarget());
    return MeanOp::create(b, loc, AbsOp::create(b, loc, d), ArrayRef<int64_t>{}, false);
  }
};

/// Batch norm as PyTorch's CPU kernel computes it: per channel alpha =
/// weight * invstd and beta = bias - mean * alpha, then x * alpha + beta.
Value normalize(PatternRewriter &b, Location loc, Value x, Value weight, Value bias, Value mean,
                Value invstd) {
  Value alpha = MulOp::create(b, loc, weight, invstd);
  Value beta = SubOp::create(b, loc, bias, MulOp::create(b, loc, mean, alpha));
  return AddOp::create(b, loc, MulOp::create(b, loc, x, perChannel(b, loc, alpha, x)),
                       perChannel(b, loc, beta, x));
}

/// Eval mode: the running statistics.
struct DecomposeBatchNorm : Decomposition<BatchNormOp> {
  using Decomposition::Decomposition;
  Value build(BatchNormOp op, PatternRewriter &b, Location loc) const override {
    Value invstd = inverseStd(b, loc, op.getRunningVar(), op.getEps().convertToDouble());
    return normalize(b, loc, op.getInput(), op.getWeight(), op.getBias(), op.getRunningMean(),
                     invstd);
  }
};

/// Train mode: the batch's mean and biased variance normalize; the running
/// statistics move by momentum towards the batch's mean and unbiased
/// variance (sum of squares / (count - 1)), as torch.batch_norm does.
struct DecomposeBatchNormTrain : OpRewritePattern<BatchNormTrainOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormTrainOp op, PatternRewriter &b) const override {
    Location loc = pieceLoc(op.getLoc());
    Value x = op.getInput();
    SmallVector<int64_t> dims = batchNormDims(x);
    Value count = countOf(b, loc, x, dims);
    Value mean = DivOp::create(b, loc, SumOp::create(b, loc, x, dims, false), count);
    Value centered = SubOp::create(b, loc, x, perChannel(b, loc, mean, x));
    Value squares = SumOp::create(b, loc, MulOp::create(b, loc, centered, centered), dims, false);
    Value var = DivOp::create(b, loc, squares, count);
    Value y = normalize(b, loc, x, op.getWeight(), op.getBias(), mean,
                        inverseStd(b, loc, var, op.getEps().convertToDouble()));
    double m = op.getMomentum().convertToDouble();
    auto moved = [&](Value running, Value batch) {
      return AddOp::create(b, loc, MulOp::create(b, loc, batch, scalarLike(b, loc, batch, m)),
                           MulOp::create(b, loc, running, scalarLike(b, loc, running, 1 - m)));
    };
    Value unbiased = DivOp::create(
        b, loc, squares, SubOp::create(b, loc, count, scalarLike(b, loc, count, 1.0)));
    Value n = op.getNumBatchesTracked();
    Value results[] = {y, moved(op.getRunningMean(), mean), moved(op.getRunningVar(), unbiased),
                       AddOp::create(b, loc, n, scalarLike(b, loc, n, 1.0))};
    results[0].getDefiningOp()->setLoc(op.getLoc());
    b.replaceOp(op, results);
    return success();
  }
};

struct DecomposePass : public kiln::impl::DecomposeBase<DecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeLinear, DecomposeSoftmax, DecomposeLogSoftmax, DecomposeMse,
                 DecomposeBceWithLogits, DecomposeCrossEntropy, DecomposeCrossEntropyGrad,
                 DecomposeConv2d, DecomposeConv2dInputGrad, DecomposeConv2dWeightGrad,
                 DecomposeRNN, DecomposeRNNStepGrad,
                 DecomposeL1Loss, DecomposeBatchNorm, DecomposeBatchNormTrain>(
        &getContext());
    patterns.add<DecomposeLSTM, DecomposeLSTMStepGrad, DecomposeGRU, DecomposeGRUStepGrad,
                 DecomposeLayerNorm>(&getContext());
    GreedyRewriteConfig config;
    config.enableFolding(false); // decompose only: canonicalization comes later
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
