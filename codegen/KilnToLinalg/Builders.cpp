// The Emitter and the scalar bodies the kiln-to-linalg patterns share.
#include "codegen/KilnToLinalg/Builders.h"

using namespace mlir;

namespace kiln::lowering {

bool isUnsigned(Type tensorType) {
  return cast<RankedTensorType>(tensorType).getElementType().isUnsignedInteger();
}

//===----------------------------------------------------------------------===//
// Emitter
//===----------------------------------------------------------------------===//

Value Emitter::index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

Value Emitter::dim(Value tensor, int64_t d) {
  int64_t size = typeOf(tensor).getDimSize(d);
  if (!ShapedType::isDynamic(size))
    return index(size);
  return tensor::DimOp::create(b, loc, tensor, d);
}

Value Emitter::scalar(Type type, double v) {
  if (auto f = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(f, v));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(v)));
}

Value Emitter::toFloat(Value indexValue, Type floatType) {
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), indexValue);
  return arith::SIToFPOp::create(b, loc, floatType, i64);
}

Value Emitter::empty(RankedTensorType type, ValueRange dynamic) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamic);
}

Value Emitter::filled(RankedTensorType type, ValueRange dynamic, Value value) {
  return linalg::FillOp::create(b, loc, value, empty(type, dynamic)).getResult(0);
}

SmallVector<Value>
Emitter::dynamicSizes(RankedTensorType type,
                      function_ref<std::pair<Value, int64_t>(int64_t)> source) {
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d)) {
      auto [tensor, sd] = source(d);
      sizes.push_back(dim(tensor, sd));
    }
  return sizes;
}

SmallVector<Value> Emitter::batchOf(RankedTensorType type, Value like) {
  return dynamicSizes(type, [&](int64_t) { return std::pair<Value, int64_t>{like, 0}; });
}

SmallVector<Value> Emitter::sizesOf(RankedTensorType type, Value like) {
  return dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{like, d}; });
}

