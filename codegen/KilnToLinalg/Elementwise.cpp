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

//===----------------------------------------------------------------------===//
// More expressions: pow, gelu, softplus, leaky_relu, clamp and their
// gradients, each ATen's CPU kernel in its order of operations
//===----------------------------------------------------------------------===//

Value constantLike(OpBuilder &b, Location l, Value x, double v) {
  Type t = x.getType();
  if (isa<FloatType>(t))
    return arith::ConstantOp::create(b, l, b.getFloatAttr(t, v));
  // u8 bounds above 127 keep their bits in the signless i8.
  APInt bits(t.getIntOrFloatBitWidth(), static_cast<uint64_t>(static_cast<int64_t>(v)),
             /*isSigned=*/true, /*implicitTrunc=*/true);
  return arith::ConstantOp::create(b, l, b.getIntegerAttr(t, bits));
}

/// ATen's pow with a number exponent: its special cases, else pow (f32 in
/// f64, as std::pow(float, double)); integers by repeated squaring.
Value powBody(PowOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0];
  double p = op.getExponent().convertToDouble();
  if (!isFloat(x)) {
    Value result = constantLike(b, l, x, 1), square = x;
    for (uint64_t k = static_cast<uint64_t>(p); k; k >>= 1) {
      if (k & 1)
        result = arith::MulIOp::create(b, l, result, square);
      if (k > 1)
        square = arith::MulIOp::create(b, l, square, square);
    }
    return result;
  }
  Value one = constantLike(b, l, x, 1.0);
  if (p == 0.0)
    return one;
  if (p == 1.0)
    return x;
  if (p == 0.5)
    return math::SqrtOp::create(b, l, x);
  if (p == -0.5)
    return arith::DivFOp::create(b, l, one, math::SqrtOp::create(b, l, x));
  if (p == -1.0)
    return arith::DivFOp::create(b, l, one, x);
  if (p == 2.0)
    return arith::MulFOp::create(b, l, x, x);
  if (p == 3.0)
    return arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, x, x), x);
  if (p == -2.0)
    return arith::DivFOp::create(b, l, one, arith::MulFOp::create(b, l, x, x));
  Type f64 = b.getF64Type();
  Value wide = x.getType() == f64 ? x : arith::ExtFOp::create(b, l, f64, x).getResult();
  Value r = math::PowFOp::create(b, l, wide, arith::ConstantOp::create(b, l, b.getF64FloatAttr(p)));
  return x.getType() == f64 ? r : arith::TruncFOp::create(b, l, x.getType(), r).getResult();
}

/// x * 0.5 * (1 + erf(x * M_SQRT1_2)).
Value geluBody(GeluOp, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0];
  Value cdf = arith::AddFOp::create(
      b, l, constantLike(b, l, x, 1.0),
      math::ErfOp::create(b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, M_SQRT1_2))));
  return arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, 0.5)),
                               cdf);
}

/// dy * (cdf + x * pdf), cdf = 0.5 * (1 + erf(x * M_SQRT1_2)),
/// pdf = kBeta * exp(x * x * -0.5), kBeta = M_2_SQRTPI * M_SQRT1_2 * 0.5.
Value geluGradBody(GeluGradOp, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0], dy = a[1];
  Value erf =
      math::ErfOp::create(b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, M_SQRT1_2)));
  Value cdf = arith::MulFOp::create(b, l, constantLike(b, l, x, 0.5),
                                    arith::AddFOp::create(b, l, constantLike(b, l, x, 1.0), erf));
  Value square = arith::MulFOp::create(b, l, x, x);
  Value e = math::ExpOp::create(b, l, arith::MulFOp::create(b, l, square, constantLike(b, l, x, -0.5)));
  Value pdf = arith::MulFOp::create(b, l, constantLike(b, l, x, M_2_SQRTPI * M_SQRT1_2 * 0.5), e);
  return arith::MulFOp::create(
      b, l, dy, arith::AddFOp::create(b, l, cdf, arith::MulFOp::create(b, l, x, pdf)));
}

/// x * beta > threshold ? x : log1p(exp(x * beta)) / beta.
Value softplusBody(SoftplusOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0];
  Value beta = constantLike(b, l, x, op.getBeta().convertToDouble());
  Value scaled = arith::MulFOp::create(b, l, x, beta);
  Value above = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, scaled,
                                      constantLike(b, l, x, op.getThreshold().convertToDouble()));
  Value soft = arith::DivFOp::create(
      b, l, math::Log1pOp::create(b, l, math::ExpOp::create(b, l, scaled)), beta);
  return arith::SelectOp::create(b, l, above, x, soft);
}

/// z = exp(x * beta); x * beta > threshold ? dy : dy * z / (z + 1).
Value softplusGradBody(SoftplusGradOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0], dy = a[1];
  Value scaled = arith::MulFOp::create(b, l, x, constantLike(b, l, x, op.getBeta().convertToDouble()));
  Value z = math::ExpOp::create(b, l, scaled);
  Value above = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, scaled,
                                      constantLike(b, l, x, op.getThreshold().convertToDouble()));
  Value soft = arith::DivFOp::create(b, l, arith::MulFOp::create(b, l, dy, z),
                                     arith::AddFOp::create(b, l, z, constantLike(b, l, x, 1.0)));
  return arith::SelectOp::create(b, l, above, dy, soft);
}

