// Recurrence: rnn and its backprop through time, each an scf.for over the
// time steps whose body is matrix products and element-wise ops.
#include "codegen/KilnToLinalg/Builders.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// The [N, H] slice of a time-major [T, N, H] tensor at step `t`.
Value stepOf(Emitter &e, Value seq, Value t) {
  OpBuilder &b = e.b;
  RankedTensorType st = e.typeOf(seq);
  auto type = RankedTensorType::get({st.getDimSize(1), st.getDimSize(2)}, st.getElementType());
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), e.dim(seq, 1), b.getIndexAttr(st.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, e.loc, type, seq, offsets, sizes, strides);
}

Value setStep(Emitter &e, Value seq, Value step, Value t) {
  OpBuilder &b = e.b;
  RankedTensorType st = e.typeOf(seq);
  SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), e.dim(seq, 1), b.getIndexAttr(st.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, e.loc, step, seq, offsets, sizes, strides);
}

/// Runs `body(t, carried...) -> carried...` for t = 0 .. steps-1 as an scf.for.
SmallVector<Value> loop(Emitter &e, int64_t steps, ValueRange init,
                               function_ref<SmallVector<Value>(Emitter &, Value, ValueRange)> body) {
  auto op = scf::ForOp::create(e.b, e.loc, e.index(0), e.index(steps), e.index(1), init,
                               [&](OpBuilder &nb, Location l, Value t, ValueRange carried) {
                                 Emitter inner(nb, l);
                                 scf::YieldOp::create(nb, l, body(inner, t, carried));
                               });
  return SmallVector<Value>(op.getResults());
}

/// Steps [from, from + steps) of a time-major sequence.
Value steps(Emitter &e, Value seq, int64_t from, int64_t count) {
  OpBuilder &b = e.b;
  RankedTensorType st = e.typeOf(seq);
  auto type = RankedTensorType::get({count, st.getDimSize(1), st.getDimSize(2)}, st.getElementType());
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(from), b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(count), e.dim(seq, 1), b.getIndexAttr(st.getDimSize(2))};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, e.loc, type, seq, offsets, sizes, strides);
}

/// h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh): the input
/// projection of every step is one GEMM; the recurrence is a loop over T of
/// [N, H] x [H, H] GEMMs. States live time-major in [T + 1, N, H] with
/// h_{-1} = 0 at step 0, so each step is contiguous and the loop carries
/// one tensor that it updates in place.
Value rnn(Emitter &e, Value x, Value wih, Value whh, Value bih, Value bhh,
                 RankedTensorType type) {
  OpBuilder &b = e.b;
  RankedTensorType xt = e.typeOf(x);
  Type elem = type.getElementType();
  int64_t count = xt.getDimSize(1), features = xt.getDimSize(2), hidden = type.getDimSize(2);
  int64_t n = xt.getDimSize(0);
  int64_t rows = product(n, count);
  Value timeMajor = e.reshape(e.transpose(x, {1, 0, 2}), RankedTensorType::get({rows, features}, elem));
  auto rowsType = RankedTensorType::get({rows, hidden}, elem);
  auto byColumn = AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
  auto spread = [&](Emitter &at, Value bias, RankedTensorType t, Value like) {
    return at.generic(t, at.batchOf(t, like), ValueRange{bias}, {byColumn},
                      [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  };
  Value projected = e.matmul2d(timeMajor, e.transpose(wih, {1, 0}), spread(e, bih, rowsType, timeMajor));
  Value pre = e.reshape(projected, RankedTensorType::get({count, n, hidden}, elem));
  Value whhT = e.transpose(whh, {1, 0});
  auto stateType = RankedTensorType::get({n, hidden}, elem);
  auto seqType = RankedTensorType::get({count + 1, n, hidden}, elem);
  SmallVector<Value> batch;
  if (ShapedType::isDynamic(n))
    batch.push_back(e.dim(x, 0));
  Value seq = e.filled(seqType, batch, e.scalar(elem, 0.0));
  auto result = loop(e, count, {seq}, [&](Emitter &le, Value t, ValueRange carried) {
    Value previous = stepOf(le, carried[0], t);
    Value recurrent = le.matmul2d(previous, whhT, spread(le, bhh, stateType, previous));
    Value h = le.broadcastGeneric(stateType, ValueRange{stepOf(le, pre, t), recurrent},
                                  [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                    return math::TanhOp::create(nb, l, arith::AddFOp::create(nb, l, a[0], a[1]));
                                  });
    Value next = arith::AddIOp::create(le.b, le.loc, t, le.index(1));
    return SmallVector<Value>{setStep(le, carried[0], h, next)};
  });
  return e.transpose(steps(e, result[0], 1, count), {1, 0, 2});
}

/// Backprop through time, t = T-1 .. 0: d_t = (g_t + d_{t+1} W_hh) * (1 - h_t^2),
/// in a time-major [T + 1, N, H] with d_T = 0.
Value rnnStepGrad(Emitter &e, Value states, Value g, Value whh) {
  RankedTensorType st = e.typeOf(states);
  Type elem = st.getElementType();
  int64_t count = st.getDimSize(1), n = st.getDimSize(0), hidden = st.getDimSize(2);
  Value hs = e.transpose(states, {1, 0, 2}), gs = e.transpose(g, {1, 0, 2});
  auto stateType = RankedTensorType::get({n, hidden}, elem);
  auto seqType = RankedTensorType::get({count + 1, n, hidden}, elem);
  Value seq = e.filled(seqType, e.batchOf(seqType, states), e.scalar(elem, 0.0));
  auto result = loop(e, count, {seq}, [&](Emitter &le, Value i, ValueRange carried) {
    Value t = arith::SubIOp::create(le.b, le.loc, le.index(count - 1), i);
    Value next = arith::AddIOp::create(le.b, le.loc, t, le.index(1));
    Value dh = le.matmul2d(stepOf(le, carried[0], next), whh, stepOf(le, gs, t));
    Value d = le.broadcastGeneric(stateType, ValueRange{dh, stepOf(le, hs, t)},
                                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                    Value one = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, 1.0));
                                    Value sq = arith::MulFOp::create(nb, l, a[1], a[1]);
                                    return arith::MulFOp::create(nb, l, a[0], arith::SubFOp::create(nb, l, one, sq));
                                  });
    return SmallVector<Value>{setStep(le, carried[0], d, t)};
  });
  return e.transpose(steps(e, result[0], 0, count), {1, 0, 2});
}

struct LowerRNN : KilnPattern<RNNOp> {
  using KilnPattern::KilnPattern;
  Value lower(RNNOp, Adaptor a, RankedTensorType type, Emitter &e) const override {
    return rnn(e, a.getInput(), a.getWeightIh(), a.getWeightHh(), a.getBiasIh(), a.getBiasHh(),
               type);
  }
};

struct LowerRNNStepGrad : KilnPattern<RNNStepGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(RNNStepGradOp, Adaptor a, RankedTensorType, Emitter &e) const override {
    return rnnStepGrad(e, a.getStates(), a.getGrad(), a.getWeightHh());
  }
};

} // namespace

void populateRecurrencePatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerRNN, LowerRNNStepGrad>(converter, patterns.getContext());
}

} // namespace kiln::lowering
