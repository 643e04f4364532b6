// kiln: the driver. Model file in; the syntax tree, the IR at any stage, or
// a standalone executable out.
#include "codegen/GpuPipeline.h"
#include "codegen/ModuleManifest.h"
#include "codegen/ObjectEmission.h"
#include "codegen/Pipeline.h"
#include "frontend/Frontend.h"
#include "frontend/MLIRGen.h"
#include "ir/KilnAttrs.h"
#include "tools/Plot.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

namespace cl = llvm::cl;

namespace {

enum class Stage { AST, Kiln, Grad, Lowered, Fused, Gpu, LLVM, Ptx, Asm, Obj, Exe };
enum class Target { CPU, CUDA };

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.kiln>"), cl::Required);
// `kiln check` takes several files (a test checks thousands in one process).
cl::list<std::string> moreInputFiles(cl::Positional, cl::desc("[<model.kiln>...]"),
                                     cl::ZeroOrMore);
cl::opt<std::string> outputFile(
    "o", cl::desc("Output file (default: the model file's name without .kiln for an "
                  "executable, NAME.o for an object, stdout for text)"),
    cl::value_desc("file"));
cl::opt<bool> withLossGrad(
    "with-loss-grad",
    cl::desc("Also compile @loss_grad (kiln_loss_grad: the loss, metrics and every "
             "parameter's gradient), which tests call; executables never do"),
    cl::init(false));
// For tests: a CPU build with the GPU's form of an embedding's gradient,
// whose numbers must be the CPU form's (test/driver/embedding-grad-forms.test).
cl::opt<bool> scatterByOwner(
    "scatter-by-owner", cl::Hidden,
    cl::desc("An embedding's gradient as --target cuda computes it (one generic over the "
             "table; the CPU's default is a loop over the positions)"),
    cl::init(false));
cl::opt<Stage> emit(
    "emit", cl::desc("Stop after a stage and write it (default: an executable)"),
    cl::init(Stage::Exe),
    cl::values(clEnumValN(Stage::AST, "ast", "the syntax tree"),
               clEnumValN(Stage::Kiln, "kiln", "Kiln IR as MLIRGen writes it"),
               clEnumValN(Stage::Grad, "grad", "Kiln IR with @train_step (autodiff, optimizer)"),
               clEnumValN(Stage::Lowered, "lowered", "upstream dialects: linalg on tensors, fused"),
               clEnumValN(Stage::Fused, "fused", "linalg on tensors grouped into kiln.fusion regions"),
               clEnumValN(Stage::Gpu, "gpu",
                          "--target cuda: kernels outlined into gpu.module, host launching them"),
               clEnumValN(Stage::LLVM, "llvm", "LLVM IR, optimized"),
               clEnumValN(Stage::Ptx, "ptx", "--target cuda: the kernels' PTX"),
               clEnumValN(Stage::Asm, "asm", "host assembly"),
               clEnumValN(Stage::Obj, "obj", "a host object file")));

cl::opt<Target> target("target", cl::desc("What the model runs on (default: cpu)"),
                       cl::init(Target::CPU),
                       cl::values(clEnumValN(Target::CPU, "cpu", "this machine's CPU"),
                                  clEnumValN(Target::CUDA, "cuda",
                                             "an NVIDIA GPU: generated PTX kernels")));
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("--target cuda: the GPU architecture (default: sm_80)"),
                             cl::init("sm_80"), cl::value_desc("sm_NN"));
cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("--target cuda: the CUDA toolkit (libdevice; ptxas and fatbinary for a cubin; "
             "default: $CUDA_HOME, else /usr/local/cuda)"),
    cl::value_desc("dir"));

cl::opt<unsigned> jobs("jobs",
                       cl::desc("Threads that optimize and compile an executable's code, one "
                                "part of the module each (default 0: every core)"),
                       cl::init(0), cl::value_desc("N"));

const char *const usage =
    "kiln: the Kiln deep-learning compiler\n"
    "\n"
    "USAGE: kiln build <model.kiln> [-o FILE] [--emit=STAGE] [--target cpu|cuda] [MLIR options]\n"
    "       kiln build <kiln.mlir> ...  start from Kiln IR (what --emit=kiln writes)\n"
    "       kiln check <model.kiln>... report the model files' errors, if any\n"
    "       kiln plot <M.jsonl> [-o FILE.svg]\n"
    "                                  training curves from an executable's --metrics log\n"
    "       kiln --version\n"
    "       kiln COMMAND --help        the options of COMMAND\n"
    "\n"
    "Stages: ast kiln grad lowered fused llvm asm obj (and gpu ptx with --target cuda);\n"
    "without --emit, an executable.\n"
    "Exit status: 0 done, 1 the model file has errors, 2 bad usage (or, for plot, a bad log).\n";

