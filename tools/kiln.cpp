// kiln: the driver. Model file in; syntax tree, IR at any stage, or (with
// code generation) a standalone executable out.
#include "frontend/Frontend.h"
#include "frontend/MLIRGen.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>
#include <sstream>
#include <string>

namespace cl = llvm::cl;

namespace {

enum class Stage { AST, Kiln };

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.kiln>"),
                               cl::Required);
cl::opt<std::string> outputFile("o", cl::desc("Where to write the result (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"));
cl::opt<Stage> emit(
    "emit", cl::desc("Stop after a stage and print it"), cl::init(Stage::Kiln),
    cl::values(clEnumValN(Stage::AST, "ast", "the syntax tree"),
               clEnumValN(Stage::Kiln, "kiln", "Kiln IR as MLIRGen writes it")));

const char *const usage =
    "kiln: the Kiln deep-learning compiler\n"
    "\n"
    "USAGE: kiln build <model.kiln> [-o FILE] [--emit=STAGE] [MLIR options]\n"
    "       kiln check <model.kiln>    report the model file's errors, if any\n"
    "       kiln COMMAND --help        the options of COMMAND\n"
    "\n"
    "Exit status: 0 done, 1 the model file has errors, 2 bad usage.\n";

int fail(const std::string &message, int status) {
  llvm::errs() << "kiln: error: " << message << "\n";
  return status;
}

/// Prints Kiln IR with the model's names as SSA names.
int printModule(mlir::ModuleOp module) {
  std::error_code ec;
  llvm::raw_fd_ostream out(outputFile, ec);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message(), 2);
  mlir::OpPrintingFlags flags;
  flags.printNameLocAsPrefix(true);
  module.print(out, flags);
  return 0;
}

int run(bool checkOnly) {
  auto buffer = llvm::MemoryBuffer::getFile(inputFile, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("cannot read '" + inputFile + "': " + buffer.getError().message(), 1);
  std::string source = (*buffer)->getBuffer().str();
  kiln::Diagnostics diags(inputFile, source, std::cerr);

  if (!checkOnly && emit == Stage::AST) {
    std::error_code ec;
    llvm::raw_fd_ostream out(outputFile, ec);
    if (ec)
      return fail("cannot write '" + outputFile + "': " + ec.message(), 2);
    std::ostringstream text;
    bool ok = kiln::dumpAST(diags, text);
    out << text.str();
    return ok ? 0 : 1;
  }

  std::optional<kiln::Model> model = kiln::checkModel(diags);
  if (!model)
    return 1;
  if (checkOnly)
    return 0;

  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module = kiln::mlirGen(context, *model);
  if (!module)
    return fail("internal error: the generated Kiln IR does not verify", 1);

  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return 2;
  if (mlir::failed(pm.run(*module)))
    return 1;
  return printModule(*module);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") {
    llvm::outs() << usage;
    return 0;
  }
  if (command != "build" && command != "check") {
    llvm::errs() << (command.empty() ? "kiln: error: no command given\n"
                                     : "kiln: error: unknown command '" + command + "'\n")
                 << usage;
    return 2;
  }

  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // `kiln build` parses the arguments after the command, under its own name.
  std::string name = "kiln " + command;
  argv[1] = name.data();
  if (!cl::ParseCommandLineOptions(argc - 1, argv + 1, "Kiln: model file to executable\n",
                                   &llvm::errs()))
    return 2;
  return run(command == "check");
}
