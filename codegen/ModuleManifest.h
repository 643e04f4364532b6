// The manifest: what the runtime learns about a model (runtime/Manifest.h),
// read off a module of Kiln IR's entry points and their typed attributes.
#pragma once

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace kiln {

/// The manifest's JSON for a module of Kiln IR after the train step (what
/// `--emit=grad` prints): the model's name and train settings, inputs,
/// targets and outputs from #kiln.entry<forward> and <loss>, parameters
/// with their initializers, the optimizer state and hyperparameters of
/// <train_step>, and the entry points the runtime may call (all but
/// <loss_grad>, which is for the gradient checks).
std::string manifestJson(mlir::ModuleOp kilnModule);

/// The manifest with the memory plan that kiln-plan-memory recorded on the
/// lowered module (`kiln.workspace`); unchanged when there is none.
std::string withMemoryPlan(const std::string &manifest, mlir::ModuleOp lowered);

} // namespace kiln
