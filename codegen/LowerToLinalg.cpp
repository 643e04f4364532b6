// kiln-lower-to-linalg: the kiln dialect becomes linalg on tensors.
//
// One conversion pattern handles every kiln op, so the shared pieces
// (broadcast maps, reductions, reshapes) stay in one place. Unsigned element
// types become signless integers on the way; the original op still says
// whether an integer was unsigned.
#include "codegen/Passes.h"
#include "ir/KilnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

namespace kiln {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;
using CombineFn = function_ref<Value(OpBuilder &, Location, ValueRange, Value)>;

bool isUnsigned(Type tensorType) {
  return cast<RankedTensorType>(tensorType).getElementType().isUnsignedInteger();
}

/// Builds the linalg pieces for one kiln op at one location.
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value dim(Value tensor, int64_t d) {
    int64_t size = typeOf(tensor).getDimSize(d);
    if (!ShapedType::isDynamic(size))
      return index(size);
    return tensor::DimOp::create(b, loc, tensor, d);
  }

  Value scalar(Type type, double v) {
    if (auto f = dyn_cast<FloatType>(type))
      return arith::ConstantOp::create(b, loc, b.getFloatAttr(f, v));
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(v)));
  }

  Value toFloat(Value indexValue, Type floatType) {
    Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), indexValue);
    return arith::SIToFPOp::create(b, loc, floatType, i64);
  }

  /// An uninitialized tensor of `type`; `dynamic` gives each dynamic size.
  Value empty(RankedTensorType type, ValueRange dynamic) {
    return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamic);
  }

  Value filled(RankedTensorType type, ValueRange dynamic, Value value) {
    return linalg::FillOp::create(b, loc, value, empty(type, dynamic)).getResult(0);
  }

  /// Sizes of the dynamic dims of `type`, each read off `source` dim `map(d)`.
  SmallVector<Value> dynamicSizes(RankedTensorType type,
                                  function_ref<std::pair<Value, int64_t>(int64_t)> source) {
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d)) {
        auto [tensor, sd] = source(d);
        sizes.push_back(dim(tensor, sd));
      }
    return sizes;
  }

  /// An all-parallel linalg.generic producing `type` from `inputs` read
  /// through `maps`; dynamic result sizes come from `dynamic`.
  Value generic(RankedTensorType type, ValueRange dynamic, ValueRange inputs,
                ArrayRef<AffineMap> maps, BodyFn body) {
    SmallVector<AffineMap> all(maps);
    all.push_back(b.getMultiDimIdentityMap(type.getRank()));
    SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{type}, inputs, ValueRange{empty(type, dynamic)}, all, iters,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
        });
    return op.getResult(0);
  }

  /// Maps a result of rank `rank` onto an operand of `shape` with NumPy
  /// broadcasting: trailing dims align, size-1 operand dims read index 0.
  AffineMap broadcastMap(ArrayRef<int64_t> shape, ArrayRef<int64_t> resultShape) {
    int64_t rank = resultShape.size(), offset = rank - shape.size();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
      exprs.push_back(shape[i] == 1 && resultShape[offset + i] != 1
                          ? b.getAffineConstantExpr(0)
                          : b.getAffineDimExpr(offset + i));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }

  /// Element-wise `body` over broadcast `inputs`, giving `type`.
  Value broadcastGeneric(RankedTensorType type, ValueRange inputs, BodyFn body) {
    SmallVector<AffineMap> maps;
    for (Value in : inputs)
      maps.push_back(broadcastMap(typeOf(in).getShape(), type.getShape()));
    auto dynamic = dynamicSizes(type, [&](int64_t d) -> std::pair<Value, int64_t> {
      for (Value in : inputs) {
        int64_t offset = type.getRank() - typeOf(in).getRank();
        if (d >= offset && typeOf(in).isDynamicDim(d - offset))
          return {in, d - offset};
      }
      return {inputs.front(), d};
    });
    return generic(type, dynamic, inputs, maps, body);
  }

  /// Reduces `input` over the sorted `dims` (keepdim=false shape), starting
  /// from `init` and folding each `value(x...)` into the accumulator.
  /// `extra` inputs are read with the same indexing as `input`.
  Value reduce(Value input, ArrayRef<int64_t> dims, Value init, CombineFn combine,
               ValueRange extra = {}) {
    Reduction r = reduction(input, dims);
    Value out = filled(RankedTensorType::get(r.shape, init.getType()), r.dynamic, init);
    SmallVector<Value> inputs{input};
    inputs.append(extra.begin(), extra.end());
    SmallVector<AffineMap> maps(inputs.size(), b.getMultiDimIdentityMap(typeOf(input).getRank()));
    maps.push_back(r.out);
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{out.getType()}, inputs, ValueRange{out}, maps, r.iters,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, combine(nb, nl, args.drop_back(), args.back()));
        });
    return op.getResult(0);
  }

  /// The iteration space of reducing `dims` of `input`: the kept sizes
  /// (keepdim=false) and their run-time values, the map onto the result,
  /// and the iterators.
  struct Reduction {
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamic;
    AffineMap out;
    SmallVector<utils::IteratorType> iters;
  };
  Reduction reduction(Value input, ArrayRef<int64_t> dims) {
    RankedTensorType in = typeOf(input);
    Reduction r;
    r.out = droppedMap(in.getRank(), dims);
    for (int64_t d = 0; d < in.getRank(); ++d) {
      bool reduced = llvm::is_contained(dims, d);
      r.iters.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (reduced)
        continue;
      r.shape.push_back(in.getDimSize(d));
      if (in.isDynamicDim(d))
        r.dynamic.push_back(dim(input, d));
    }
    return r;
  }

  /// Reads `reduced` (the keepdim=false result of reducing `dims` of a
  /// tensor of `rank`) at the full iteration space.
  AffineMap droppedMap(int64_t rank, ArrayRef<int64_t> dims) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      if (!llvm::is_contained(dims, d))
        exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }

  /// Same elements, shape `to` (row-major); a dynamic dim of `to` takes
  /// whatever the element count leaves.
  Value reshape(Value src, RankedTensorType to) {
    if (typeOf(src) == to)
      return src;
    Value total = index(1);
    for (int64_t d = 0; d < typeOf(src).getRank(); ++d)
      total = arith::MulIOp::create(b, loc, total, dim(src, d));
    int64_t known = 1;
    for (int64_t size : to.getShape())
      if (!ShapedType::isDynamic(size))
        known *= size;
    SmallVector<Value> sizes;
    for (int64_t size : to.getShape())
      sizes.push_back(ShapedType::isDynamic(size)
                          ? arith::DivUIOp::create(b, loc, total, index(known)).getResult()
                          : index(size));
    auto shapeType = RankedTensorType::get({to.getRank()}, b.getIndexType());
    Value shape = tensor::FromElementsOp::create(b, loc, shapeType, sizes);
    return tensor::ReshapeOp::create(b, loc, to, src, shape);
  }

  /// A 0-d tensor holding `v`.
  Value toTensor(Value v) {
    return tensor::FromElementsOp::create(b, loc, RankedTensorType::get({}, v.getType()),
                                          ValueRange{v});
  }

  Value extractScalar(Value tensor0d) {
    return tensor::ExtractOp::create(b, loc, tensor0d, ValueRange{});
  }

  /// linalg.transpose: result dim i is `x`'s dim perm[i].
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    RankedTensorType t = typeOf(x);
    SmallVector<int64_t> shape;
    for (int64_t d : perm)
      shape.push_back(t.getDimSize(d));
    auto type = RankedTensorType::get(shape, t.getElementType());
    Value init = empty(type, dynamicSizes(type, [&](int64_t d) {
      return std::pair<Value, int64_t>{x, perm[d]};
    }));
    return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
  }

  /// A 2-D linalg.matmul (the runtime's GEMM once on buffers), accumulating
  /// into `init`, or into zeros when `init` is null.
  Value matmul2d(Value lhs, Value rhs, Value init = {}) {
    if (!init) {
      auto type = RankedTensorType::get({typeOf(lhs).getDimSize(0), typeOf(rhs).getDimSize(1)},
                                        typeOf(lhs).getElementType());
      SmallVector<Value> dynamic;
      if (type.isDynamicDim(0))
        dynamic.push_back(dim(lhs, 0));
      if (type.isDynamicDim(1))
        dynamic.push_back(dim(rhs, 1));
      init = filled(type, dynamic, scalar(type.getElementType(), 0.0));
    }
    return linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{init}).getResult(0);
  }

  /// `type` with dim 0 dynamic or not as `like`'s dim 0, read from it.
  SmallVector<Value> batchOf(RankedTensorType type, Value like) {
    return dynamicSizes(type, [&](int64_t) { return std::pair<Value, int64_t>{like, 0}; });
  }

  OpBuilder &b;
  Location loc;
};

