#include "codegen/Pipeline.h"

#include "codegen/Passes.h"
#include "passes/Passes.h"
#include "ir/DTypes.h"
#include "ir/KilnDialect.h"
#include "runtime/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <cstdio>

using namespace mlir;

namespace kiln {

void registerPipelinePasses() {
  // Only the upstream passes the pipelines below name, so that `kiln build
  // --help` stays short; kiln-opt registers every pass.
  registerCanonicalizerPass();
  registerCSEPass();
  registerLinalgElementwiseOpFusionPass();
  registerConvertLinalgToLoopsPass();
  bufferization::registerOneShotBufferizePass();
  bufferization::registerBufferResultsToOutParamsPass();
  bufferization::registerBufferizationPipelines();
  memref::registerExpandStridedMetadataPass();
  LLVM::registerLLVMRequestCWrappersPass();
  registerLowerAffinePass();
  registerSCFToControlFlowPass();
  registerFinalizeMemRefToLLVMConversionPass();
  registerConvertMathToLLVMPass();
  registerConvertMathToLibmPass();
  registerArithToLLVMConversionPass();
  registerConvertIndexToLLVMPass();
  registerConvertFuncToLLVMPass();
  registerConvertControlFlowToLLVMPass();
  registerReconcileUnrealizedCastsPass();
  registerCodegenPasses();
  registerKilnPasses();
}

void registerCodegen(DialectRegistry &registry) {
  registerPipelinePasses();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<ir::KilnDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

static void addPipeline(OpPassManager &pm, const char *pipeline) {
  // The pipelines are fixed text; a parse failure is a bug in this file.
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("kiln: bad built-in pass pipeline");
}

void addGradPasses(OpPassManager &pm) {
  pm.addPass(createAutodiff());
  pm.addPass(createTrainStep());
  addPipeline(pm, "canonicalize,cse");
}

void addLowerToLinalgPasses(OpPassManager &pm) {
  pm.addPass(createDecompose());
  pm.addPass(createLowerToLinalg());
  addPipeline(pm, "canonicalize,linalg-fuse-elementwise-ops,cse,canonicalize");
}

void addLowerToLLVMPasses(OpPassManager &pm) {
  addPipeline(pm,
              "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},"
              "buffer-results-to-out-params{modify-public-functions},canonicalize,"
              "buffer-deallocation-pipeline,kiln-matmul-to-call,"
              "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
              "expand-strided-metadata,lower-affine,finalize-memref-to-llvm{use-generic-functions},"
              "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
              "convert-index-to-llvm,func.func(llvm-request-c-wrappers),"
              "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts");
}

//===----------------------------------------------------------------------===//
// The manifest
//===----------------------------------------------------------------------===//

static DType manifestDType(Type element) {
  // The dialect's verifiers admit only the language's element types.
  std::optional<DType> dtype = ir::dtypeOf(element);
  if (!dtype)
    llvm::report_fatal_error("kiln: the manifest met an element type no model file can name");
  return *dtype;
}

static std::vector<int64_t> manifestShape(RankedTensorType type) {
  std::vector<int64_t> shape;
  for (int64_t size : type.getShape())
    shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return shape;
}

static runtime::InitSpec parseInit(StringRef text) {
  runtime::InitSpec init;
  if (text == "ones")
    init.kind = runtime::InitSpec::Kind::Ones;
  else if (std::sscanf(text.str().c_str(), "uniform(%lf, %lf)", &init.a, &init.b) == 2)
    init.kind = runtime::InitSpec::Kind::Uniform;
  else if (std::sscanf(text.str().c_str(), "normal(%lf, %lf)", &init.a, &init.b) == 2)
    init.kind = runtime::InitSpec::Kind::Normal;
  return init;
}

/// FLOPs of one op for one sample (the batch dimension taken as 1): two per
/// multiply-add in products, one per element elsewhere.
static int64_t flopsPerSample(Operation *op) {
  auto count = [](Value v) {
    int64_t n = 1;
    for (int64_t size : cast<RankedTensorType>(v.getType()).getShape())
      n *= ShapedType::isDynamic(size) ? 1 : size;
    return n;
  };
  if (op->getNumResults() != 1 || !isa<RankedTensorType>(op->getResult(0).getType()))
    return 0;
  int64_t out = count(op->getResult(0));
  if (auto linear = dyn_cast<ir::LinearOp>(op))
    return 2 * out * linear.getWeight().getType().getDimSize(1);
  if (auto matmul = dyn_cast<ir::MatMulOp>(op)) {
    auto lhs = matmul.getLhs().getType();
    return 2 * out * lhs.getDimSize(lhs.getRank() - 1);
  }
  if (auto conv = dyn_cast<ir::Conv2dOp>(op)) {
    auto w = conv.getWeight().getType();
    return 2 * out * w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3);
  }
  if (op->getNumOperands() > 0 && isa<RankedTensorType>(op->getOperand(0).getType()))
    return std::max(out, count(op->getOperand(0)));
  return out;
}

std::string manifestJson(ModuleOp module) {
  runtime::Manifest m;
  if (auto name = module->getAttrOfType<StringAttr>("kiln.model"))
    m.model = name.str();
  if (auto train = module->getAttrOfType<DictionaryAttr>("kiln.train")) {
    m.hasTrain = true;
    auto f = [&](StringRef key) { return cast<FloatAttr>(train.get(key)).getValueAsDouble(); };
    auto i = [&](StringRef key) { return cast<IntegerAttr>(train.get(key)).getInt(); };
    m.train.optimizer = cast<StringAttr>(train.get("optimizer")).str();
    m.train.lr = f("lr");
    m.train.momentum = f("momentum");
    m.train.weightDecay = f("weight_decay");
    m.train.beta1 = f("beta1");
    m.train.beta2 = f("beta2");
    m.train.eps = f("eps");
    m.train.batch = i("batch");
    m.train.epochs = i("epochs");
    m.train.seed = static_cast<uint64_t>(i("seed"));
    m.train.shuffle = cast<BoolAttr>(train.get("shuffle")).getValue();
  }
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.getName() == "loss_grad")
      continue; // for tests (kiln_loss_grad), not for the runtime
    m.entryPoints.push_back(func.getName().str());
    bool isForward = func.getName() == "forward";
    for (unsigned a = 0; a < func.getNumArguments(); ++a) {
      auto type = cast<RankedTensorType>(func.getArgument(a).getType());
      runtime::TensorSpec spec{"", manifestDType(type.getElementType()), manifestShape(type)};
      if (auto n = func.getArgAttrOfType<StringAttr>(a, "kiln.input")) {
        if (!isForward)
          continue;
        spec.name = n.str();
        m.inputs.push_back(spec);
      } else if (auto n = func.getArgAttrOfType<StringAttr>(a, "kiln.target")) {
        if (func.getName() != "loss")
          continue;
        spec.name = n.str();
        m.targets.push_back(spec);
      } else if (auto n = func.getArgAttrOfType<StringAttr>(a, "kiln.param")) {
        if (!isForward)
          continue;
        auto init = func.getArgAttrOfType<StringAttr>(a, "kiln.init");
        m.params.push_back({n.str(), spec.dtype, spec.shape,
                            parseInit(init ? init.getValue() : "zeros")});
      }
    }
    for (unsigned r = 0; r < func.getNumResults() && func.getName() != "train_step"; ++r) {
      auto type = cast<RankedTensorType>(func.getResultTypes()[r]);
      if (auto n = func.getResultAttrOfType<StringAttr>(r, "kiln.output")) {
        m.outputs.push_back({n.str(), manifestDType(type.getElementType()), manifestShape(type)});
      } else if (func.getResultAttr(r, "kiln.loss")) {
        m.loss = true;
        m.scalarDType = manifestDType(type.getElementType());
      } else if (auto n = func.getResultAttrOfType<StringAttr>(r, "kiln.metric")) {
        m.metrics.push_back(n.str());
        m.scalarDType = manifestDType(type.getElementType());
      }
    }
    if (isForward)
      func.walk([&](Operation *op) { m.flopsPerSample += flopsPerSample(op); });
    if (func.getName() == "train_step")
      for (unsigned a = 0; a < func.getNumArguments(); ++a) {
        auto type = cast<RankedTensorType>(func.getArgument(a).getType());
        if (auto n = func.getArgAttrOfType<StringAttr>(a, "kiln.state"))
          m.state.push_back({n.str(), manifestDType(type.getElementType()), manifestShape(type)});
        else if (auto n = func.getArgAttrOfType<StringAttr>(a, "kiln.hyper"))
          m.hyper.push_back(n.str());
      }
  }
  return m.toJson();
}

//===----------------------------------------------------------------------===//
// LLVM IR and machine code
//===----------------------------------------------------------------------===//

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
  // The model's names (kiln.input, kiln.param, ...) are in the manifest now;
  // LLVM has no use for them as parameter attributes.
  module.walk([](FunctionOpInterface func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttrs(i, ArrayRef<NamedAttribute>{});
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      func.setResultAttrs(i, ArrayRef<NamedAttribute>{});
  });
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context, "kiln");
  if (!llvmModule)
    return nullptr;
  for (StringRef name : {"forward", "loss", "loss_grad", "train_step"})
    if (llvm::Function *ciface = llvmModule->getFunction(("_mlir_ciface_" + name).str()))
      addPackedWrapper(*llvmModule, ciface, name);
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
