#include "codegen/ObjectEmission.h"

#include "ir/KilnAttrs.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/Timer.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <mutex>
#include <thread>

using namespace mlir;

namespace kiln {

/// Two of O3's defaults, changed once per process (a value given on the
/// command line wins; docs/compiler.md has the measurements):
/// - `unroll-full-max-count` 8: O3 fully unrolls every loop of a constant
///   trip count whose unrolled body stays under its size threshold. In
///   Kiln's loop nests that is the row of a small static dimension (a bias
///   of 10 or 32 broadcast over the batch): once unrolled, the vectorizer
///   takes the batch loop instead and writes columns with scatters, slower
///   code that takes long to compile (half of the CNN's build). Loops of at
///   most 8 iterations (a 5x5 window's) are still unrolled.
/// - `vectorizer-min-trip-count` 4: below 16 iterations (by default) the
///   loop vectorizer optimizes for size: no scalar remainder and no run-time
///   check that two buffers do not overlap. Kiln's rows are often 10 or 14
///   long and read one buffer while writing another, so they stayed scalar
///   (the CNN's pooling gradient: 10% of its step, 3% vectorized).
static void setCodegenDefaults() {
  static constexpr std::pair<llvm::StringLiteral, llvm::StringLiteral> defaults[] = {
      {"unroll-full-max-count", "8"}, {"vectorizer-min-trip-count", "4"}};
  auto &options = llvm::cl::getRegisteredOptions();
  for (auto [name, value] : defaults) {
    auto it = options.find(name);
    if (it != options.end() && it->second->getNumOccurrences() == 0)
      it->second->addOccurrence(0, name, value);
  }
}

/// What convert-func-to-llvm names a function's C interface.
static constexpr llvm::StringLiteral kCInterfacePrefix = "_mlir_ciface_";

/// `void kiln_F(void **args)` unpacks args into `_mlir_ciface_F`'s pointers
/// to memref descriptors, so the runtime calls every model alike.
static void addPackedWrapper(llvm::Module &module, llvm::Function *ciface, StringRef name) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false);
  auto *wrapper = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                         ("kiln_" + name).str(), module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < ciface->arg_size(); ++i)
    args.push_back(b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, wrapper->getArg(0), i)));
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
}

std::unique_ptr<llvm::Module> translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                                                const std::string &manifest) {
  // The entry points, by their #kiln.entry (the C interface wrapper that
  // convert-func-to-llvm adds copies the attribute; it is not one itself).
  SmallVector<std::pair<ir::Entry, std::string>> entries;
  for (auto func : module.getOps<FunctionOpInterface>())
    if (std::optional<ir::Entry> entry = ir::getEntry(func))
      if (!func.getName().starts_with(kCInterfacePrefix))
        entries.push_back({*entry, func.getName().str()});
  // The model's roles and entry points are in the manifest now; LLVM has no
  // use for them as function or parameter attributes.
  module.walk([](FunctionOpInterface func) {
    func->removeAttr(ir::kEntryAttrName);
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttrs(i, ArrayRef<NamedAttribute>{});
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      func.setResultAttrs(i, ArrayRef<NamedAttribute>{});
  });
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context, "kiln");
  if (!llvmModule)
    return nullptr;
  for (const auto &[entry, name] : entries) {
    llvm::Function *ciface = llvmModule->getFunction((kCInterfacePrefix + name).str());
    if (!ciface) {
      module.emitError() << "the entry point @" << name << " has no C interface ("
                         << kCInterfacePrefix << name << ")";
      return nullptr;
    }
    addPackedWrapper(*llvmModule, ciface, ir::stringifyEntry(entry));
  }
  auto *text = llvm::ConstantDataArray::getString(context, manifest, /*AddNull=*/true);
  new llvm::GlobalVariable(*llvmModule, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text, "kiln_manifest_json");
  return llvmModule;
}

std::string emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &out,
                            MachineOutput what) {
  // Registration writes LLVM's target registry: once, whichever thread
  // compiles first (emitObjectFiles runs this on several).
  static std::once_flag registered;
  std::call_once(registered, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    setCodegenDefaults();
  });
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return error;
  llvm::SubtargetFeatures features;
  for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature, enabled);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), options,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // LLVM's own instrumentation, so that `kiln build -time-passes` reports
  // the optimization pipeline's passes too, not only code generation's.
  llvm::PassInstrumentationCallbacks instrumentation;
  llvm::StandardInstrumentations standard(module.getContext(), /*DebugLogging=*/false);
  standard.registerCallbacks(instrumentation, &mam);
  llvm::PassBuilder builder(machine.get(), llvm::PipelineTuningOptions(), std::nullopt,
                            &instrumentation);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);

  if (what == MachineOutput::LLVMIR) {
    module.print(out, nullptr);
    return "";
  }
  llvm::legacy::PassManager codegen;
  auto kind = what == MachineOutput::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                              : llvm::CodeGenFileType::ObjectFile;
  if (machine->addPassesToEmitFile(codegen, out, nullptr, kind))
    return "the host target cannot emit this file type";
  codegen.run(module);
  return "";
}

