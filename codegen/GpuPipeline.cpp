// The CUDA target's pipelines; see codegen/GpuPipeline.h and docs/compiler.md.
#include "codegen/GpuPipeline.h"

#include "codegen/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;

namespace kiln {

void registerGpuPipelinePasses() {
  registerGPUPasses();
  registerConvertParallelLoopToGpuPass();
  registerConvertGpuOpsToNVVMOpsPass();
  registerGpuToLLVMConversionPass();
  registerCodegenPasses();
}

void registerGpuCodegen(DialectRegistry &registry) {
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
}

std::string findLibdevice(const std::string &cudaPath) {
  llvm::SmallString<256> path(cudaPath);
  llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

std::string findPtxas(const std::string &cudaPath) {
  llvm::SmallString<256> path(cudaPath);
  llvm::sys::path::append(path, "bin", "ptxas");
  if (llvm::sys::fs::can_execute(path))
    return std::string(path);
  auto onPath = llvm::sys::findProgramByName("ptxas");
  return onPath ? *onPath : "";
}

static void addPipeline(OpPassManager &pm, const std::string &pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("kiln: bad built-in GPU pass pipeline");
}

void addLowerToGpuPasses(OpPassManager &pm) {
  // The same bufferization and memory plan as the CPU pipeline
  // (codegen/Pipeline.cpp), without the CPU's tiles and threads: every linalg
  // op becomes one kernel, and the temporaries are views of one device
  // workspace (runtime/kernels/Allocator.cpp takes it from device memory).
  addPipeline(pm,
              "kiln-approximate-tanh,canonicalize,cse,"
              "kiln-update-in-place,cse," // with eliminate-empty-tensors
              "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},"
              "kiln-drop-updated-results,buffer-results-to-out-params{modify-public-functions},canonicalize,"
              "buffer-deallocation-pipeline,kiln-plan-memory,"
              "kiln-gpu-matmul,kiln-gpu-scalar-kernels,kiln-gpu-map-loops,"
              "convert-parallel-loops-to-gpu,canonicalize,"
              "kiln-gpu-name-kernels,kiln-gpu-sink-globals,gpu-kernel-outlining,canonicalize");
}

void addGpuToBinaryPasses(OpPassManager &pm, const GpuOptions &options, bool fatbin) {
  std::string attach = "nvvm-attach-target{chip=" + options.chip + " features=+ptx80 O=3";
  std::string libdevice = findLibdevice(options.cudaPath);
  if (!libdevice.empty())
    attach += " l=" + libdevice;
  attach += "}";
  addPipeline(pm, attach +
                      ",gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,"
                      "convert-gpu-to-nvvm,kiln-gpu-native-math,canonicalize,reconcile-unrealized-casts),"
                      "gpu-module-to-binary{format=" +
                      std::string(fatbin ? "fatbin" : "isa") +
                      // PTX needs no toolkit; upstream reports a missing one.
                      (llvm::sys::fs::is_directory(options.cudaPath)
                           ? " toolkit=" + options.cudaPath
                           : std::string()) +
                      "}");
}

void addGpuHostToLLVMPasses(OpPassManager &pm) {
  // The host functions as on the CPU (codegen/Pipeline.cpp's last steps,
  // without the tiles and threads), then gpu-to-llvm for the launches'
  // operands, then Kiln's launcher calls and the image's globals.
  addPipeline(pm, "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
                  "expand-strided-metadata,lower-affine,"
                  "finalize-memref-to-llvm{use-generic-functions},"
                  "func.func(llvm-request-c-wrappers),"
                  "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
                  "convert-index-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
                  "gpu-to-llvm,reconcile-unrealized-casts,kiln-gpu-launch-to-runtime,"
                  "reconcile-unrealized-casts");
}

std::vector<std::string> kernelNames(ModuleOp module) {
  std::vector<std::string> names;
  module.walk([&](gpu::GPUFuncOp func) {
    if (func.isKernel())
      names.push_back(func.getName().str());
  });
  return names;
}

std::string binaryText(ModuleOp module) {
  std::string text;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        if (object.getFormat() == gpu::CompilationTarget::Assembly)
          text += object.getObject().getValue().str();
  });
  return text;
}

} // namespace kiln