//===----------------------------------------------------------------------===//
// Scalar bodies
//===----------------------------------------------------------------------===//

Value castScalar(OpBuilder &b, Location loc, Value v, Type from, Type to) {
  Type fromS = from, toS = to;
  if (from == to)
    return v;
  bool fromUnsigned = from.isUnsignedInteger(), toUnsigned = to.isUnsignedInteger();
  if (auto i = dyn_cast<IntegerType>(from))
    fromS = b.getIntegerType(i.getWidth());
  if (auto i = dyn_cast<IntegerType>(to))
    toS = b.getIntegerType(i.getWidth());
  if (isa<FloatType>(fromS) && isa<FloatType>(toS))
    return fromS.getIntOrFloatBitWidth() < toS.getIntOrFloatBitWidth()
               ? arith::ExtFOp::create(b, loc, toS, v).getResult()
               : arith::TruncFOp::create(b, loc, toS, v).getResult();
  if (isa<FloatType>(toS))
    return fromUnsigned ? arith::UIToFPOp::create(b, loc, toS, v).getResult()
                        : arith::SIToFPOp::create(b, loc, toS, v).getResult();
  if (isa<FloatType>(fromS))
    return toUnsigned ? arith::FPToUIOp::create(b, loc, toS, v).getResult()
                      : arith::FPToSIOp::create(b, loc, toS, v).getResult();
  unsigned fw = fromS.getIntOrFloatBitWidth(), tw = toS.getIntOrFloatBitWidth();
  if (fw == tw)
    return v;
  if (fw > tw)
    return arith::TruncIOp::create(b, loc, toS, v);
  return fromUnsigned ? arith::ExtUIOp::create(b, loc, toS, v).getResult()
                      : arith::ExtSIOp::create(b, loc, toS, v).getResult();
}

Value maxScalar(OpBuilder &b, Location loc, Value x, Value y, bool isUnsignedInt) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, loc, x, y);
  if (isUnsignedInt)
    return arith::MaxUIOp::create(b, loc, x, y);
  return arith::MaxSIOp::create(b, loc, x, y);
}

Value addScalar(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

/// The lowest value of `type`: where a max reduction starts.
Value lowest(Emitter &e, Type type, bool isUnsignedInt) {
  if (auto f = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        e.b, e.loc, e.b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(), true)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt v = isUnsignedInt ? APInt::getMinValue(width) : APInt::getSignedMinValue(width);
  return arith::ConstantOp::create(e.b, e.loc, e.b.getIntegerAttr(type, v));
}

/// -1, 0 or 1 by the sign of x.
Value signScalar(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
  Value one, minusOne, positive, negative;
  if (auto f = dyn_cast<FloatType>(t)) {
    one = arith::ConstantOp::create(b, loc, b.getFloatAttr(f, 1.0));
    minusOne = arith::ConstantOp::create(b, loc, b.getFloatAttr(f, -1.0));
    positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
    negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
  } else {
    one = arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, 1));
    minusOne = arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, -1));
    positive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, zero);
    negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  }
  return arith::SelectOp::create(b, loc, positive, one,
                                 arith::SelectOp::create(b, loc, negative, minusOne, zero));
}

Value unaryScalar(Operation *op, OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  auto zero = [&]() -> Value {
    return arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
  };
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](NegOp) -> Value {
        if (isFloat)
          return arith::NegFOp::create(b, loc, x);
        return arith::SubIOp::create(b, loc, zero(), x);
      })
      .Case([&](AbsOp) -> Value {
        if (isFloat)
          return math::AbsFOp::create(b, loc, x);
        return math::AbsIOp::create(b, loc, x);
      })
      .Case([&](ReluOp r) -> Value {
        return maxScalar(b, loc, x, zero(), isUnsigned(r.getType()));
      })
      .Case([&](SigmoidOp) -> Value {
        Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(t, 1.0));
        Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
        return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
      })
      .Case([&](TanhOp) -> Value { return math::TanhOp::create(b, loc, x); })
      .Case([&](ExpOp) -> Value { return math::ExpOp::create(b, loc, x); })
      .Case([&](LogOp) -> Value { return math::LogOp::create(b, loc, x); })
      .Case([&](SqrtOp) -> Value { return math::SqrtOp::create(b, loc, x); })
      .Default([&](Operation *) -> Value { return x; }); // dropout: identity here
}

Value binaryScalar(Operation *op, OpBuilder &b, Location loc, Value x, Value y) {
  bool isFloat = isa<FloatType>(x.getType());
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](AddOp) { return addScalar(b, loc, x, y); })
      .Case([&](SubOp) -> Value {
        if (isFloat)
          return arith::SubFOp::create(b, loc, x, y);
        return arith::SubIOp::create(b, loc, x, y);
      })
      .Case([&](MulOp) -> Value {
        if (isFloat)
          return arith::MulFOp::create(b, loc, x, y);
        return arith::MulIOp::create(b, loc, x, y);
      })
      .Default([&](Operation *) -> Value { return arith::DivFOp::create(b, loc, x, y); });
}

//===----------------------------------------------------------------------===//
// The ops
//===----------------------------------------------------------------------===//

/// Sum over all of `input` of `value(x...)`, divided by the element count:
/// the reduction='mean' of mse and bce_with_logits.
Value meanOfAll(Emitter &e, ValueRange inputs, Type elem, BodyFn value) {
  Value input = inputs.front();
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < e.typeOf(input).getRank(); ++d)
    all.push_back(d);
  Value sum = e.reduce(input, all, e.scalar(elem, 0.0),
                       [&](OpBuilder &b, Location l, ValueRange xs, Value acc) {
                         return addScalar(b, l, acc, value(b, l, xs));
                       },
                       inputs.drop_front());
  Value count = e.index(1);
  for (int64_t d : all)
    count = arith::MulIOp::create(e.b, e.loc, count, e.dim(input, d));
  Value mean = arith::DivFOp::create(e.b, e.loc, e.extractScalar(sum), e.toFloat(count, elem));
  return e.toTensor(mean);
}

/// Index (i64) of the first largest value along `dim`, keepdim=false.
Value argmax(Emitter &e, Value input, int64_t dim, bool isUnsignedInt) {
  RankedTensorType in = e.typeOf(input);
  Type elem = in.getElementType(), i64 = e.b.getI64Type();
  Emitter::Reduction r = e.reduction(input, {dim});
  Value best = e.filled(RankedTensorType::get(r.shape, elem), r.dynamic, lowest(e, elem, isUnsignedInt));
  Value where = e.filled(RankedTensorType::get(r.shape, i64), r.dynamic, e.scalar(i64, 0));
  auto op = linalg::GenericOp::create(
      e.b, e.loc, TypeRange{best.getType(), where.getType()}, ValueRange{input},
      ValueRange{best, where}, {e.b.getMultiDimIdentityMap(in.getRank()), r.out, r.out}, r.iters,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = args[0], bestSoFar = args[1], at = args[2];
        Value i = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, dim));
        // Strictly larger, or equal and earlier: the first maximum whatever
        // order the loop runs in, as torch.argmax.
        Value larger, equal;
        if (isa<FloatType>(elem)) {
          larger = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, bestSoFar);
          equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, bestSoFar);
        } else {
          auto gt = isUnsignedInt ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt;
          larger = arith::CmpIOp::create(b, l, gt, x, bestSoFar);
          equal = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, x, bestSoFar);
        }
        Value earlier = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, at);
        Value take = arith::OrIOp::create(b, l, larger,
                                          arith::AndIOp::create(b, l, equal, earlier));
        linalg::YieldOp::create(b, l, ValueRange{
            arith::SelectOp::create(b, l, take, x, bestSoFar),
            arith::SelectOp::create(b, l, take, i, at)});
      });
  return op.getResult(1);
}

