// The kiln dialect's attributes (ir/KilnAttrs.td): entry points, the roles
// of arguments and results, initializers and the train block, with the
// helpers that passes and the manifest find functions and roles by.
#pragma once

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

#include "ir/KilnEnums.h.inc"

#include "common/TrainSettings.h"

// #kiln.train's enums are the plain ones of common/TrainSettings.h.
static_assert(unsigned(kiln::ir::Optimizer::RMSprop) == unsigned(kiln::OptimizerKind::RMSprop) &&
              unsigned(kiln::ir::Scheduler::CosineAnnealingLR) ==
                  unsigned(kiln::SchedulerKind::CosineAnnealingLR));

#include "ir/KilnAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/KilnAttrs.h.inc"

namespace kiln::ir {

/// The names the kiln dialect's attributes are attached under.
inline constexpr llvm::StringLiteral kModelAttrName = "kiln.model"; // module: StringAttr
inline constexpr llvm::StringLiteral kTrainAttrName = "kiln.train"; // module: TrainAttr
// module, set by kiln-plan-memory: {fixed_bytes, per_sample_bytes} (i64)
inline constexpr llvm::StringLiteral kWorkspaceAttrName = "kiln.workspace";
inline constexpr llvm::StringLiteral kEntryAttrName = "kiln.entry"; // function: EntryAttr
inline constexpr llvm::StringLiteral kRoleAttrName = "kiln.role";   // argument, result
// linalg.generic, set by kiln-lower-to-linalg: a window product's
// {kernel, stride, padding (array<i64: 2> each), rows (unit, optional)}
inline constexpr llvm::StringLiteral kWindowProductAttrName = "kiln.window_product";

/// The entry point `op` is marked as, if any.
std::optional<Entry> getEntry(mlir::Operation *op);
void setEntry(mlir::Operation *op, Entry entry);

/// The function of `module` marked as `entry`: null when there is none, an
/// error (reported at the second) when two are.
mlir::FailureOr<mlir::FunctionOpInterface> lookupEntry(mlir::ModuleOp module, Entry entry);

/// The role of argument or result `i` (null without one), or the role of
/// that kind (null when it has another).
mlir::Attribute getArgRole(mlir::FunctionOpInterface func, unsigned i);
mlir::Attribute getResultRole(mlir::FunctionOpInterface func, unsigned i);
template <typename Role>
Role getArgRole(mlir::FunctionOpInterface func, unsigned i) {
  return llvm::dyn_cast_or_null<Role>(getArgRole(func, i));
}
template <typename Role>
Role getResultRole(mlir::FunctionOpInterface func, unsigned i) {
  return llvm::dyn_cast_or_null<Role>(getResultRole(func, i));
}

/// Whether a train step's result with `role` is the new value of a
/// parameter, buffer or optimizer state (what the step updates).
bool isUpdateRole(mlir::Attribute role);

/// For a train step's result that is the new value of a parameter, buffer or
/// optimizer state, the argument holding the old value (the same role kind
/// and name); null for any other result.
mlir::BlockArgument updatedArgument(mlir::FunctionOpInterface func, unsigned result);

/// An argument or result attribute dictionary holding just `role`.
mlir::DictionaryAttr roleDict(mlir::Attribute role);

/// The name a role gives its value (an input's, a parameter's, a gradient's
/// parameter's, a hyperparameter's...); empty for the loss.
llvm::StringRef roleName(mlir::Attribute role);

/// Prints a double as the shortest decimal that reads back to the same
/// value (0.1, 1.0e-08, 42.0), and reads it back.
void printReal(mlir::AsmPrinter &printer, double value);
void printReal(mlir::AsmPrinter &printer, const llvm::APFloat &value);
mlir::ParseResult parseReal(mlir::AsmParser &parser, double &value);
mlir::ParseResult parseReal(mlir::AsmParser &parser, mlir::FailureOr<llvm::APFloat> &value);

} // namespace kiln::ir
