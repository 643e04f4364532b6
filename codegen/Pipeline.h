// The code generation ladder after Kiln IR: lowered (linalg on tensors) ->
// LLVM dialect -> LLVM IR -> assembly or object file, all in process.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

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
/// tensors, fused): what `--emit=lowered` prints.
void addLowerToLinalgPasses(mlir::OpPassManager &pm);

/// Adds the passes that take the lowered IR to the LLVM dialect: bufferize,
/// results to caller-allocated out-params, loops, LLVM.
void addLowerToLLVMPasses(mlir::OpPassManager &pm);

/// The manifest (runtime/Manifest.h's JSON) of a module of Kiln IR.
std::string manifestJson(mlir::ModuleOp kilnModule);

/// Translates an LLVM-dialect module to LLVM IR, adding the runtime's ABI:
/// `kiln_manifest_json` and a `void kiln_F(void **args)` per function F.
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp llvmModule,
                                                llvm::LLVMContext &context,
                                                const std::string &manifest);

enum class MachineOutput { LLVMIR, Assembly, Object };

/// Optimizes `module` at O3 for the host CPU and writes the optimized LLVM
/// IR, assembly or an object file. Returns an error message, empty on success.
std::string emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &out,
                            MachineOutput what);

} // namespace kiln