/// log(sum(exp(x))) along dim 1 of x [N, C], stably: max + log(sum(exp(x - max))).
Value logSumExpRows(Emitter &e, Value x) {
  Type elem = e.typeOf(x).getElementType();
  Value m = e.reduce(x, {1}, lowest(e, elem, false),
                     [](OpBuilder &b, Location l, ValueRange xs, Value acc) {
                       return maxScalar(b, l, xs[0], acc, false);
                     });
  // Sum exp(x - m) with m broadcast along the row.
  RankedTensorType mType = e.typeOf(m);
  Value sum = e.filled(mType, e.dynamicSizes(mType, [&](int64_t) {
                         return std::pair<Value, int64_t>{x, 0};
                       }),
                       e.scalar(elem, 0.0));
  auto rows = AffineMap::get(2, 0, {e.b.getAffineDimExpr(0)}, e.b.getContext());
  auto op = linalg::GenericOp::create(
      e.b, e.loc, TypeRange{mType}, ValueRange{x, m}, ValueRange{sum},
      {e.b.getMultiDimIdentityMap(2), rows, rows},
      {utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value ex = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, args[0], args[1]));
        linalg::YieldOp::create(b, l, ValueRange{arith::AddFOp::create(b, l, args[2], ex)});
      });
  return e.generic(mType, e.dynamicSizes(mType, [&](int64_t) {
                     return std::pair<Value, int64_t>{x, 0};
                   }),
                   ValueRange{m, op.getResult(0)},
                   {e.b.getMultiDimIdentityMap(1), e.b.getMultiDimIdentityMap(1)},
                   [](OpBuilder &b, Location l, ValueRange a) -> Value {
                     return arith::AddFOp::create(b, l, a[0], math::LogOp::create(b, l, a[1]));
                   });
}

/// The class index `t` as an index, clamped into [0, classes) so a bad
/// label never reads out of bounds; `valid` says whether it was in range.
std::pair<Value, Value> classIndex(OpBuilder &b, Location l, Value t, bool isUnsignedInt,
                                   Value classes) {
  Value wide = t.getType().getIntOrFloatBitWidth() < 64
                   ? (isUnsignedInt ? arith::ExtUIOp::create(b, l, b.getI64Type(), t).getResult()
                                    : arith::ExtSIOp::create(b, l, b.getI64Type(), t).getResult())
                   : t;
  Value idx = arith::IndexCastOp::create(b, l, b.getIndexType(), wide);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  Value valid = arith::AndIOp::create(
      b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, idx, zero),
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx, classes));
  Value last = arith::SubIOp::create(b, l, classes, one);
  Value clamped = arith::SelectOp::create(
      b, l, valid, idx,
      arith::SelectOp::create(b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx, zero),
                              zero, last));
  return {clamped, valid};
}

/// Mean over rows of `value(row scalars, acc)` summed into a scalar.
Value meanOverRows(Emitter &e, ValueRange rows, Type elem, CombineFn fold) {
  Value sum = e.reduce(rows.front(), {0}, e.scalar(elem, 0.0), fold, rows.drop_front());
  Value n = e.toFloat(e.dim(rows.front(), 0), elem);
  return e.toTensor(arith::DivFOp::create(e.b, e.loc, e.extractScalar(sum), n));
}

