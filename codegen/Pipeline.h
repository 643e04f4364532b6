// The pass pipelines after Kiln IR: grad (autodiff, train step), lowered
// (linalg on tensors, fused), then the LLVM dialect. The manifest is
// codegen/ModuleManifest.h; LLVM IR and machine code codegen/ObjectEmission.h.
#pragma once

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Registers the passes the pipelines below use (upstream and Kiln's), so
/// that pass options like --mlir-print-ir-after=PASS can name them. Calling
/// it twice is harmless.
void registerPipelinePasses();

/// Registers those passes, and their dialects and translations in `registry`.
void registerCodegen(mlir::DialectRegistry &registry);

/// Adds autodiff and train-step: @train_step joins the gradient of @loss
/// and the optimizer update (what `--emit=grad` prints).
void addGradPasses(mlir::OpPassManager &pm);

/// Adds the passes that take Kiln IR to upstream dialects (linalg on
/// tensors, fused): what `--emit=lowered` prints. kiln-lower-to-linalg's
/// options: `scatterByOwner`, the CUDA target's form of an embedding's
/// gradient; `windowProducts`, the CPU's form of a convolution's products
/// (the runtime's GEMM reads the image's windows).
void addLowerToLinalgPasses(mlir::OpPassManager &pm, bool scatterByOwner, bool windowProducts);

/// Adds kiln-form-regions: the lowered IR's linalg ops grouped into
/// kiln.fusion regions (what `--emit=fused` prints).
void addFusionPasses(mlir::OpPassManager &pm);

/// Adds the passes that take the fused IR to the LLVM dialect: tile the
/// regions, bufferize, results to caller-allocated out-params, loops, LLVM.
void addLowerToLLVMPasses(mlir::OpPassManager &pm);

} // namespace kiln
