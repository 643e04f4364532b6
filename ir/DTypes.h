// The model language's dtypes as MLIR element types, and back. u8 is an
// unsigned 8-bit integer in the kiln dialect (signless i8 after lowering).
#pragma once

#include "common/DType.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Types.h"

#include <optional>

namespace kiln::ir {

mlir::Type elementType(mlir::MLIRContext *context, DType dtype);

/// The dtype of a kiln element type; nullopt for any other type.
std::optional<DType> dtypeOf(mlir::Type element);

} // namespace kiln::ir