struct LowerKilnOp : public ConversionPattern {
  LowerKilnOp(const TypeConverter &converter, MLIRContext *context)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rewriter) const override {
    if (!isa<KilnDialect>(op->getDialect()))
      return failure();
    Emitter e(rewriter, op->getLoc());
    auto resultType = cast<RankedTensorType>(
        getTypeConverter()->convertType(op->getResult(0).getType()));
    Value result = lower(op, operands, resultType, e);
    if (!result)
      return rewriter.notifyMatchFailure(op, "no lowering for this op here");
    rewriter.replaceOp(op, result);
    return success();
  }

  static Value lower(Operation *op, ArrayRef<Value> in, RankedTensorType type, Emitter &e) {
    Type elem = type.getElementType();
    OpBuilder &b = e.b;
    return TypeSwitch<Operation *, Value>(op)
        .Case([&](ConstantOp c) -> Value {
          auto value = cast<DenseElementsAttr>(c.getValue());
          if (value.getElementType() != elem)
            value = value.bitcast(elem);
          return arith::ConstantOp::create(b, e.loc, type, value);
        })
        .Case([&](FillOp f) -> Value {
          return e.filled(type, in, e.scalar(elem, f.getValue().convertToDouble()));
        })
        .Case<AddOp, SubOp, MulOp, DivOp>([&](Operation *o) -> Value {
          return e.broadcastGeneric(type, in, [&](OpBuilder &nb, Location l, ValueRange a) {
            return binaryScalar(o, nb, l, a[0], a[1]);
          });
        })
        .Case<NegOp, AbsOp, ReluOp, SigmoidOp, TanhOp, ExpOp, LogOp, SqrtOp>(
            [&](Operation *o) -> Value {
              return e.broadcastGeneric(type, in, [&](OpBuilder &nb, Location l, ValueRange a) {
                return unaryScalar(o, nb, l, a[0]);
              });
            })
        .Case([&](DropoutOp d) -> Value {
          if (in.size() < 2)
            return in[0]; // evaluation and prediction
          return dropout(e, in[0], in[1], d.getP().convertToDouble(), d.getSalt());
        })
        .Case([&](Conv2dOp c) -> Value {
          return conv2d(e, in[0], in[1], in.size() > 2 ? in[2] : Value(), c.getStride(),
                        c.getPadding(), type);
        })
        .Case([&](Conv2dInputGradOp c) -> Value {
          return conv2dInputGrad(e, in[0], in[1], in[2], c.getStride(), c.getPadding());
        })
        .Case([&](Conv2dWeightGradOp c) -> Value {
          return conv2dWeightGrad(e, in[0], in[1], in[2], c.getStride(), c.getPadding());
        })
        .Case([&](MaxPool2dOp p) -> Value {
          return maxPool(e, in[0], p.getKernel(), p.getStride(), p.getPadding()).first;
        })
        .Case([&](AvgPool2dOp p) -> Value {
          Value sum = windowSum(e, in[0], p.getKernel(), p.getStride(), p.getPadding());
          double count = double(p.getKernel()[0] * p.getKernel()[1]);
          return e.broadcastGeneric(type, ValueRange{sum}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value c = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, count));
            return arith::DivFOp::create(nb, l, a[0], c);
          });
        })
        .Case([&](MaxPool2dGradOp p) -> Value {
          Value where = maxPool(e, in[1], p.getKernel(), p.getStride(), p.getPadding()).second;
          int64_t kw = p.getKernel()[1];
          return gatherWindows(e, in[1], p.getKernel(), p.getStride(), p.getPadding(),
                               [&](OpBuilder &nb, Location l, ValueRange lead, Value oh, Value ow,
                                   Value kh, Value kwi) -> Value {
                                 SmallVector<Value> at(lead);
                                 at.append({oh, ow});
                                 Value g = tensor::ExtractOp::create(nb, l, in[0], at);
                                 Value best = tensor::ExtractOp::create(nb, l, where, at);
                                 Value k = arith::AddIOp::create(
                                     nb, l, arith::MulIOp::create(nb, l, kh, arith::ConstantIndexOp::create(nb, l, kw)), kwi);
                                 Value k64 = arith::IndexCastOp::create(nb, l, nb.getI64Type(), k);
                                 Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, best, k64);
                                 Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(g.getType()));
                                 return arith::SelectOp::create(nb, l, hit, g, zero);
                               });
        })
        .Case([&](AvgPool2dGradOp p) -> Value {
          double count = double(p.getKernel()[0] * p.getKernel()[1]);
          return gatherWindows(e, in[1], p.getKernel(), p.getStride(), p.getPadding(),
                               [&](OpBuilder &nb, Location l, ValueRange lead, Value oh, Value ow,
                                   Value, Value) -> Value {
                                 SmallVector<Value> at(lead);
                                 at.append({oh, ow});
                                 Value g = tensor::ExtractOp::create(nb, l, in[0], at);
                                 Value c = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, count));
                                 return arith::DivFOp::create(nb, l, g, c);
                               });
        })
        .Case([&](RNNOp) -> Value { return rnn(e, in[0], in[1], in[2], in[3], in[4], type); })
        .Case([&](RNNStepGradOp) -> Value { return rnnStepGrad(e, in[0], in[1], in[2]); })
        .Case([&](CastOp c) -> Value {
          Type from = c.getInput().getType().getElementType(), to = c.getType().getElementType();
          return e.broadcastGeneric(type, in, [&](OpBuilder &nb, Location l, ValueRange a) {
            return castScalar(nb, l, a[0], from, to);
          });
        })
        .Case([&](MatMulOp) { return matmul(e, in[0], in[1], type); })
        .Case([&](LinearOp) {
          return linear(e, in[0], in[1], in.size() > 2 ? in[2] : Value(), type);
        })
        .Case<SumOp, MeanOp>([&](Operation *o) -> Value {
          ArrayRef<int64_t> dims = isa<SumOp>(o) ? cast<SumOp>(o).getDims() : cast<MeanOp>(o).getDims();
          SmallVector<int64_t> all;
          for (int64_t d = 0; d < e.typeOf(in[0]).getRank(); ++d)
            if (dims.empty() || llvm::is_contained(dims, d))
              all.push_back(d);
          Value sum = e.reduce(in[0], all, e.scalar(elem, 0.0),
                               [](OpBuilder &nb, Location l, ValueRange xs, Value acc) {
                                 return addScalar(nb, l, acc, xs[0]);
                               });
          if (isa<MeanOp>(o)) {
            Value count = e.index(1);
            for (int64_t d : all)
              count = arith::MulIOp::create(b, e.loc, count, e.dim(in[0], d));
            Value n = e.toFloat(count, elem);
            RankedTensorType st = e.typeOf(sum);
            sum = e.generic(st, e.dynamicSizes(st, [&](int64_t d) {
                              return std::pair<Value, int64_t>{sum, d};
                            }),
                            ValueRange{sum}, {b.getMultiDimIdentityMap(st.getRank())},
                            [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                              return arith::DivFOp::create(nb, l, a[0], n);
                            });
          }
          return e.reshape(sum, type);
        })
        .Case([&](MaxOp m) -> Value {
          bool u = isUnsigned(m.getInput().getType());
          Value r = e.reduce(in[0], {static_cast<int64_t>(m.getDim())}, lowest(e, elem, u),
                             [&](OpBuilder &nb, Location l, ValueRange xs, Value acc) {
                               return maxScalar(nb, l, xs[0], acc, u);
                             });
          return e.reshape(r, type);
        })
        .Case([&](ArgMaxOp m) -> Value {
          return e.reshape(argmax(e, in[0], m.getDim(), isUnsigned(m.getInput().getType())),
                           type);
        })
        .Case<SoftmaxOp, LogSoftmaxOp>([&](Operation *o) -> Value {
          int64_t d = isa<SoftmaxOp>(o) ? cast<SoftmaxOp>(o).getDim()
                                        : cast<LogSoftmaxOp>(o).getDim();
          return softmax(e, in[0], d, isa<LogSoftmaxOp>(o));
        })
        .Case([&](ReshapeOp) { return e.reshape(in[0], type); })
        .Case([&](TransposeOp t) -> Value {
          ArrayRef<int64_t> perm = t.getPermutation();
          Value init = e.empty(type, e.dynamicSizes(type, [&](int64_t d) {
            return std::pair<Value, int64_t>{in[0], perm[d]};
          }));
          return linalg::TransposeOp::create(b, e.loc, in[0], init, perm).getResult()[0];
        })
        .Case([&](ConcatOp c) { return concat(e, in, c.getDim(), type); })
        .Case([&](MseOp) -> Value {
          return meanOfAll(e, in, elem, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
            return arith::MulFOp::create(nb, l, d, d);
          });
        })
        .Case([&](BceWithLogitsOp) -> Value {
          // max(x, 0) - x*y + log1p(exp(-|x|)): PyTorch's stable form.
          return meanOfAll(e, in, elem, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value x = a[0], y = a[1];
            Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(x.getType()));
            Value pos = arith::MaximumFOp::create(nb, l, x, zero);
            Value soft = math::Log1pOp::create(
                nb, l, math::ExpOp::create(nb, l, arith::NegFOp::create(nb, l, math::AbsFOp::create(nb, l, x))));
            return arith::AddFOp::create(
                nb, l, arith::SubFOp::create(nb, l, pos, arith::MulFOp::create(nb, l, x, y)), soft);
          });
        })
        .Case([&](CrossEntropyOp c) -> Value {
          Value x = in[0];
          bool u = isUnsigned(c.getTarget().getType());
          Value lse = logSumExpRows(e, x);
          Value classes = e.dim(x, 1);
          // loss_n = lse_n - x[n, t_n]; a class index out of range gives NaN.
          return meanOverRows(e, ValueRange{lse, in[1]}, elem,
                              [&](OpBuilder &nb, Location l, ValueRange a, Value acc) -> Value {
                                Value n = linalg::IndexOp::create(nb, l, 0);
                                auto [t, valid] = classIndex(nb, l, a[1], u, classes);
                                Value picked = tensor::ExtractOp::create(nb, l, x, ValueRange{n, t});
                                Value loss = arith::SubFOp::create(nb, l, a[0], picked);
                                Value nan = arith::ConstantOp::create(
                                    nb, l, nb.getFloatAttr(elem, std::nan("")));
                                loss = arith::SelectOp::create(nb, l, valid, loss, nan);
                                return arith::AddFOp::create(nb, l, acc, loss);
                              });
        })
        .Case([&](AccuracyOp a) -> Value {
          bool u = isUnsigned(a.getTarget().getType());
          Value predicted = argmax(e, in[0], 1, isUnsigned(a.getInput().getType()));
          Value classes = e.dim(in[0], 1);
          return meanOverRows(e, ValueRange{predicted, in[1]}, elem,
                              [&](OpBuilder &nb, Location l, ValueRange v, Value acc) -> Value {
                                auto [t, valid] = classIndex(nb, l, v[1], u, classes);
                                Value p = arith::IndexCastOp::create(nb, l, nb.getIndexType(), v[0]);
                                Value hit = arith::AndIOp::create(
                                    nb, l, valid,
                                    arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, p, t));
                                Value one = arith::UIToFPOp::create(nb, l, elem, hit);
                                return arith::AddFOp::create(nb, l, acc, one);
                              });
        })
        .Case([&](SignOp) -> Value {
          return e.broadcastGeneric(type, in, [&](OpBuilder &nb, Location l, ValueRange a) {
            return signScalar(nb, l, a[0]);
          });
        })
        .Case([&](ReluGradOp) -> Value {
          // grad where the relu's output is positive (as threshold_backward)
          return e.broadcastGeneric(type, in, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(a[0].getType()));
            Value positive = isa<FloatType>(a[0].getType())
                                 ? arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0], zero).getResult()
                                 : arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sgt, a[0], zero).getResult();
            return arith::SelectOp::create(nb, l, positive, a[1], zero);
          });
        })
        .Case([&](BroadcastLikeOp) -> Value {
          auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{in[1], d}; });
          return e.generic(type, dynamic, ValueRange{in[0]},
                           {e.broadcastMap(e.typeOf(in[0]).getShape(), type.getShape())},
                           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
        })
        .Case([&](MaxGradOp m) -> Value {
          int64_t dim = m.getDim();
          Value where = argmax(e, in[0], dim, isUnsigned(m.getInput().getType()));
          AffineMap dropped = e.droppedMap(type.getRank(), {dim});
          auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{in[0], d}; });
          return e.generic(type, dynamic, ValueRange{in[1], where}, {dropped, dropped},
                           [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             Value i = arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                                                  linalg::IndexOp::create(nb, l, dim));
                             Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, i, a[1]);
                             Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(a[0].getType()));
                             return arith::SelectOp::create(nb, l, hit, a[0], zero);
                           });
        })
        .Case([&](CrossEntropyGradOp c) -> Value {
          // (softmax(x) - one_hot(t)) / N; a class index out of range gives NaN.
          bool u = isUnsigned(c.getTarget().getType());
          Value probs = softmax(e, in[0], 1, false);
          Value classes = e.dim(in[0], 1);
          Value n = e.toFloat(e.dim(in[0], 0), elem);
          auto rowsMap = AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, b.getContext());
          auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{in[0], d}; });
          return e.generic(type, dynamic, ValueRange{probs, in[1]},
                           {b.getMultiDimIdentityMap(2), rowsMap},
                           [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             auto [t, valid] = classIndex(nb, l, a[1], u, classes);
                             Value j = linalg::IndexOp::create(nb, l, 1);
                             Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, j, t);
                             Value one = arith::UIToFPOp::create(nb, l, elem, hit);
                             Value g = arith::DivFOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], one), n);
                             Value nan = arith::ConstantOp::create(nb, l, nb.getFloatAttr(elem, std::nan("")));
                             return arith::SelectOp::create(nb, l, valid, g, nan);
                           });
        })
        .Case([&](SliceOp s) -> Value {
          int64_t rank = type.getRank();
          SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes, strides(rank, b.getIndexAttr(1));
          offsets[s.getDim()] = b.getIndexAttr(s.getStart());
          for (int64_t d = 0; d < rank; ++d)
            sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(e.dim(in[0], d))
                                                 : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
          return tensor::ExtractSliceOp::create(b, e.loc, type, in[0], offsets, sizes, strides);
        })
        .Default([](Operation *) { return Value(); });
  }


  //===--------------------------------------------------------------------===//
  // Dropout
  //===--------------------------------------------------------------------===//

  /// splitmix64's finalizer: a well-mixed 64-bit hash of `z`.
  static Value mix64(OpBuilder &b, Location l, Value z) {
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

  /// Training dropout: element i (row-major) is kept when the top 24 bits of
  /// mix64(seed * phi + salt * c + i) reach p * 2^24, and scaled by 1/(1-p).
  /// A pure function of (seed, salt, i): the gradient recomputes the mask.
  static Value dropout(Emitter &e, Value x, Value seed, double p, int64_t salt) {
    OpBuilder &b = e.b;
    RankedTensorType t = e.typeOf(x);
    Type elem = t.getElementType(), i64 = b.getI64Type();
    auto c = [&](uint64_t v) -> Value {
      return arith::ConstantOp::create(b, e.loc, b.getI64IntegerAttr(int64_t(v)));
    };
    Value s = arith::FPToUIOp::create(b, e.loc, i64, e.extractScalar(seed));
    Value key = arith::AddIOp::create(
        b, e.loc, arith::MulIOp::create(b, e.loc, s, c(0x9E3779B97F4A7C15ULL)),
        c(uint64_t(salt) * 0xD1B54A32D192ED03ULL));
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < t.getRank(); ++d)
      sizes.push_back(e.dim(x, d));
    int64_t threshold = std::llround(p * double(1 << 24));
    double scale = 1.0 / (1.0 - p);
    auto dynamic = e.dynamicSizes(t, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
    return e.generic(t, dynamic, ValueRange{x}, {b.getMultiDimIdentityMap(t.getRank())},
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
                       Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(elem));
                       return arith::SelectOp::create(nb, l, keep, scaled, zero);
                     });
  }

  //===--------------------------------------------------------------------===//
  // Windows: convolution and pooling over the last two dims (H, W)
  //===--------------------------------------------------------------------===//

  /// `x` with `ph` rows and `pw` columns of `fill` on each side of H and W.
  static Value pad(Emitter &e, Value x, int64_t ph, int64_t pw, Value fill) {
    if (ph == 0 && pw == 0)
      return x;
    RankedTensorType t = e.typeOf(x);
    int64_t rank = t.getRank(), h = t.getDimSize(rank - 2), w = t.getDimSize(rank - 1);
    SmallVector<int64_t> shape(t.getShape());
    shape[rank - 2] += 2 * ph;
    shape[rank - 1] += 2 * pw;
    auto type = RankedTensorType::get(shape, t.getElementType());
    auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
    return e.generic(type, dynamic, ValueRange{}, {}, [&](OpBuilder &nb, Location l, ValueRange) -> Value {
      SmallVector<Value> at;
      Value inside;
      for (int64_t d = 0; d < rank; ++d) {
        Value i = linalg::IndexOp::create(nb, l, d);
        if (d < rank - 2) {
          at.push_back(i);
          continue;
        }
        int64_t p = d == rank - 2 ? ph : pw, size = d == rank - 2 ? h : w;
        // i - p wraps around below zero, so one unsigned compare checks both ends.
        Value shifted = arith::SubIOp::create(nb, l, i, arith::ConstantIndexOp::create(nb, l, p));
        Value ok = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, shifted,
                                         arith::ConstantIndexOp::create(nb, l, size));
        inside = inside ? arith::AndIOp::create(nb, l, inside, ok).getResult() : ok;
        at.push_back(arith::SelectOp::create(nb, l, ok, shifted, arith::ConstantIndexOp::create(nb, l, 0)));
      }
      Value v = tensor::ExtractOp::create(nb, l, x, at);
      return arith::SelectOp::create(nb, l, inside, v, fill);
    });
  }

  /// The output size of a window sweep along one dim.
  static int64_t windows(int64_t size, int64_t k, int64_t s, int64_t p) {
    return (size + 2 * p - k) / s + 1;
  }

  /// Reads a padded [L..., Hp, Wp] tensor over the iteration space
  /// (L..., oh, ow, kh, kw) at (L..., oh * sh + kh, ow * sw + kw).
  static AffineMap windowMap(Emitter &e, int64_t lead, ArrayRef<int64_t> stride) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < lead; ++d)
      exprs.push_back(e.b.getAffineDimExpr(d));
    for (int64_t i = 0; i < 2; ++i)
      exprs.push_back(e.b.getAffineDimExpr(lead + i) * stride[i] + e.b.getAffineDimExpr(lead + 2 + i));
    return AffineMap::get(lead + 4, 0, exprs, e.b.getContext());
  }

  /// [L..., OH, OW] pool result type of `x` [L..., H, W].
  static RankedTensorType pooledType(Emitter &e, Value x, ArrayRef<int64_t> k,
                                     ArrayRef<int64_t> s, ArrayRef<int64_t> p, Type elem) {
    RankedTensorType t = e.typeOf(x);
    int64_t rank = t.getRank();
    SmallVector<int64_t> shape(t.getShape());
    shape[rank - 2] = windows(shape[rank - 2], k[0], s[0], p[0]);
    shape[rank - 1] = windows(shape[rank - 1], k[1], s[1], p[1]);
    return RankedTensorType::get(shape, elem);
  }

  /// Sum of each zero-padded window of `x`.
  static Value windowSum(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                         ArrayRef<int64_t> p) {
    OpBuilder &b = e.b;
    Type elem = e.typeOf(x).getElementType();
    int64_t lead = e.typeOf(x).getRank() - 2;
    Value padded = pad(e, x, p[0], p[1], e.scalar(elem, 0.0));
    RankedTensorType type = pooledType(e, x, k, s, p, elem);
    Value out = e.filled(type, e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; }),
                         e.scalar(elem, 0.0));
    auto [kernelSpace, iters] = windowSpace(e, lead, k);
    auto op = linalg::GenericOp::create(
        b, e.loc, TypeRange{type}, ValueRange{padded, kernelSpace}, ValueRange{out},
        {windowMap(e, lead, s), kernelMap(e, lead), outMap(e, lead)}, iters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[2], a[0])});
        });
    return op.getResult(0);
  }

  /// The largest value of each (-inf padded) window and where it is
  /// (kh * KW + kw, i64): the first largest, as PyTorch picks.
  static std::pair<Value, Value> maxPool(Emitter &e, Value x, ArrayRef<int64_t> k,
                                         ArrayRef<int64_t> s, ArrayRef<int64_t> p) {
    OpBuilder &b = e.b;
    Type elem = e.typeOf(x).getElementType(), i64 = b.getI64Type();
    int64_t lead = e.typeOf(x).getRank() - 2;
    Value padded = pad(e, x, p[0], p[1], lowest(e, elem, false));
    RankedTensorType type = pooledType(e, x, k, s, p, elem);
    auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
    Value best = e.filled(type, dynamic, lowest(e, elem, false));
    Value where = e.filled(RankedTensorType::get(type.getShape(), i64), dynamic, e.scalar(i64, 0));
    auto [kernelSpace, iters] = windowSpace(e, lead, k);
    auto op = linalg::GenericOp::create(
        b, e.loc, TypeRange{best.getType(), where.getType()}, ValueRange{padded, kernelSpace},
        ValueRange{best, where},
        {windowMap(e, lead, s), kernelMap(e, lead), outMap(e, lead), outMap(e, lead)}, iters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value v = a[0], bestSoFar = a[2], at = a[3];
          Value kh = linalg::IndexOp::create(nb, l, lead + 2), kw = linalg::IndexOp::create(nb, l, lead + 3);
          Value flat = arith::AddIOp::create(
              nb, l, arith::MulIOp::create(nb, l, kh, arith::ConstantIndexOp::create(nb, l, k[1])), kw);
          Value i = arith::IndexCastOp::create(nb, l, i64, flat);
          // Strictly larger, or equal and earlier: the first maximum.
          Value larger = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, v, bestSoFar);
          Value equal = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, v, bestSoFar);
          Value earlier = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, i, at);
          Value take = arith::OrIOp::create(nb, l, larger, arith::AndIOp::create(nb, l, equal, earlier));
          linalg::YieldOp::create(nb, l, ValueRange{arith::SelectOp::create(nb, l, take, v, bestSoFar),
                                                    arith::SelectOp::create(nb, l, take, i, at)});
        });
    return {op.getResult(0), op.getResult(1)};
  }

  /// linalg needs every loop bound by an operand: an empty [KH, KW] tensor
  /// gives the kernel loops theirs. Iterators: parallel but kh, kw.
  static std::pair<Value, SmallVector<utils::IteratorType>> windowSpace(Emitter &e, int64_t lead,
                                                                       ArrayRef<int64_t> k) {
    Value space = e.empty(RankedTensorType::get({k[0], k[1]}, e.b.getI8Type()), {});
    SmallVector<utils::IteratorType> iters(lead + 2, utils::IteratorType::parallel);
    iters.append(2, utils::IteratorType::reduction);
    return {space, iters};
  }
  static AffineMap kernelMap(Emitter &e, int64_t lead) {
    return AffineMap::get(lead + 4, 0, {e.b.getAffineDimExpr(lead + 2), e.b.getAffineDimExpr(lead + 3)},
                          e.b.getContext());
  }
  static AffineMap outMap(Emitter &e, int64_t lead) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < lead + 2; ++d)
      exprs.push_back(e.b.getAffineDimExpr(d));
    return AffineMap::get(lead + 4, 0, exprs, e.b.getContext());
  }

  /// A window's contribution: lead holds the leading indices (N, C, ...),
  /// then the window (oh, ow) and the kernel offset (kh, kw).
  using WindowFn = function_ref<Value(OpBuilder &, Location, ValueRange lead, Value oh, Value ow,
                                      Value kh, Value kw)>;

  /// The gradient of a window sweep over `x` [L..., H, W], as a gather so
  /// that no two loops write one element: input (h, w) sums, over the kernel
  /// offsets (kh, kw) whose window (oh, ow) = ((h + ph - kh) / sh,
  /// (w + pw - kw) / sw) exists, `value(L..., oh, ow, kh, kw)`.
  static Value gatherWindows(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                             ArrayRef<int64_t> p, WindowFn value) {
    OpBuilder &b = e.b;
    RankedTensorType t = e.typeOf(x);
    int64_t lead = t.getRank() - 2;
    Type elem = t.getElementType();
    int64_t outSize[2] = {windows(t.getDimSize(lead), k[0], s[0], p[0]),
                          windows(t.getDimSize(lead + 1), k[1], s[1], p[1])};
    Value out = e.filled(t, e.dynamicSizes(t, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; }),
                         e.scalar(elem, 0.0));
    auto [kernelSpace, iters] = windowSpace(e, lead, k);
    auto op = linalg::GenericOp::create(
        b, e.loc, TypeRange{t}, ValueRange{kernelSpace}, ValueRange{out},
        {kernelMap(e, lead), outMap(e, lead)}, iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          SmallVector<Value> at;
          for (int64_t d = 0; d < lead; ++d)
            at.push_back(linalg::IndexOp::create(nb, l, d));
          Value valid, kk[2], window[2];
          for (int64_t i = 0; i < 2; ++i) {
            Value pos = linalg::IndexOp::create(nb, l, lead + i);
            kk[i] = linalg::IndexOp::create(nb, l, lead + 2 + i);
            auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, l, v); };
            // start = h + ph - kh, a window start when >= 0, divisible and in range.
            Value start = arith::SubIOp::create(nb, l, arith::AddIOp::create(nb, l, pos, c(p[i])), kk[i]);
            Value o = arith::DivSIOp::create(nb, l, start, c(s[i]));
            Value ok = arith::AndIOp::create(
                nb, l,
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, start, c(0)),
                arith::AndIOp::create(
                    nb, l,
                    arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                          arith::RemSIOp::create(nb, l, start, c(s[i])), c(0)),
                    arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, o, c(outSize[i]))));
            valid = valid ? arith::AndIOp::create(nb, l, valid, ok).getResult() : ok;
            window[i] = arith::SelectOp::create(nb, l, ok, o, c(0)); // in bounds either way
          }
          Value contribution = value(nb, l, at, window[0], window[1], kk[0], kk[1]);
          Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(elem));
          Value add = arith::SelectOp::create(nb, l, valid, contribution, zero);
          linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], add)});
        });
    return op.getResult(0);
  }

  static int64_t product(int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? ShapedType::kDynamic : a * b;
  }

  /// A window sweep's copy of `x` [N, C, H, W], zero-padded: element
  /// (n, oh, ow, c, kh, kw) of the iteration space reads padded x at
  /// (n, c, oh*sh + kh, ow*sw + kw); `order` places those six dims in the
  /// result, read as a matrix: its first three dims are the rows, the last
  /// three the columns.
  static Value windowCopy(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                          ArrayRef<int64_t> p, ArrayRef<int64_t> order) {
    OpBuilder &b = e.b;
    RankedTensorType t = e.typeOf(x);
    Type elem = t.getElementType();
    int64_t oh = windows(t.getDimSize(2), k[0], s[0], p[0]), ow = windows(t.getDimSize(3), k[1], s[1], p[1]);
    Value padded = pad(e, x, p[0], p[1], e.scalar(elem, 0.0));
    int64_t natural[6] = {t.getDimSize(0), oh, ow, t.getDimSize(1), k[0], k[1]};
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> at(6);
    for (int64_t i = 0; i < 6; ++i) {
      shape.push_back(natural[order[i]]);
      at[order[i]] = b.getAffineDimExpr(i);
    }
    auto type = RankedTensorType::get(shape, elem);
    auto read = AffineMap::get(6, 0, {at[0], at[3], at[1] * s[0] + at[4], at[2] * s[1] + at[5]},
                               b.getContext());
    SmallVector<Value> dynamic; // the batch, where order puts it
    for (int64_t i = 0; i < 6; ++i)
      if (order[i] == 0 && type.isDynamicDim(i))
        dynamic.push_back(e.dim(x, 0));
    Value copy = e.generic(type, dynamic, ValueRange{padded}, {read},
                           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    int64_t rows = product(product(shape[0], shape[1]), shape[2]);
    int64_t columns = product(product(shape[3], shape[4]), shape[5]);
    return e.reshape(copy, RankedTensorType::get({rows, columns}, elem));
  }

  /// im2col: [N*OH*OW, C*KH*KW], row (n, oh, ow) holding the zero-padded
  /// window under output pixel (oh, ow) for every channel.
  static Value windowRows(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                          ArrayRef<int64_t> p) {
    return windowCopy(e, x, k, s, p, {0, 1, 2, 3, 4, 5});
  }

  /// The same windows as columns, [C*KH*KW, N*OH*OW] (Caffe's layout): the
  /// GEMM's wide operand is then contiguous rows, and its result is
  /// channel-major, so few output channels cost no padding.
  static Value windowColumns(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                             ArrayRef<int64_t> p) {
    return windowCopy(e, x, k, s, p, {3, 4, 5, 0, 1, 2});
  }

  /// weight [O, C, KH, KW] as [O, C*KH*KW].
  static Value weightRows(Emitter &e, Value w) {
    RankedTensorType t = e.typeOf(w);
    return e.reshape(w, RankedTensorType::get({t.getDimSize(0), t.getNumElements() / t.getDimSize(0)},
                                              t.getElementType()));
  }

  /// A conv result or its gradient [N, O, OH, OW] as channel rows
  /// [O, N*OH*OW]: a transpose that moves whole OH*OW planes.
  static Value channelRows(Emitter &e, Value y) {
    RankedTensorType t = e.typeOf(y);
    Value onhw = e.transpose(y, {1, 0, 2, 3});
    int64_t columns = product(t.getDimSize(0), t.getDimSize(2) * t.getDimSize(3));
    return e.reshape(onhw, RankedTensorType::get({t.getDimSize(1), columns}, t.getElementType()));
  }

  /// conv2d as im2col + one GEMM: [O, CKK] @ [CKK, N*OH*OW], accumulating
  /// into the bias, then the channel planes back to NCHW.
  static Value conv2d(Emitter &e, Value x, Value w, Value bias, ArrayRef<int64_t> s,
                      ArrayRef<int64_t> p, RankedTensorType type) {
    OpBuilder &b = e.b;
    RankedTensorType wt = e.typeOf(w);
    Type elem = type.getElementType();
    int64_t o = wt.getDimSize(0);
    Value cols = windowColumns(e, x, {wt.getDimSize(2), wt.getDimSize(3)}, s, p);
    auto rowsType = RankedTensorType::get({o, e.typeOf(cols).getDimSize(1)}, elem);
    SmallVector<Value> dynamic;
    if (rowsType.isDynamicDim(1))
      dynamic.push_back(e.dim(cols, 1));
    Value init = bias ? e.generic(rowsType, dynamic, ValueRange{bias},
                                  {AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, b.getContext())},
                                  [](OpBuilder &, Location, ValueRange a) { return a[0]; })
                      : e.filled(rowsType, dynamic, e.scalar(elem, 0.0));
    Value y = e.matmul2d(weightRows(e, w), cols, init);
    auto onhw = RankedTensorType::get({o, type.getDimSize(0), type.getDimSize(2), type.getDimSize(3)}, elem);
    return e.transpose(e.reshape(y, onhw), {1, 0, 2, 3});
  }

  /// d(input): weight^T [CKK, O] @ grad rows [O, N*OH*OW] gives each
  /// window's share; col2im (a gather over the windows) sums the shares per
  /// pixel.
  static Value conv2dInputGrad(Emitter &e, Value g, Value w, Value x, ArrayRef<int64_t> s,
                               ArrayRef<int64_t> p) {
    RankedTensorType wt = e.typeOf(w), gt = e.typeOf(g), xt = e.typeOf(x);
    Type elem = xt.getElementType();
    int64_t c = wt.getDimSize(1), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    Value shares = e.matmul2d(e.transpose(weightRows(e, w), {1, 0}), channelRows(e, g));
    auto six = RankedTensorType::get({c, kh, kw, gt.getDimSize(0), gt.getDimSize(2), gt.getDimSize(3)}, elem);
    Value perWindow = e.reshape(shares, six);
    return gatherWindows(e, x, {kh, kw}, s, p,
                         [&](OpBuilder &nb, Location l, ValueRange lead, Value oh, Value ow,
                             Value khi, Value kwi) -> Value {
                           return tensor::ExtractOp::create(
                               nb, l, perWindow, ValueRange{lead[1], khi, kwi, lead[0], oh, ow});
                         });
  }

  /// d(weight) [O, C, KH, KW]: grad rows [O, N*OH*OW] @ im2col [N*OH*OW, CKK].
  static Value conv2dWeightGrad(Emitter &e, Value g, Value x, Value w, ArrayRef<int64_t> s,
                                ArrayRef<int64_t> p) {
    RankedTensorType wt = e.typeOf(w);
    Value rows = windowRows(e, x, {wt.getDimSize(2), wt.getDimSize(3)}, s, p);
    return e.reshape(e.matmul2d(channelRows(e, g), rows), wt);
  }


  //===--------------------------------------------------------------------===//
  // Recurrence
  //===--------------------------------------------------------------------===//

  /// The [N, H] slice of a time-major [T, N, H] tensor at step `t`.
  static Value stepOf(Emitter &e, Value seq, Value t) {
    OpBuilder &b = e.b;
    RankedTensorType st = e.typeOf(seq);
    auto type = RankedTensorType::get({st.getDimSize(1), st.getDimSize(2)}, st.getElementType());
    SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), e.dim(seq, 1), b.getIndexAttr(st.getDimSize(2))};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(b, e.loc, type, seq, offsets, sizes, strides);
  }

  static Value setStep(Emitter &e, Value seq, Value step, Value t) {
    OpBuilder &b = e.b;
    RankedTensorType st = e.typeOf(seq);
    SmallVector<OpFoldResult> offsets{t, b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), e.dim(seq, 1), b.getIndexAttr(st.getDimSize(2))};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    return tensor::InsertSliceOp::create(b, e.loc, step, seq, offsets, sizes, strides);
  }

  /// Runs `body(t, carried...) -> carried...` for t = 0 .. steps-1 as an scf.for.
  static SmallVector<Value> loop(Emitter &e, int64_t steps, ValueRange init,
                                 function_ref<SmallVector<Value>(Emitter &, Value, ValueRange)> body) {
    auto op = scf::ForOp::create(e.b, e.loc, e.index(0), e.index(steps), e.index(1), init,
                                 [&](OpBuilder &nb, Location l, Value t, ValueRange carried) {
                                   Emitter inner(nb, l);
                                   scf::YieldOp::create(nb, l, body(inner, t, carried));
                                 });
    return SmallVector<Value>(op.getResults());
  }

  /// Steps [from, from + steps) of a time-major sequence.
  static Value steps(Emitter &e, Value seq, int64_t from, int64_t count) {
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
  static Value rnn(Emitter &e, Value x, Value wih, Value whh, Value bih, Value bhh,
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
  static Value rnnStepGrad(Emitter &e, Value states, Value g, Value whh) {
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

  /// torch.matmul for rank >= 2 with broadcast leading dims.
  static Value matmul(Emitter &e, Value lhs, Value rhs, RankedTensorType type) {
    OpBuilder &b = e.b;
    RankedTensorType lt = e.typeOf(lhs), rt = e.typeOf(rhs);
    int64_t rank = type.getRank(), batch = rank - 2;
    auto dynamic = e.dynamicSizes(type, [&](int64_t d) -> std::pair<Value, int64_t> {
      if (d == rank - 2)
        return {lhs, lt.getRank() - 2};
      if (d == rank - 1)
        return {rhs, rt.getRank() - 1};
      int64_t lo = d - (rank - lt.getRank());
      if (lo >= 0 && lt.isDynamicDim(lo))
        return {lhs, lo};
      return {rhs, d - (rank - rt.getRank())};
    });
    Value init = e.filled(type, dynamic, e.scalar(type.getElementType(), 0.0));
    if (rank == 2 && lt.getRank() == 2 && rt.getRank() == 2)
      return linalg::MatmulOp::create(b, e.loc, ValueRange{lhs, rhs}, ValueRange{init})
          .getResult(0);
    // Iteration space: batch dims, m, n, k.
    int64_t m = batch, n = batch + 1, k = batch + 2, dims = batch + 3;
    auto operandMap = [&](RankedTensorType t, int64_t row, int64_t col) {
      SmallVector<AffineExpr> exprs;
      int64_t offset = batch - (t.getRank() - 2);
      for (int64_t i = 0; i < t.getRank() - 2; ++i)
        exprs.push_back(t.getDimSize(i) == 1 && type.getDimSize(offset + i) != 1
                            ? b.getAffineConstantExpr(0)
                            : b.getAffineDimExpr(offset + i));
      exprs.push_back(b.getAffineDimExpr(row));
      exprs.push_back(b.getAffineDimExpr(col));
      return AffineMap::get(dims, 0, exprs, b.getContext());
    };
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < batch; ++i)
      outExprs.push_back(b.getAffineDimExpr(i));
    outExprs.push_back(b.getAffineDimExpr(m));
    outExprs.push_back(b.getAffineDimExpr(n));
    SmallVector<utils::IteratorType> iters(dims - 1, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    bool isFloat = isa<FloatType>(type.getElementType());
    auto op = linalg::GenericOp::create(
        b, e.loc, TypeRange{type}, ValueRange{lhs, rhs}, ValueRange{init},
        {operandMap(lt, m, k), operandMap(rt, k, n),
         AffineMap::get(dims, 0, outExprs, b.getContext())},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value p = isFloat ? arith::MulFOp::create(nb, l, a[0], a[1]).getResult()
                            : arith::MulIOp::create(nb, l, a[0], a[1]).getResult();
          linalg::YieldOp::create(nb, l, addScalar(nb, l, a[2], p));
        });
    return op.getResult(0);
  }

  /// x [..., in] @ weight^T + bias, through a 2-D linalg.matmul.
  static Value linear(Emitter &e, Value x, Value weight, Value bias, RankedTensorType type) {
    OpBuilder &b = e.b;
    RankedTensorType xt = e.typeOf(x), wt = e.typeOf(weight);
    Type elem = type.getElementType();
    int64_t in = wt.getDimSize(1), out = wt.getDimSize(0);
    bool batched = xt.getRank() != 2;
    int64_t rows = ShapedType::kDynamic;
    if (xt.hasStaticShape())
      rows = xt.getNumElements() / in;
    Value x2 = batched ? e.reshape(x, RankedTensorType::get({rows, in}, elem)) : x;
    auto wT = RankedTensorType::get({in, out}, elem);
    Value transposed =
        linalg::TransposeOp::create(b, e.loc, weight, e.empty(wT, {}), ArrayRef<int64_t>{1, 0})
            .getResult()[0];
    auto outType = RankedTensorType::get({rows, out}, elem);
    SmallVector<Value> dynamic;
    if (ShapedType::isDynamic(rows))
      dynamic.push_back(e.dim(x2, 0));
    Value init;
    if (bias) {
      // Start the accumulator at the bias, broadcast over rows.
      init = e.generic(outType, dynamic, ValueRange{bias},
                       {AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext())},
                       [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    } else {
      init = e.filled(outType, dynamic, e.scalar(elem, 0.0));
    }
    Value y = linalg::MatmulOp::create(b, e.loc, ValueRange{x2, transposed}, ValueRange{init})
                  .getResult(0);
    return batched ? e.reshape(y, type) : y;
  }

  static Value softmax(Emitter &e, Value x, int64_t dim, bool logarithm) {
    OpBuilder &b = e.b;
    RankedTensorType t = e.typeOf(x);
    Type elem = t.getElementType();
    int64_t rank = t.getRank();
    auto sameAs = [&](RankedTensorType type) {
      return e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
    };
    Value m = e.reduce(x, {dim}, lowest(e, elem, false),
                       [](OpBuilder &nb, Location l, ValueRange xs, Value acc) {
                         return maxScalar(nb, l, xs[0], acc, false);
                       });
    AffineMap id = b.getMultiDimIdentityMap(rank), dropped = e.droppedMap(rank, {dim});
    Value shifted = e.generic(t, sameAs(t), ValueRange{x, m}, {id, dropped},
                              [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                return arith::SubFOp::create(nb, l, a[0], a[1]);
                              });
    Value sum = e.reduce(shifted, {dim}, e.scalar(elem, 0.0),
                         [](OpBuilder &nb, Location l, ValueRange xs, Value acc) -> Value {
                           return arith::AddFOp::create(nb, l, acc,
                                                        math::ExpOp::create(nb, l, xs[0]));
                         });
    return e.generic(t, sameAs(t), ValueRange{shifted, sum}, {id, dropped},
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       if (logarithm)
                         return arith::SubFOp::create(nb, l, a[0], math::LogOp::create(nb, l, a[1]));
                       return arith::DivFOp::create(nb, l, math::ExpOp::create(nb, l, a[0]), a[1]);
                     });
  }

  static Value concat(Emitter &e, ArrayRef<Value> pieces, int64_t dim, RankedTensorType type) {
    OpBuilder &b = e.b;
    Value total = e.index(0);
    for (Value piece : pieces)
      total = arith::AddIOp::create(b, e.loc, total, e.dim(piece, dim));
    Value result = e.empty(type, e.dynamicSizes(type, [&](int64_t d) -> std::pair<Value, int64_t> {
      return {pieces.front(), d};
    }));
    if (type.isDynamicDim(dim)) {
      // The joined dim itself is dynamic: its size is the sum of the pieces'.
      SmallVector<Value> sizes;
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (type.isDynamicDim(d))
          sizes.push_back(d == dim ? total : e.dim(pieces.front(), d));
      result = e.empty(type, sizes);
    }
    Value offset = e.index(0);
    for (Value piece : pieces) {
      int64_t rank = type.getRank();
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes, strides(rank, b.getIndexAttr(1));
      offsets[dim] = offset;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t size = e.typeOf(piece).getDimSize(d);
        sizes.push_back(ShapedType::isDynamic(size) ? OpFoldResult(e.dim(piece, d))
                                                    : OpFoldResult(b.getIndexAttr(size)));
      }
      result = tensor::InsertSliceOp::create(b, e.loc, piece, result, offsets, sizes, strides);
      offset = arith::AddIOp::create(b, e.loc, offset, e.dim(piece, dim));
    }
    return result;
  }
};

