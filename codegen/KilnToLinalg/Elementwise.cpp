// Element-wise ops, constants and dropout: one linalg.generic each, with
// NumPy broadcasting as indexing maps (upstream fusion joins chains later).
#include "codegen/KilnToLinalg/Builders.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// An element-wise op: `body(op, b, loc, elements)` computes one result
/// element from one element of each (broadcast) operand.
template <typename Op, Value (*body)(Op, OpBuilder &, Location, ValueRange)>
struct LowerElementwise : KilnPattern<Op> {
  using KilnPattern<Op>::KilnPattern;
  Value lower(Op op, typename KilnPattern<Op>::Adaptor adaptor, RankedTensorType type,
              Emitter &e) const override {
    return e.broadcastGeneric(type, adaptor.getOperands(),
                              [&](OpBuilder &b, Location l, ValueRange a) { return body(op, b, l, a); });
  }
};

Value zeroLike(OpBuilder &b, Location l, Value x) {
  return arith::ConstantOp::create(b, l, b.getZeroAttr(x.getType()));
}
bool isFloat(Value x) { return isa<FloatType>(x.getType()); }

Value addBody(AddOp, OpBuilder &b, Location l, ValueRange a) { return addScalar(b, l, a[0], a[1]); }
Value subBody(SubOp, OpBuilder &b, Location l, ValueRange a) {
  if (isFloat(a[0]))
    return arith::SubFOp::create(b, l, a[0], a[1]);
  return arith::SubIOp::create(b, l, a[0], a[1]);
}
Value mulBody(MulOp, OpBuilder &b, Location l, ValueRange a) {
  if (isFloat(a[0]))
    return arith::MulFOp::create(b, l, a[0], a[1]);
  return arith::MulIOp::create(b, l, a[0], a[1]);
}
Value divBody(DivOp, OpBuilder &b, Location l, ValueRange a) {
  return arith::DivFOp::create(b, l, a[0], a[1]); // the verifier admits floats only
}
Value negBody(NegOp, OpBuilder &b, Location l, ValueRange a) {
  if (isFloat(a[0]))
    return arith::NegFOp::create(b, l, a[0]);
  return arith::SubIOp::create(b, l, zeroLike(b, l, a[0]), a[0]);
}
Value absBody(AbsOp, OpBuilder &b, Location l, ValueRange a) {
  if (isFloat(a[0]))
    return math::AbsFOp::create(b, l, a[0]);
  return math::AbsIOp::create(b, l, a[0]);
}
Value reluBody(ReluOp op, OpBuilder &b, Location l, ValueRange a) {
  return maxScalar(b, l, a[0], zeroLike(b, l, a[0]), isUnsigned(op.getType()));
}
Value sigmoidBody(SigmoidOp, OpBuilder &b, Location l, ValueRange a) {
  Value one = arith::ConstantOp::create(b, l, b.getFloatAttr(a[0].getType(), 1.0));
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]));
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
}
/// x / (1 + exp(-x)): ATen's silu, in its order of operations.
Value siluBody(SiluOp, OpBuilder &b, Location l, ValueRange a) {
  Value one = arith::ConstantOp::create(b, l, b.getFloatAttr(a[0].getType(), 1.0));
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]));
  return arith::DivFOp::create(b, l, a[0], arith::AddFOp::create(b, l, one, e));
}
Value tanhBody(TanhOp, OpBuilder &b, Location l, ValueRange a) { return math::TanhOp::create(b, l, a[0]); }
Value expBody(ExpOp, OpBuilder &b, Location l, ValueRange a) { return math::ExpOp::create(b, l, a[0]); }
Value logBody(LogOp, OpBuilder &b, Location l, ValueRange a) { return math::LogOp::create(b, l, a[0]); }
Value sqrtBody(SqrtOp, OpBuilder &b, Location l, ValueRange a) { return math::SqrtOp::create(b, l, a[0]); }
Value log1pBody(Log1pOp, OpBuilder &b, Location l, ValueRange a) { return math::Log1pOp::create(b, l, a[0]); }

/// -1, 0 or 1 by the sign of x.
Value signBody(SignOp, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0];
  Type t = x.getType();
  Value zero = zeroLike(b, l, x), one, minusOne, positive, negative;
  if (auto f = dyn_cast<FloatType>(t)) {
    one = arith::ConstantOp::create(b, l, b.getFloatAttr(f, 1.0));
    minusOne = arith::ConstantOp::create(b, l, b.getFloatAttr(f, -1.0));
    positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero);
    negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, zero);
  } else {
    one = arith::ConstantOp::create(b, l, b.getIntegerAttr(t, 1));
    minusOne = arith::ConstantOp::create(b, l, b.getIntegerAttr(t, -1));
    positive = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, x, zero);
    negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, x, zero);
  }
  return arith::SelectOp::create(b, l, positive, one,
                                 arith::SelectOp::create(b, l, negative, minusOne, zero));
}

Value castBody(CastOp op, OpBuilder &b, Location l, ValueRange a) {
  return castScalar(b, l, a[0], op.getInput().getType().getElementType(),
                    op.getType().getElementType());
}

/// grad where the relu's input is positive (as threshold_backward).
Value reluGradBody(ReluGradOp, OpBuilder &b, Location l, ValueRange a) {
  Value zero = zeroLike(b, l, a[0]);
  Value positive = isFloat(a[0])
                       ? arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a[0], zero).getResult()
                       : arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, a[0], zero).getResult();
  return arith::SelectOp::create(b, l, positive, a[1], zero);
}

