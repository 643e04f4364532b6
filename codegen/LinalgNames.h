// Small facts about linalg ops that several codegen passes need.
#pragma once

#include "ir/KilnAttrs.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>
#include <utility>

namespace kiln {

/// Whether a product's A and B are read transposed: a plain matmul, or one
/// whose indexing_maps only swap A's or B's dimensions; none for any other
/// maps (a broadcast operand).
std::optional<std::pair<bool, bool>> matmulTransposes(mlir::linalg::MatmulOp op);

/// A window product: C (+)= A * im2col(x) as one linalg.generic over the
/// product's loops (i, j, p) that reads B's element from the image x in its
/// body (tensor.extract / memref.load), with no column matrix; the
/// attribute kWindowProduct ({kernel, stride, padding, rows}) marks it.
/// kiln-lower-to-linalg writes it for the CPU; kiln-matmul-to-call makes it
/// the runtime's kiln_conv_matmul. As loops it computes the same product.
inline constexpr llvm::StringLiteral kWindowProduct = ir::kWindowProductAttrName;
struct WindowProduct {
  llvm::SmallVector<int64_t> kernel, stride, padding;
  bool rows = false;
  mlir::Value image; // x [N, C, H, W]
};
std::optional<WindowProduct> windowProduct(mlir::Operation *op);

/// Whether `op` is a matrix product that a region keeps whole (the runtime's
/// GEMM splits its own work): linalg.matmul, batch_matmul or a window
/// product.
bool isProduct(mlir::Operation *op);

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
