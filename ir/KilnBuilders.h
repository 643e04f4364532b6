// Small builders of kiln IR that the gradient rules and the decomposition
// pass share.
#pragma once

#include "ir/KilnDialect.h"

#include "mlir/IR/Builders.h"

namespace kiln::ir {

/// A 0-d constant of `like`'s element type.
mlir::Value scalarLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like, double value);

/// The number of elements of `x` over `dims` (all when empty), as a 0-d
/// tensor of x's element type; the batch size is read at run time.
mlir::Value countOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    llvm::ArrayRef<int64_t> dims);

/// The statistics a normalization takes over `dims` (kept as size 1): the
/// mean, x minus it, and the biased variance.
struct Moments {
  mlir::Value mean, centered, var;
};
Moments momentsOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                  llvm::ArrayRef<int64_t> dims);

/// 1 / sqrt(var + eps), in var's element type.
mlir::Value inverseStd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value var, double eps);

/// Batch norm's reduced dimensions: every one of `x` but 1 (the channels).
llvm::SmallVector<int64_t> batchNormDims(mlir::Value x);

/// A channel vector `v` [C] as [1, C, 1, ...] of `x`'s rank, so that it
/// broadcasts over x's channels (dimension 1).
mlir::Value perChannel(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Value x);

} // namespace kiln::ir
