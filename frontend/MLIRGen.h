// MLIRGen: the checked Model becomes Kiln IR. The only file that knows both.
#pragma once

#include "frontend/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln {

/// Builds a module with
///   func.func @forward(inputs..., params...) -> outputs...
///   func.func @loss(inputs..., targets..., params...) -> loss?, metrics...
/// (the second only when the model has a loss or a metric), each marked as
/// an entry point (`kiln.entry`). Arguments and results carry their roles
/// with the model's names (`kiln.role = #kiln.input<"x">`, ...), the module
/// the model's name and train block (ir/KilnAttrs.td), every operation the
/// location of its expression in the model file, and named values a
/// NameLoc, so the printed IR can use the model's names.
/// Returns null after reporting a verifier failure (a compiler bug).
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          const Model &model);

} // namespace kiln
