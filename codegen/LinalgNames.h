// Small facts about linalg ops that several codegen passes need.
#pragma once

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>
#include <utility>

namespace kiln {

/// Whether a product's A and B are read transposed: a plain matmul, or one
/// whose indexing_maps only swap A's or B's dimensions; none for any other
/// maps (a broadcast operand).
std::optional<std::pair<bool, bool>> matmulTransposes(mlir::linalg::MatmulOp op);

/// The model's name for the value an op computes (its NameLoc, as MLIRGen
/// and autodiff set them: "net.0.weight.grad"), as an identifier suffix
/// ("_net_0_weight_grad"), or "".
std::string modelNameSuffix(mlir::Location loc);

/// Interchanges the loops of every linalg.generic under `root` for which
/// `order` gives a new order (upstream's interchangeGenericOp: the maps and
/// the body's linalg.index follow their loops).
using LoopOrderFn =
    llvm::function_ref<std::optional<llvm::SmallVector<unsigned>>(mlir::linalg::GenericOp)>;
mlir::LogicalResult interchangeGenerics(mlir::Operation *root, LoopOrderFn order);

} // namespace kiln
