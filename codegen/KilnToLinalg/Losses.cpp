// Losses and metrics that pick each sample's class: nll_loss, accuracy and
// one_hot. (mse, bce_with_logits and cross_entropy are decomposed into
// element-wise ops, log_softmax and nll_loss first.)
#include "codegen/KilnToLinalg/Builders.h"

#include <cmath>

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// The mean over rows of `term(row scalars)` (of type `elem`), as a scalar:
/// summed in the accumulator type (f64 for f32) and rounded once.
Value meanOverRows(Emitter &e, ValueRange rows, Type elem, BodyFn term) {
  Type acc = accumulatorType(elem);
  Value sum = e.reduce(rows.front(), {0}, e.scalar(acc, 0.0),
                       [&](OpBuilder &b, Location l, ValueRange xs, Value total) -> Value {
                         Value x = castScalar(b, l, term(b, l, xs), elem, acc);
                         return arith::AddFOp::create(b, l, total, x);
                       },
                       rows.drop_front());
  Value n = e.toFloat(e.dim(rows.front(), 0), acc);
  Value mean = arith::DivFOp::create(e.b, e.loc, e.extractScalar(sum), n);
  return castScalar(e.b, e.loc, mean, acc, elem);
}

Value nan(OpBuilder &b, Location l, Type elem) {
  return arith::ConstantOp::create(b, l, b.getFloatAttr(elem, std::nan("")));
}

/// -mean(x[n, t[n]]); a class index out of range gives NaN.
struct LowerNllLoss : KilnPattern<NllLossOp> {
  using KilnPattern::KilnPattern;
  Value lower(NllLossOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Value x = adaptor.getInput();
    Type elem = type.getElementType();
    bool u = isUnsigned(op.getTarget().getType());
    Value classes = e.dim(x, 1);
    Value mean = meanOverRows(e, ValueRange{adaptor.getTarget()}, elem,
                              [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                Value n = linalg::IndexOp::create(b, l, 0);
                                auto [t, valid] = classIndex(b, l, a[0], u, classes);
                                Value picked = tensor::ExtractOp::create(b, l, x, ValueRange{n, t});
                                return arith::SelectOp::create(b, l, valid, picked, nan(b, l, elem));
                              });
    return e.toTensor(arith::NegFOp::create(e.b, e.loc, mean));
  }
};

/// The fraction of samples whose first largest logit is their class.
struct LowerAccuracy : KilnPattern<AccuracyOp> {
  using KilnPattern::KilnPattern;
  Value lower(AccuracyOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    bool u = isUnsigned(op.getTarget().getType());
    Value predicted = argmax(e, adaptor.getInput(), 1, isUnsigned(op.getInput().getType()));
    Value classes = e.dim(adaptor.getInput(), 1);
    Type elem = type.getElementType();
    return e.toTensor(meanOverRows(e, ValueRange{predicted, adaptor.getTarget()}, elem,
                        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                          auto [t, valid] = classIndex(b, l, v[1], u, classes);
                          Value p = arith::IndexCastOp::create(b, l, b.getIndexType(), v[0]);
                          Value hit = arith::AndIOp::create(
                              b, l, valid, arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, p, t));
                          return arith::UIToFPOp::create(b, l, elem, hit);
                        }));
  }
};

/// 1 where the column is the row's class, else 0; NaN rows for bad classes.
struct LowerOneHot : KilnPattern<OneHotOp> {
  using KilnPattern::KilnPattern;
  Value lower(OneHotOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    bool u = isUnsigned(op.getTarget().getType());
    Type elem = type.getElementType();
    Value classes = e.index(type.getDimSize(1));
    auto rows = AffineMap::get(2, 0, {e.b.getAffineDimExpr(0)}, e.b.getContext());
    return e.generic(type, e.batchOf(type, adaptor.getTarget()), ValueRange{adaptor.getTarget()},
                     {rows}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       auto [t, valid] = classIndex(b, l, a[0], u, classes);
                       Value j = linalg::IndexOp::create(b, l, 1);
                       Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, j, t);
                       Value one = arith::UIToFPOp::create(b, l, elem, hit);
                       return arith::SelectOp::create(b, l, valid, one, nan(b, l, elem));
                     });
  }
};

} // namespace

void populateLossPatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerNllLoss, LowerAccuracy, LowerOneHot>(converter, patterns.getContext());
}

} // namespace kiln::lowering
