#include "ir/DTypes.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace kiln::ir {

Type elementType(MLIRContext *context, DType dtype) {
  switch (dtype) {
  case DType::F32: return Float32Type::get(context);
  case DType::F64: return Float64Type::get(context);
  case DType::I32: return IntegerType::get(context, 32);
  case DType::I64: return IntegerType::get(context, 64);
  case DType::U8: return IntegerType::get(context, 8, IntegerType::Unsigned);
  }
  return {};
}

std::optional<DType> dtypeOf(Type element) {
  for (DType dtype : kAllDTypes)
    if (element == elementType(element.getContext(), dtype))
      return dtype;
  return std::nullopt;
}

} // namespace kiln::ir