Value Emitter::generic(RankedTensorType type, ValueRange dynamic, ValueRange inputs,
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

AffineMap Emitter::broadcastMap(ArrayRef<int64_t> shape, ArrayRef<int64_t> resultShape) {
  int64_t rank = resultShape.size(), offset = rank - shape.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
    exprs.push_back(shape[i] == 1 && resultShape[offset + i] != 1
                        ? b.getAffineConstantExpr(0)
                        : b.getAffineDimExpr(offset + i));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value Emitter::broadcastGeneric(RankedTensorType type, ValueRange inputs, BodyFn body) {
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

Emitter::Reduction Emitter::reduction(Value input, ArrayRef<int64_t> dims) {
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

Value Emitter::reduce(Value input, ArrayRef<int64_t> dims, Value init, CombineFn combine,
                      ValueRange extra) {
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

AffineMap Emitter::droppedMap(int64_t rank, ArrayRef<int64_t> dims) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(dims, d))
      exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value Emitter::reshape(Value src, RankedTensorType to) {
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

Value Emitter::transpose(Value x, ArrayRef<int64_t> perm) {
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

Value Emitter::matmul2d(Value lhs, Value rhs, Value init, bool lhsT, bool rhsT) {
  int64_t rowDim = lhsT ? 1 : 0, colDim = rhsT ? 0 : 1;
  if (!init) {
    auto type = RankedTensorType::get({typeOf(lhs).getDimSize(rowDim), typeOf(rhs).getDimSize(colDim)},
                                      typeOf(lhs).getElementType());
    SmallVector<Value> dynamic;
    if (type.isDynamicDim(0))
      dynamic.push_back(dim(lhs, rowDim));
    if (type.isDynamicDim(1))
      dynamic.push_back(dim(rhs, colDim));
    init = filled(type, dynamic, scalar(type.getElementType(), 0.0));
  }
  if (!lhsT && !rhsT)
    return linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{init}).getResult(0);
  // (m, n, k): A is (m, k) or (k, m), B (k, n) or (n, k), C (m, n).
  AffineExpr m = b.getAffineDimExpr(0), n = b.getAffineDimExpr(1), k = b.getAffineDimExpr(2);
  auto map = [&](AffineExpr x, AffineExpr y) {
    return AffineMapAttr::get(AffineMap::get(3, 0, {x, y}, b.getContext()));
  };
  auto maps = b.getArrayAttr({lhsT ? map(k, m) : map(m, k), rhsT ? map(n, k) : map(k, n), map(m, n)});
  return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs},
                                  ValueRange{init}, {b.getNamedAttr("indexing_maps", maps)})
      .getResult(0);
}

Value Emitter::toTensor(Value v) {
  return tensor::FromElementsOp::create(b, loc, RankedTensorType::get({}, v.getType()),
                                        ValueRange{v});
}

Value Emitter::extractScalar(Value tensor0d) {
  return tensor::ExtractOp::create(b, loc, tensor0d, ValueRange{});
}

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

Type accumulatorType(Type element) {
  if (element.isF32())
    return Float64Type::get(element.getContext());
  return element;
}

Value highest(Emitter &e, Type type, bool isUnsignedInt) {
  if (auto f = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        e.b, e.loc, e.b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(), false)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt v = isUnsignedInt ? APInt::getMaxValue(width) : APInt::getSignedMaxValue(width);
  return arith::ConstantOp::create(e.b, e.loc, e.b.getIntegerAttr(type, v));
}

Value minScalar(OpBuilder &b, Location loc, Value x, Value y, bool isUnsignedInt) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, loc, x, y);
  if (isUnsignedInt)
    return arith::MinUIOp::create(b, loc, x, y);
  return arith::MinSIOp::create(b, loc, x, y);
}

Value lowest(Emitter &e, Type type, bool isUnsignedInt) {
  if (auto f = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        e.b, e.loc, e.b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(), true)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt v = isUnsignedInt ? APInt::getMinValue(width) : APInt::getSignedMinValue(width);
  return arith::ConstantOp::create(e.b, e.loc, e.b.getIntegerAttr(type, v));
}

/// The index of the first largest (or, `smallest`, first smallest) value
/// along `dim`.
static Value argExtreme(Emitter &e, Value input, int64_t dim, bool isUnsignedInt, bool smallest) {
  RankedTensorType in = e.typeOf(input);
  Type elem = in.getElementType(), i64 = e.b.getI64Type();
  Emitter::Reduction r = e.reduction(input, {dim});
  Value best = e.filled(RankedTensorType::get(r.shape, elem), r.dynamic,
                        smallest ? highest(e, elem, isUnsignedInt)
                                 : lowest(e, elem, isUnsignedInt));
  Value where = e.filled(RankedTensorType::get(r.shape, i64), r.dynamic, e.scalar(i64, 0));
  auto op = linalg::GenericOp::create(
      e.b, e.loc, TypeRange{best.getType(), where.getType()}, ValueRange{input},
      ValueRange{best, where}, {e.b.getMultiDimIdentityMap(in.getRank()), r.out, r.out}, r.iters,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = args[0], bestSoFar = args[1], at = args[2];
        Value i = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, dim));
        // Strictly larger, or equal and earlier: the first maximum whatever
        // order the loop runs in, as torch.argmax (smaller for the minimum).
        Value larger, equal;
        if (isa<FloatType>(elem)) {
          larger = arith::CmpFOp::create(
              b, l, smallest ? arith::CmpFPredicate::OLT : arith::CmpFPredicate::OGT, x, bestSoFar);
          equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, bestSoFar);
        } else {
          auto gt = isUnsignedInt ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt;
          if (smallest)
            gt = isUnsignedInt ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt;
          larger = arith::CmpIOp::create(b, l, gt, x, bestSoFar);
          equal = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, x, bestSoFar);
        }
        Value earlier = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, at);
        Value take =
            arith::OrIOp::create(b, l, larger, arith::AndIOp::create(b, l, equal, earlier));
        linalg::YieldOp::create(b, l,
                                ValueRange{arith::SelectOp::create(b, l, take, x, bestSoFar),
                                           arith::SelectOp::create(b, l, take, i, at)});
      });
  return op.getResult(1);
}

Value argmax(Emitter &e, Value input, int64_t dim, bool isUnsignedInt) {
  return argExtreme(e, input, dim, isUnsignedInt, false);
}

Value argmin(Emitter &e, Value input, int64_t dim, bool isUnsignedInt) {
  return argExtreme(e, input, dim, isUnsignedInt, true);
}

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

} // namespace kiln::lowering