/// x > 0 ? x : x * negative_slope.
Value leakyReluBody(LeakyReluOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0];
  Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zeroLike(b, l, x));
  Value slope = constantLike(b, l, x, op.getNegativeSlope().convertToDouble());
  return arith::SelectOp::create(b, l, positive, x, arith::MulFOp::create(b, l, x, slope));
}

/// x > 0 ? dy : dy * negative_slope.
Value leakyReluGradBody(LeakyReluGradOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0], dy = a[1];
  Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zeroLike(b, l, x));
  Value slope = constantLike(b, l, x, op.getNegativeSlope().convertToDouble());
  return arith::SelectOp::create(b, l, positive, dy, arith::MulFOp::create(b, l, dy, slope));
}

/// min(max(x, min), max), NaN propagating, either bound left out.
Value clampBody(ClampOp op, OpBuilder &b, Location l, ValueRange a) {
  bool u = isUnsigned(op.getType());
  Value x = a[0];
  if (auto lo = op.getMin())
    x = maxScalar(b, l, x, constantLike(b, l, x, lo->convertToDouble()), u);
  if (auto hi = op.getMax())
    x = minScalar(b, l, x, constantLike(b, l, x, hi->convertToDouble()), u);
  return x;
}

/// dy where min <= x <= max, else 0.
Value clampGradBody(ClampGradOp op, OpBuilder &b, Location l, ValueRange a) {
  Value x = a[0], dy = a[1];
  bool u = isUnsigned(op.getType());
  auto compare = [&](bool atLeast, double bound) -> Value {
    Value c = constantLike(b, l, x, bound);
    if (isFloat(x))
      return arith::CmpFOp::create(b, l, atLeast ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OLE,
                                   x, c);
    auto pred = atLeast ? (u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                        : (u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle);
    return arith::CmpIOp::create(b, l, pred, x, c);
  };
  Value inside;
  if (auto lo = op.getMin())
    inside = compare(true, lo->convertToDouble());
  if (auto hi = op.getMax()) {
    Value below = compare(false, hi->convertToDouble());
    inside = inside ? arith::AndIOp::create(b, l, inside, below).getResult() : below;
  }
  return arith::SelectOp::create(b, l, inside, dy, zeroLike(b, l, dy));
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
/// With an `offset` (data parallelism) and a batch-leading input, i counts
/// from offset samples on: the element's index in the global batch.
/// The seed and offset are the generic's 0-d inputs, read inside it: on the
/// GPU the kernel reads them, so the host neither waits to read them nor
/// passes a new key each step (which would make every step a new CUDA
/// graph); on the CPU LLVM hoists what does not change.
struct LowerDropout : KilnPattern<DropoutOp> {
  using KilnPattern::KilnPattern;
  Value lower(DropoutOp op, Adaptor adaptor, RankedTensorType t, Emitter &e) const override {
    Value x = adaptor.getInput();
    if (!adaptor.getSeed())
      return x;
    OpBuilder &b = e.b;
    double p = op.getP().convertToDouble();
    Type elem = t.getElementType(), i64 = b.getI64Type();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < t.getRank(); ++d)
      sizes.push_back(e.dim(x, d));
    bool withOffset = adaptor.getOffset() && t.getRank() > 0 && t.isDynamicDim(0);
    SmallVector<Value> inputs = {x, adaptor.getSeed()};
    AffineMap scalar = AffineMap::get(t.getRank(), 0, {}, b.getContext());
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(t.getRank()), scalar};
    if (withOffset) {
      inputs.push_back(adaptor.getOffset());
      maps.push_back(scalar);
    }
    int64_t threshold = std::llround(p * double(1 << 24));
    double scale = 1.0 / (1.0 - p);
    return e.generic(t, e.sizesOf(t, x), inputs, maps,
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       auto c = [&](uint64_t v) -> Value {
                         return arith::ConstantOp::create(nb, l, nb.getI64IntegerAttr(int64_t(v)));
                       };
                       Value s = arith::FPToUIOp::create(nb, l, i64, a[1]);
                       Value key = arith::AddIOp::create(
                           nb, l, arith::MulIOp::create(nb, l, s, c(0x9E3779B97F4A7C15ULL)),
                           c(uint64_t(op.getSalt()) * 0xD1B54A32D192ED03ULL));
                       if (withOffset) {
                         Value perSample = c(1);
                         for (int64_t d = 1; d < t.getRank(); ++d)
                           perSample = arith::MulIOp::create(
                               nb, l, perSample, arith::IndexCastOp::create(nb, l, i64, sizes[d]));
                         Value first = arith::FPToUIOp::create(nb, l, i64, a[2]);
                         key = arith::AddIOp::create(nb, l, key,
                                                     arith::MulIOp::create(nb, l, first, perSample));
                       }
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
  patterns.add<LowerElementwise<PowOp, powBody>, LowerElementwise<GeluOp, geluBody>,
               LowerElementwise<GeluGradOp, geluGradBody>,
               LowerElementwise<SoftplusOp, softplusBody>,
               LowerElementwise<SoftplusGradOp, softplusGradBody>,
               LowerElementwise<LeakyReluOp, leakyReluBody>,
               LowerElementwise<LeakyReluGradOp, leakyReluGradBody>,
               LowerElementwise<ClampOp, clampBody>, LowerElementwise<ClampGradOp, clampGradBody>>(
      converter, patterns.getContext());
}

} // namespace kiln::lowering