/// llvm::SplitModule keeps a local function in one partition with every
/// function using it. The runtime calls' local C-interface wrappers
/// (kiln_workspace, kiln_matmul_f32, ...) are used by every entry point, so
/// they would hold the whole module in one partition: each calling function
/// gets its own copy instead (a few instructions, inlined at O3 anyway).
static void copyLocalHelpersPerCaller(llvm::Module &module) {
  std::vector<llvm::Function *> shared;
  for (llvm::Function &f : module) {
    if (f.isDeclaration() || !f.hasLocalLinkage())
      continue;
    llvm::SmallPtrSet<llvm::Function *, 4> callers;
    bool onlyCalls = true;
    for (llvm::User *user : f.users()) {
      auto *call = llvm::dyn_cast<llvm::CallBase>(user);
      if (!call || call->getCalledOperand() != &f)
        onlyCalls = false;
      else
        callers.insert(call->getFunction());
    }
    if (onlyCalls && callers.size() > 1)
      shared.push_back(&f);
  }
  for (llvm::Function *f : shared) {
    llvm::SmallVector<llvm::CallBase *> calls;
    for (llvm::User *user : f->users())
      calls.push_back(llvm::cast<llvm::CallBase>(user));
    llvm::DenseMap<llvm::Function *, llvm::Function *> copyFor;
    for (llvm::CallBase *call : calls) {
      llvm::Function *caller = call->getFunction();
      if (copyFor.empty())
        copyFor[caller] = f; // the first caller keeps the original
      llvm::Function *&copy = copyFor[caller];
      if (!copy) {
        llvm::ValueToValueMapTy map;
        copy = llvm::CloneFunction(f, map);
        copy->setName(f->getName() + "." + caller->getName());
      }
      call->setCalledOperand(copy);
    }
  }
}

/// A local function that several functions refer to by address (a tile
/// function that kiln-merge-duplicate-functions left to forward, loss and
/// train_step alike) would also hold its users in one partition: it gets
/// hidden external linkage, so that each partition can reach it.
static void externalizeSharedLocals(llvm::Module &module) {
  for (llvm::Function &f : module) {
    if (f.isDeclaration() || !f.hasLocalLinkage())
      continue;
    llvm::SmallPtrSet<llvm::Function *, 4> users;
    for (llvm::User *user : f.users())
      if (auto *instruction = llvm::dyn_cast<llvm::Instruction>(user))
        users.insert(instruction->getFunction());
    if (users.size() > 1) {
      f.setLinkage(llvm::GlobalValue::ExternalLinkage);
      f.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  }
}

std::string emitObjectFiles(llvm::Module &module, unsigned maxThreads,
                            std::vector<std::string> &objects) {
  unsigned threads = llvm::heavyweight_hardware_concurrency().compute_thread_count();
  if (maxThreads)
    threads = std::min(threads, maxThreads);
  // -time-passes keeps LLVM's timers in global groups: one thread.
  if (llvm::TimePassesIsEnabled)
    threads = 1;
  auto newObject = [&](std::string &error) -> std::string {
    llvm::SmallString<128> path;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("kiln", "o", path))
      error = "cannot create a temporary file: " + ec.message();
    else
      objects.push_back(std::string(path));
    return std::string(path);
  };
  auto emitTo = [](llvm::Module &part, const std::string &path) -> std::string {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    if (ec)
      return "cannot write '" + path + "': " + ec.message();
    return emitMachineCode(part, out, MachineOutput::Object);
  };
  std::string error;
  if (threads <= 1) {
    std::string path = newObject(error);
    return error.empty() ? emitTo(module, path) : error;
  }

  // Each partition crosses to its thread as bitcode: an LLVMContext is not
  // shared between threads.
  std::vector<llvm::SmallString<0>> parts;
  copyLocalHelpersPerCaller(module);
  externalizeSharedLocals(module);
  llvm::SplitModule(
      module, threads,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::SmallString<0> bitcode;
        llvm::raw_svector_ostream os(bitcode);
        llvm::WriteBitcodeToFile(*part, os);
        parts.push_back(std::move(bitcode));
      },
      /*PreserveLocals=*/true);
  std::vector<std::string> paths;
  for (size_t i = 0; i < parts.size() && error.empty(); ++i)
    paths.push_back(newObject(error));
  if (!error.empty())
    return error;
  std::vector<std::string> errors(parts.size());
  std::vector<std::thread> workers;
  for (size_t i = 0; i < parts.size(); ++i)
    workers.emplace_back([&, i] {
      llvm::LLVMContext context;
      auto part = llvm::parseBitcodeFile(
          llvm::MemoryBufferRef(llvm::StringRef(parts[i].data(), parts[i].size()), "kiln"),
          context);
      if (!part)
        errors[i] = llvm::toString(part.takeError());
      else
        errors[i] = emitTo(**part, paths[i]);
    });
  for (std::thread &worker : workers)
    worker.join();
  for (const std::string &e : errors)
    if (!e.empty())
      return e;
  return "";
}

} // namespace kiln