int fail(const std::string &message, int status) {
  llvm::errs() << "kiln: error: " << message << "\n";
  return status;
}

std::string defaultOutput() {
  llvm::StringRef stem = llvm::sys::path::stem(inputFile);
  if (emit == Stage::Exe)
    return stem.str();
  if (emit == Stage::Obj)
    return (stem + ".o").str();
  return "-";
}

/// Where the runtime library is: beside the compiler's own lib/ folder.
std::string runtimeLibrary(const char *argv0) {
  if (const char *path = std::getenv("KILN_RUNTIME_LIB"))
    return path;
  std::string self = llvm::sys::fs::getMainExecutable(argv0, (void *)&runtimeLibrary);
  llvm::SmallString<256> path(llvm::sys::path::parent_path(llvm::sys::path::parent_path(self)));
  llvm::sys::path::append(path, "lib", "libKilnRuntime.a");
  return std::string(path);
}

/// Links `objects` with the runtime into the executable `output`.
int link(const std::vector<std::string> &objects, const std::string &output, const char *argv0) {
  std::string runtime = runtimeLibrary(argv0);
  if (!llvm::sys::fs::exists(runtime))
    return fail("cannot find the Kiln runtime library '" + runtime +
                    "' (set KILN_RUNTIME_LIB to its path)",
                2);
  const char *cxxEnv = std::getenv("KILN_CXX");
  std::string cxxName = cxxEnv ? cxxEnv : KILN_DEFAULT_CXX;
  auto cxx = llvm::sys::findProgramByName(cxxName);
  if (!cxx)
    return fail("cannot find the C++ compiler '" + cxxName + "' to link with (set KILN_CXX)", 2);
  std::vector<llvm::StringRef> args = {*cxx};
  args.insert(args.end(), objects.begin(), objects.end());
  args.insert(args.end(), {runtime, "-lz", "-lm", "-lpthread"});
  // Extra link flags, space-separated: the build's own (a sanitized build's
  // runtime needs -fsanitize=... at link time), then KILN_LINK_FLAGS.
  const char *flagsEnv = std::getenv("KILN_LINK_FLAGS");
  std::string flags = std::string(KILN_DEFAULT_LINK_FLAGS) + " " + (flagsEnv ? flagsEnv : "");
  llvm::SmallVector<llvm::StringRef> extra;
  llvm::StringRef(flags).split(extra, ' ', -1, /*KeepEmpty=*/false);
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("-o");
  args.push_back(output);
  std::string error;
  int status = llvm::sys::ExecuteAndWait(*cxx, args, std::nullopt, {}, 0, 0, &error);
  if (status != 0)
    return fail("linking '" + output + "' failed" + (error.empty() ? "" : ": " + error), 1);
  return 0;
}

/// Runs `pm` (with MLIR's --mlir-print-ir-* and timing options applied).
bool runPasses(mlir::PassManager &pm, mlir::ModuleOp module) {
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return false;
  mlir::applyDefaultTimingPassManagerCLOptions(pm);
  return mlir::succeeded(pm.run(module));
}

int printModule(mlir::ModuleOp module, const std::string &output) {
  std::string error;
  auto out = mlir::openOutputFile(output, &error);
  if (!out)
    return fail(error, 2);
  mlir::OpPrintingFlags flags;
  flags.printNameLocAsPrefix(true); // the model's names as SSA names
  module.print(out->os(), flags);
  out->keep();
  return 0;
}

/// A model file is text of a few kilobytes; this bounds what a mistaken path
/// (a disk image, a log) costs before the parser says it is not a model.
constexpr uint64_t kMaxModelFileBytes = 16 << 20;

/// The model file's contents, or an error already reported: only a regular
/// file is read, since a FIFO blocks and /dev/zero never ends.
std::unique_ptr<llvm::MemoryBuffer> readModelFile(const std::string &inputFile) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(inputFile, status)) {
    fail("cannot read '" + inputFile + "': " + ec.message(), 1);
    return nullptr;
  }
  if (status.type() != llvm::sys::fs::file_type::regular_file) {
    fail("cannot read '" + inputFile + "': not a regular file", 1);
    return nullptr;
  }
  if (status.getSize() > kMaxModelFileBytes) {
    fail("cannot read '" + inputFile + "': " + std::to_string(status.getSize()) +
             " bytes is too large for a model file (at most 16 MiB)",
         1);
    return nullptr;
  }
  auto buffer = llvm::MemoryBuffer::getFile(inputFile, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    fail("cannot read '" + inputFile + "': " + buffer.getError().message(), 1);
    return nullptr;
  }
  return std::move(*buffer);
}

