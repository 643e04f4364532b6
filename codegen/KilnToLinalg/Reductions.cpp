// Reductions: sum, mean, max, argmax and max's gradient; each reduced dim
// becomes a reduction iterator. (softmax is decomposed into these first.)
#include "codegen/KilnToLinalg/Builders.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// sum and mean: every dim listed (all when `dims` is empty), then the
/// keepdim shape by a reshape. An f32 sum accumulates in f64 and rounds
/// once at the end: summed one by one in f32, 20M ones stop growing at
/// 2^24; PyTorch's cascade sum keeps such sums to about 1e-7, and this
/// keeps them closer still, the same for any thread count.
template <typename Op>
struct LowerSumMean : KilnPattern<Op> {
  using KilnPattern<Op>::KilnPattern;
  Value lower(Op op, typename KilnPattern<Op>::Adaptor adaptor, RankedTensorType type,
              Emitter &e) const override {
    Value in = adaptor.getInput();
    Type elem = type.getElementType();
    ArrayRef<int64_t> dims = op.getDims();
    SmallVector<int64_t> all;
    for (int64_t d = 0; d < e.typeOf(in).getRank(); ++d)
      if (dims.empty() || llvm::is_contained(dims, d))
        all.push_back(d);
    Type acc = accumulatorType(elem);
    Value sum = e.reduce(in, all, e.scalar(acc, 0.0),
                         [&](OpBuilder &b, Location l, ValueRange xs, Value total) {
                           return addScalar(b, l, total, castScalar(b, l, xs[0], elem, acc));
                         });
    Value n;
    if (std::is_same_v<Op, MeanOp>) {
      Value count = e.index(1);
      for (int64_t d : all)
        count = arith::MulIOp::create(e.b, e.loc, count, e.dim(in, d));
      n = e.toFloat(count, acc);
    }
    if (n || acc != elem) { // divide by the count, round to the result's type
      RankedTensorType st = e.typeOf(sum);
      sum = e.generic(RankedTensorType::get(st.getShape(), elem), e.sizesOf(st, sum),
                      ValueRange{sum}, {e.b.getMultiDimIdentityMap(st.getRank())},
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        Value x = n ? arith::DivFOp::create(b, l, a[0], n).getResult() : a[0];
                        return castScalar(b, l, x, acc, elem);
                      });
    }
    return e.reshape(sum, type);
  }
};

struct LowerMax : KilnPattern<MaxOp> {
  using KilnPattern::KilnPattern;
  Value lower(MaxOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    bool u = isUnsigned(op.getInput().getType());
    Value r = e.reduce(adaptor.getInput(), {static_cast<int64_t>(op.getDim())},
                       lowest(e, type.getElementType(), u),
                       [&](OpBuilder &b, Location l, ValueRange xs, Value acc) {
                         return maxScalar(b, l, xs[0], acc, u);
                       });
    return e.reshape(r, type);
  }
};

struct LowerArgMax : KilnPattern<ArgMaxOp> {
  using KilnPattern::KilnPattern;
  Value lower(ArgMaxOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    return e.reshape(argmax(e, adaptor.getInput(), op.getDim(), isUnsigned(op.getInput().getType())),
                     type);
  }
};

/// grad at the first largest element along `dim`, 0 elsewhere.
struct LowerMaxGrad : KilnPattern<MaxGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(MaxGradOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    int64_t dim = op.getDim();
    Value in = adaptor.getInput();
    Value where = argmax(e, in, dim, isUnsigned(op.getInput().getType()));
    AffineMap dropped = e.droppedMap(type.getRank(), {dim});
    return e.generic(type, e.sizesOf(type, in), ValueRange{adaptor.getGrad(), where},
                     {dropped, dropped}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       Value i = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                            linalg::IndexOp::create(b, l, dim));
                       Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i, a[1]);
                       Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(a[0].getType()));
                       return arith::SelectOp::create(b, l, hit, a[0], zero);
                     });
  }
};

/// min along `dim`, and its gradient: grad at the first smallest element.
struct LowerMin : KilnPattern<MinOp> {
  using KilnPattern::KilnPattern;
  Value lower(MinOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    bool u = isUnsigned(op.getInput().getType());
    Value r = e.reduce(adaptor.getInput(), {static_cast<int64_t>(op.getDim())},
                       highest(e, type.getElementType(), u),
                       [&](OpBuilder &b, Location l, ValueRange xs, Value acc) {
                         return minScalar(b, l, xs[0], acc, u);
                       });
    return e.reshape(r, type);
  }
};

struct LowerMinGrad : KilnPattern<MinGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(MinGradOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    int64_t dim = op.getDim();
    Value in = adaptor.getInput();
    Value where = argmin(e, in, dim, isUnsigned(op.getInput().getType()));
    AffineMap dropped = e.droppedMap(type.getRank(), {dim});
    return e.generic(type, e.sizesOf(type, in), ValueRange{adaptor.getGrad(), where},
                     {dropped, dropped}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       Value i = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                            linalg::IndexOp::create(b, l, dim));
                       Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i, a[1]);
                       Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(a[0].getType()));
                       return arith::SelectOp::create(b, l, hit, a[0], zero);
                     });
  }
};

} // namespace

void populateReductionPatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerSumMean<SumOp>, LowerSumMean<MeanOp>, LowerMax, LowerArgMax, LowerMaxGrad>(
      converter, patterns.getContext());
  patterns.add<LowerMin, LowerMinGrad>(converter, patterns.getContext());
}

} // namespace kiln::lowering
