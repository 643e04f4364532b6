// Object emission: an LLVM-dialect module to LLVM IR with the runtime's ABI
// (the manifest and one packed wrapper per entry point), then LLVM's O3
// pipeline and the host TargetMachine, in process.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Translates an LLVM-dialect module to LLVM IR, adding the runtime's ABI:
/// `kiln_manifest_json` and, for each function marked #kiln.entry<E>, a
/// `void kiln_E(void **args)` that calls its C interface.
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp llvmModule,
                                                llvm::LLVMContext &context,
                                                const std::string &manifest);

enum class MachineOutput { LLVMIR, Assembly, Object };

/// Optimizes `module` at O3 for the host CPU and writes the optimized LLVM
/// IR, assembly or an object file. Returns an error message, empty on success.
std::string emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &out,
                            MachineOutput what);

/// Optimizes and compiles `module` into object files, one per partition,
/// on as many threads as the machine has cores (at most `maxThreads`; 0:
/// all of them). The module is split (llvm::SplitModule) so that each entry
/// point stays with the functions only it uses (its tiles and their tasks,
/// internal): every partition then gets the same O3 and code generation the
/// whole module would, on its own thread and LLVMContext. `objects` gets
/// the written files' paths (temporary files; the caller removes them), also
/// on failure. Returns an error message, empty on success.
std::string emitObjectFiles(llvm::Module &module, unsigned maxThreads,
                            std::vector<std::string> &objects);

} // namespace kiln