/// Whether `output` can be created: its folder exists (else the linker or
/// the object writer would fail after all the work, with its own words).
bool outputFolderExists(const std::string &output) {
  llvm::StringRef folder = llvm::sys::path::parent_path(output);
  return folder.empty() || llvm::sys::fs::is_directory(folder);
}

/// The CUDA toolkit folder: --cuda-path, else $CUDA_HOME, else /usr/local/cuda.
std::string cudaToolkit() {
  if (!cudaPath.empty())
    return cudaPath;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  return "/usr/local/cuda";
}

/// The lowered module (LLVM dialect) to LLVM IR with the manifest, then
/// --emit=llvm|asm|obj (one file, the whole module), or objects compiled in
/// parallel and linked with the runtime.
int emitAndLink(mlir::ModuleOp module, const std::string &manifest,
                const std::string &output, const char *argv0) {
  llvm::LLVMContext llvmContext;
  auto llvmModule = kiln::translateToLLVMIR(module, llvmContext, manifest);
  if (!llvmModule)
    return fail("internal error: translation to LLVM IR failed", 1);

  if (emit == Stage::Exe) {
    // The objects are compiled in parallel, one per partition of the module.
    std::vector<std::string> objects;
    std::string error = kiln::emitObjectFiles(*llvmModule, jobs, objects);
    int status = error.empty() ? link(objects, output, argv0) : fail(error, 1);
    for (const std::string &object : objects)
      llvm::sys::fs::remove(object);
    return status;
  }
  std::string error;
  auto out = mlir::openOutputFile(output, &error);
  if (!out)
    return fail(error, 2);
  auto what = emit == Stage::LLVM  ? kiln::MachineOutput::LLVMIR
              : emit == Stage::Asm ? kiln::MachineOutput::Assembly
                                   : kiln::MachineOutput::Object;
  error = kiln::emitMachineCode(*llvmModule, out->os(), what);
  if (!error.empty())
    return fail(error, 1);
  out->keep();
  return 0;
}

