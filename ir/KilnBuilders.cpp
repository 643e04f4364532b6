#include "ir/KilnBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::ir {

Value scalarLike(OpBuilder &b, Location loc, Value like, double value) {
  Type elem = cast<RankedTensorType>(like.getType()).getElementType();
  auto type = RankedTensorType::get({}, elem);
  Attribute attr = isa<FloatType>(elem) ? Attribute(b.getFloatAttr(elem, value))
                                        : Attribute(b.getIntegerAttr(elem, int64_t(value)));
  return ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, attr));
}

Value countOf(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims) {
  auto type = cast<RankedTensorType>(x.getType());
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!dims.empty() && !llvm::is_contained(dims, d))
      continue;
    Value size = type.isDynamicDim(d)
                     ? tensor::DimOp::create(b, loc, x, d).getResult()
                     : arith::ConstantIndexOp::create(b, loc, type.getDimSize(d)).getResult();
    count = arith::MulIOp::create(b, loc, count, size);
  }
  Type elem = type.getElementType();
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
  Value f = arith::SIToFPOp::create(b, loc, elem, i64);
  return tensor::FromElementsOp::create(b, loc, RankedTensorType::get({}, elem), ValueRange{f});
}

Moments momentsOf(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims) {
  Value mean = MeanOp::create(b, loc, x, dims, true);
  Value centered = SubOp::create(b, loc, x, mean);
  Value var = MeanOp::create(b, loc, MulOp::create(b, loc, centered, centered), dims, true);
  return {mean, centered, var};
}

Value inverseStd(OpBuilder &b, Location loc, Value var, double eps) {
  return DivOp::create(b, loc, scalarLike(b, loc, var, 1.0),
                       SqrtOp::create(b, loc, AddOp::create(b, loc, var, scalarLike(b, loc, var, eps))));
}

SmallVector<int64_t> batchNormDims(Value x) {
  SmallVector<int64_t> dims{0};
  for (int64_t d = 2; d < cast<RankedTensorType>(x.getType()).getRank(); ++d)
    dims.push_back(d);
  return dims;
}

Value perChannel(OpBuilder &b, Location loc, Value v, Value x) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto vt = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(xt.getRank(), 1);
  shape[1] = vt.getDimSize(0);
  return ReshapeOp::create(b, loc, RankedTensorType::get(shape, vt.getElementType()), v);
}

} // namespace kiln::ir