/// tensor.dim (MLIRGen reads the batch size with it) follows its operand's
/// converted type.
struct ConvertDim : public OpConversionPattern<tensor::DimOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tensor::DimOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<tensor::DimOp>(op, adaptor.getSource(), adaptor.getIndex());
    return success();
  }
};

/// u8 tensors become i8 tensors; everything else stays.
class SignlessConverter : public TypeConverter {
public:
  SignlessConverter() {
    addConversion([](Type t) { return t; });
    addConversion([](RankedTensorType t) -> Type {
      auto i = dyn_cast<IntegerType>(t.getElementType());
      if (!i || i.isSignless())
        return t;
      return t.clone(IntegerType::get(t.getContext(), i.getWidth()));
    });
    auto cast = [](OpBuilder &b, Type type, ValueRange inputs, Location loc) -> Value {
      return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
    };
    addSourceMaterialization(cast);
    addTargetMaterialization(cast);
  }
};

struct LowerToLinalgPass : public kiln::impl::LowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    SignlessConverter converter;
    ConversionTarget target(*context);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalOp<ModuleOp, UnrealizedConversionCastOp>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, scf::SCFDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<tensor::DimOp>(
        [&](tensor::DimOp d) { return converter.isLegal(d.getSource().getType()); });
    target.addDynamicallyLegalOp<func::ReturnOp>(
        [&](func::ReturnOp r) { return converter.isLegal(r.getOperandTypes()); });
    RewritePatternSet patterns(context);
    patterns.add<LowerKilnOp, ConvertDim>(converter, context);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    if (failed(applyFullConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