/// --target cuda from the grad stage on: the lowered IR's ops become
/// kernels (codegen/GpuPipeline.h).
int buildCuda(mlir::ModuleOp module, const std::string &manifest, const std::string &output,
              const char *argv0) {
  llvm::StringRef arch = gpuArch;
  if (!arch.starts_with("sm_") || arch.size() < 5 ||
      !llvm::all_of(arch.drop_front(3).take_while([](char c) { return c != 'a'; }),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return fail("--gpu-arch '" + gpuArch + "' is not an NVIDIA architecture such as sm_80", 2);
  kiln::GpuOptions options;
  options.chip = gpuArch;
  options.cudaPath = cudaToolkit();
  mlir::PassManager pm(module.getContext());
  kiln::addLowerToLinalgPasses(pm, /*scatterByOwner=*/true, /*windowProducts=*/false);
  if (emit == Stage::Lowered)
    return runPasses(pm, module) ? printModule(module, output) : 1;
  if (emit == Stage::Fused) {
    kiln::addFusionPasses(pm);
    return runPasses(pm, module) ? printModule(module, output) : 1;
  }
  kiln::addLowerToGpuPasses(pm);
  if (emit == Stage::Gpu)
    return runPasses(pm, module) ? printModule(module, output) : 1;
  if (!runPasses(pm, module))
    return 1;
  std::vector<std::string> kernels = kiln::kernelNames(module);
  // An executable embeds a fatbin (cubin + PTX) when ptxas and fatbinary
  // are there, else the PTX for the driver's JIT; --emit=ptx prints the PTX.
  bool fatbin = emit != Stage::Ptx && !kiln::findPtxas(options.cudaPath).empty() &&
                llvm::sys::fs::can_execute(options.cudaPath + "/bin/fatbinary");
  mlir::PassManager binaryPM(module.getContext());
  kiln::addGpuToBinaryPasses(binaryPM, options, fatbin);
  if (!runPasses(binaryPM, module))
    return 1;
  std::string ptx = kiln::binaryText(module);
  // A math function libdevice would have defined: the PTX cannot load.
  for (size_t at = ptx.find(".extern"); at != std::string::npos;
       at = ptx.find(".extern", at + 1)) {
    size_t lineEnd = ptx.find('\n', at);
    size_t nv = ptx.find("__nv_", at);
    if (nv == std::string::npos || nv > lineEnd)
      continue;
    size_t end = ptx.find_first_of("(; \n", nv);
    return fail("the kernels call " + ptx.substr(nv, end - nv) +
                    " from CUDA's libdevice, which is not at '" + options.cudaPath +
                    "/nvvm/libdevice/libdevice.10.bc' (give the toolkit with --cuda-path)",
                1);
  }
  if (emit != Stage::Ptx) {
    mlir::PassManager hostPM(module.getContext());
    kiln::addGpuHostToLLVMPasses(hostPM);
    if (!runPasses(hostPM, module))
      return 1;
    // The manifest gains the target and the kernels, by launch index order
    // of definition (info lists them).
    std::string extra = ",\"target\":\"cuda\",\"gpu_arch\":\"" + options.chip +
                        "\",\"kernels\":[";
    for (size_t i = 0; i < kernels.size(); ++i)
      extra += (i ? ",\"" : "\"") + kernels[i] + "\"";
    extra += "]";
    std::string withTarget = kiln::withMemoryPlan(manifest, module);
    size_t close = withTarget.rfind('}');
    withTarget.insert(close, extra);
    return emitAndLink(module, withTarget, output, argv0);
  }
  std::string error;
  auto out = mlir::openOutputFile(output, &error);
  if (!out)
    return fail(error, 2);
  out->os() << ptx;
  out->keep();
  return 0;
}

int build(const char *argv0) {
  std::string output = outputFile.empty() ? defaultOutput() : outputFile;
  if (output != "-" && !outputFolderExists(output))
    return fail("cannot write '" + output + "': the folder '" +
                    llvm::sys::path::parent_path(output).str() + "' does not exist",
                2);
  // `kiln build mymodel` (no .kiln) or `-o model.kiln` would replace the
  // source with what is built.
  if (output != "-" && llvm::sys::fs::equivalent(inputFile, output))
    return fail("the output '" + output + "' is the model file itself; name another with -o",
                2);
  std::unique_ptr<llvm::MemoryBuffer> buffer = readModelFile(inputFile);
  if (!buffer)
    return 1;
  std::string source = buffer->getBuffer().str();
  kiln::Diagnostics diags(inputFile, source, std::cerr);

  // A .mlir file is Kiln IR, as --emit=kiln writes it (the tests make f64
  // variants of models this way): it starts at the kiln stage.
  bool fromIR = llvm::StringRef(inputFile).ends_with(".mlir");
  if (fromIR && emit == Stage::AST)
    return fail("--emit=ast needs a model file, not Kiln IR", 2);
  if (emit == Stage::AST) {
    std::ostringstream text;
    bool ok = kiln::dumpAST(diags, text);
    std::string error;
    auto out = mlir::openOutputFile(output, &error);
    if (!out)
      return fail(error, 2);
    out->os() << text.str();
    out->keep();
    return ok ? 0 : 1;
  }

  if (target == Target::CPU && (emit == Stage::Gpu || emit == Stage::Ptx))
    return fail(std::string("--emit=") + (emit == Stage::Gpu ? "gpu" : "ptx") +
                    " needs --target cuda",
                2);
  std::optional<kiln::Model> model;
  if (!fromIR && !(model = kiln::checkModel(diags)))
    return 1;

  mlir::DialectRegistry registry;
  kiln::registerCodegen(registry);
  kiln::registerGpuCodegen(registry);
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(false); // errors point at the model file, not at IR
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      fromIR ? mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context)
             : kiln::mlirGen(context, *model);
  if (!module)
    return fromIR ? 1 : fail("internal error: the generated Kiln IR does not verify", 1);

  if (emit == Stage::Kiln)
    return printModule(*module, output);

  mlir::PassManager gradPM(&context);
  kiln::addGradPasses(gradPM);
  if (!runPasses(gradPM, *module))
    return 1;
  if (emit == Stage::Grad)
    return printModule(*module, output);

  // The manifest describes the functions as the runtime calls them.
  std::string manifest = kiln::manifestJson(*module);
  // @train_step holds @loss_grad's body already; compiling it again for the
  // tests alone costs a quarter of the compile time.
  if (!withLossGrad)
    if (auto lossGrad = kiln::ir::lookupEntry(*module, kiln::ir::Entry::LossGrad);
        succeeded(lossGrad) && *lossGrad)
      lossGrad->erase();
  if (target == Target::CUDA)
    return buildCuda(*module, manifest, output, argv0);
  mlir::PassManager pm(&context);
  kiln::addLowerToLinalgPasses(pm, scatterByOwner, /*windowProducts=*/true);
  if (emit == Stage::Lowered)
    return runPasses(pm, *module) ? printModule(*module, output) : 1;
  kiln::addFusionPasses(pm);
  if (emit == Stage::Fused)
    return runPasses(pm, *module) ? printModule(*module, output) : 1;
  kiln::addLowerToLLVMPasses(pm);
  if (!runPasses(pm, *module))
    return 1;
  manifest = kiln::withMemoryPlan(manifest, *module);

  return emitAndLink(*module, manifest, output, argv0);
}

int check(const std::string &inputFile) {
  std::unique_ptr<llvm::MemoryBuffer> buffer = readModelFile(inputFile);
  if (!buffer)
    return 1;
  std::string source = buffer->getBuffer().str();
  kiln::Diagnostics diags(inputFile, source, std::cerr);
  std::optional<kiln::Model> model = kiln::checkModel(diags);
  if (!model)
    return 1;
  llvm::outs() << inputFile << ": model '" << model->name << "' has no errors ("
               << kiln::describe(*model) << ")\n";
  return 0;
}

/// `kiln plot LOG [-o OUT]`: the default output is the log's name with .svg.
int plot() {
  if (emit.getNumOccurrences())
    return fail("--emit is not an option of kiln plot", 2);
  std::string output = outputFile;
  if (output.empty())
    output = (llvm::sys::path::stem(inputFile) + ".svg").str();
  return kiln::plot::runPlot(inputFile, output);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") {
    llvm::outs() << usage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    llvm::outs() << "kiln " KILN_VERSION " (LLVM and MLIR " KILN_LLVM_VERSION ")\n";
    return 0;
  }
  if (command != "build" && command != "check" && command != "plot") {
    llvm::errs() << (command.empty() ? "kiln: error: no command given\n"
                                     : "kiln: error: unknown command '" + command + "'\n")
                 << usage;
    return 2;
  }

  // Passes first: --mlir-print-ir-after=PASS looks names up as it registers.
  kiln::registerPipelinePasses();
  kiln::registerGpuPipelinePasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // --help shows Kiln's options and MLIR's (--mlir-*), not the hundreds
  // every LLVM backend registers; --help-hidden still lists them all.
  // kiln plot has only -o.
  const llvm::StringSet<> buildOptions = {"emit", "target", "gpu-arch", "cuda-path", "jobs"};
  for (auto &[optionName, option] : cl::getRegisteredOptions())
    if ((!optionName.starts_with("mlir-") || command == "plot") && optionName != "o" &&
        !buildOptions.contains(optionName) &&
        (optionName != "with-loss-grad" || command == "plot") &&
        !optionName.starts_with("help") && optionName != "version")
      option->setHiddenFlag(cl::ReallyHidden);
  // The arguments after the command parse under the name "kiln COMMAND".
  if (command != "check")
    moreInputFiles.setDescription(""); // not in their usage line
  if (command == "plot") {
    inputFile.setDescription("<M.jsonl>");
    outputFile.setDescription(
        "The SVG file to write (default: the log's name with .svg; - for stdout)");
    emit.setHiddenFlag(cl::ReallyHidden);
    target.setHiddenFlag(cl::ReallyHidden);
    gpuArch.setHiddenFlag(cl::ReallyHidden);
    cudaPath.setHiddenFlag(cl::ReallyHidden);
    jobs.setHiddenFlag(cl::ReallyHidden);
  }
  std::string name = "kiln " + command;
  argv[1] = name.data();
  const char *overview = command == "plot" ? "Kiln: training curves from a --metrics log\n"
                                            : "Kiln: model file to executable\n";
  if (!cl::ParseCommandLineOptions(argc - 1, argv + 1, overview, &llvm::errs()))
    return 2;
  if (command == "check") {
    int status = check(inputFile);
    for (const std::string &file : moreInputFiles)
      status = std::max(status, check(file));
    return status;
  }
  if (!moreInputFiles.empty())
    return fail("kiln " + command + " takes one file; '" + moreInputFiles.front() +
                    "' is one too many",
                2);
  return command == "plot" ? plot() : build(argv[0]);
}
