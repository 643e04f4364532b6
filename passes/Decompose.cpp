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

/// 1 / sqrt(var + eps).
Value inverseStd(PatternRewriter &b, Location loc, Value var, double eps) {
  return DivOp::create(b, loc, scalarLike(b, loc, var, 1.0),
                       SqrtOp::create(b, loc, AddOp::create(b, loc, var, scalarLike(b, loc, var, eps))));
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
    GreedyRewriteConfig config;
    config.enableFolding(false); // decompose only: canonicalization comes later
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
