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

} // namespace kiln::ir
