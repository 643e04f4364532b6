#include "codegen/ObjectEmission.h"

#include "ir/KilnAttrs.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

namespace kiln {

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
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
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
  llvm::PassBuilder builder(machine.get());
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

} // namespace kiln