struct LowerConstant : KilnPattern<ConstantOp> {
  using KilnPattern::KilnPattern;
  Value lower(ConstantOp op, Adaptor, RankedTensorType type, Emitter &e) const override {
    auto value = cast<DenseElementsAttr>(op.getValue());
    if (value.getElementType() != type.getElementType())
      value = value.bitcast(type.getElementType()); // u8 -> i8
    return arith::ConstantOp::create(e.b, e.loc, type, value);
  }
};

struct LowerFill : KilnPattern<FillOp> {
  using KilnPattern::KilnPattern;
  Value lower(FillOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    return e.filled(type, adaptor.getDynamicSizes(),
                    e.scalar(type.getElementType(), op.getValue().convertToDouble()));
  }
};

struct LowerBroadcastLike : KilnPattern<BroadcastLikeOp> {
  using KilnPattern::KilnPattern;
  Value lower(BroadcastLikeOp, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Value in = adaptor.getInput();
    return e.generic(type, e.sizesOf(type, adaptor.getLike()), ValueRange{in},
                     {e.broadcastMap(e.typeOf(in).getShape(), type.getShape())},
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }
};

/// splitmix64's finalizer: a well-mixed 64-bit hash of `z`.
Value mix64(OpBuilder &b, Location l, Value z) {
  auto c = [&](uint64_t v) -> Value {
    return arith::ConstantOp::create(b, l, b.getI64IntegerAttr(int64_t(v)));
  };
  auto xorShift = [&](Value v, uint64_t k) -> Value {
    return arith::XOrIOp::create(b, l, v, arith::ShRUIOp::create(b, l, v, c(k)));
  };
  z = arith::MulIOp::create(b, l, xorShift(z, 30), c(0xBF58476D1CE4E5B9ULL));
  z = arith::MulIOp::create(b, l, xorShift(z, 27), c(0x94D049BB133111EBULL));
  return xorShift(z, 31);
}

/// Without a seed, the identity (evaluation and prediction). With one, the
/// training dropout: element i (row-major) is kept when the top 24 bits of
/// mix64(seed * phi + salt * c + i) reach p * 2^24, and scaled by 1/(1-p).
/// A pure function of (seed, salt, i): the gradient recomputes the mask.
struct LowerDropout : KilnPattern<DropoutOp> {
  using KilnPattern::KilnPattern;
  Value lower(DropoutOp op, Adaptor adaptor, RankedTensorType t, Emitter &e) const override {
    Value x = adaptor.getInput();
    if (!adaptor.getSeed())
      return x;
    OpBuilder &b = e.b;
    double p = op.getP().convertToDouble();
    Type elem = t.getElementType(), i64 = b.getI64Type();
    auto c = [&](uint64_t v) -> Value {
      return arith::ConstantOp::create(b, e.loc, b.getI64IntegerAttr(int64_t(v)));
    };
    Value s = arith::FPToUIOp::create(b, e.loc, i64, e.extractScalar(adaptor.getSeed()));
    Value key = arith::AddIOp::create(
        b, e.loc, arith::MulIOp::create(b, e.loc, s, c(0x9E3779B97F4A7C15ULL)),
        c(uint64_t(op.getSalt()) * 0xD1B54A32D192ED03ULL));
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < t.getRank(); ++d)
      sizes.push_back(e.dim(x, d));
    int64_t threshold = std::llround(p * double(1 << 24));
    double scale = 1.0 / (1.0 - p);
    return e.generic(t, e.sizesOf(t, x), ValueRange{x}, {b.getMultiDimIdentityMap(t.getRank())},
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value flat = arith::ConstantIndexOp::create(nb, l, 0);
                       for (int64_t d = 0; d < t.getRank(); ++d)
                         flat = arith::AddIOp::create(
                             nb, l, arith::MulIOp::create(nb, l, flat, sizes[d]),
                             linalg::IndexOp::create(nb, l, d));
                       Value i = arith::IndexCastOp::create(nb, l, i64, flat);
                       Value h = mix64(nb, l, arith::AddIOp::create(nb, l, key, i));
                       Value top = arith::ShRUIOp::create(
                           nb, l, h, arith::ConstantOp::create(nb, l, nb.getI64IntegerAttr(40)));
                       Value keep = arith::CmpIOp::create(
                           nb, l, arith::CmpIPredicate::uge, top,
                           arith::ConstantOp::create(nb, l, nb.getI64IntegerAttr(threshold)));
                       Value scaled = arith::MulFOp::create(
                           nb, l, a[0], arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, scale)));
                       return arith::SelectOp::create(nb, l, keep, scaled, zeroLike(nb, l, a[0]));
                     });
  }
};

} // namespace

void populateElementwisePatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerElementwise<AddOp, addBody>, LowerElementwise<SubOp, subBody>,
               LowerElementwise<MulOp, mulBody>, LowerElementwise<DivOp, divBody>,
               LowerElementwise<NegOp, negBody>, LowerElementwise<AbsOp, absBody>,
               LowerElementwise<ReluOp, reluBody>, LowerElementwise<SigmoidOp, sigmoidBody>, LowerElementwise<SiluOp, siluBody>,
               LowerElementwise<TanhOp, tanhBody>, LowerElementwise<ExpOp, expBody>,
               LowerElementwise<LogOp, logBody>, LowerElementwise<SqrtOp, sqrtBody>,
               LowerElementwise<Log1pOp, log1pBody>,
               LowerElementwise<SignOp, signBody>, LowerElementwise<CastOp, castBody>,
               LowerElementwise<ReluGradOp, reluGradBody>, LowerConstant, LowerFill,
               LowerBroadcastLike, LowerDropout>(converter, patterns.getContext());
}

} // namespace kiln::lowering
