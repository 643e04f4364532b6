// The pass pipelines from Kiln IR down to the LLVM dialect, and the
// registration that lets kiln and kiln-opt name their passes. The manifest
// is codegen/ModuleManifest.cpp; LLVM IR and machine code are
// codegen/ObjectEmission.cpp.
#include "codegen/Pipeline.h"

#include "codegen/Passes.h"
#include "passes/Passes.h"
#include "ir/KilnDialect.h"

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
  bufferization::registerEmptyTensorEliminationPass();
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

void addLowerToLinalgPasses(OpPassManager &pm, bool scatterByOwner, bool windowProducts) {
  pm.addPass(createDecompose());
  // What decomposition leaves to fold (a transpose of a transpose in the
  // RNN's gradient). No CSE here: two equal products must stay two, or the
  // add that folds into one product's accumulator would lose it.
  addPipeline(pm, "canonicalize");
  LowerToLinalgOptions options;
  options.scatterByOwner = scatterByOwner;
  options.windowProducts = windowProducts;
  pm.addPass(createLowerToLinalg(options));
  addPipeline(pm, "canonicalize,linalg-fuse-elementwise-ops,cse,canonicalize");
}

void addFusionPasses(OpPassManager &pm) { pm.addPass(createFormRegions()); }

void addLowerToLLVMPasses(OpPassManager &pm) {
  pm.addPass(createTileRegions());
  pm.addPass(createApproximateTanh());
  pm.addPass(createApproximateExp());
  // Folds the tiles' index arithmetic (affine.min of constant sizes).
  addPipeline(pm, "canonicalize,cse");
  // cse after bufferization: a tile that writes its slice of a shared output
  // in place ends in a copy between two equal subviews of one buffer (the
  // RNN's step: 58 of them, 32 KB each); cse makes them one value, and
  // canonicalize erases the copy of a buffer onto itself.
  // kiln-update-in-place eliminates the empty tensors: a value computed only
  // to be inserted into a slice (the recurrent loops' states), or to be a
  // train step's new parameter, is computed in that slice or that argument
  // instead, with no copy after bufferization.
  addPipeline(pm,
              "kiln-update-in-place,cse,"
              "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},"
              "kiln-drop-updated-results,buffer-results-to-out-params{modify-public-functions},cse,canonicalize,"
              "buffer-deallocation-pipeline,kiln-merge-parallel-loops,kiln-plan-memory,"
              "kiln-forall-to-threads,kiln-merge-duplicate-functions,kiln-matmul-to-call,kiln-collapse-dims,"
              "kiln-interchange-windows,kiln-interchange-reductions,"
              "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
              "expand-strided-metadata,lower-affine,finalize-memref-to-llvm{use-generic-functions},"
              // C wrappers for the model's functions only: the libm
              // declarations (erff for gelu) keep the plain C ABI.
              "func.func(llvm-request-c-wrappers),"
              "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
              "convert-index-to-llvm,"
              "convert-func-to-llvm,kiln-parallel-to-llvm,convert-cf-to-llvm,"
              "reconcile-unrealized-casts");
}

} // namespace kiln
