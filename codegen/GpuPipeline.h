// The CUDA target's pass pipelines (kiln build --target cuda): from the
// lowered IR (linalg on tensors) to kernels in one gpu.module with the host
// functions launching them, then NVVM and PTX (and a cubin/fatbin when
// ptxas is there) in process. The CPU pipelines are codegen/Pipeline.h.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace kiln {

struct GpuOptions {
  std::string chip = "sm_80";             // --gpu-arch
  std::string cudaPath = "/usr/local/cuda"; // --cuda-path: libdevice, ptxas, fatbinary
  /// Also produce a fatbin (cubin for `chip` and the PTX) with ptxas and
  /// fatbinary from the toolkit; otherwise the PTX alone (the driver JITs it).
  bool fatbin = false;
};

/// Registers the upstream GPU passes the pipelines below name (for
/// --mlir-print-ir-after=...), and Kiln's GPU passes.
void registerGpuPipelinePasses();

/// Registers the NVVM target and the GPU/NVVM translations in `registry`.
void registerGpuCodegen(mlir::DialectRegistry &registry);

/// The libdevice bitcode under `cudaPath`, or "" when it is not there.
std::string findLibdevice(const std::string &cudaPath);
/// The ptxas under `cudaPath`/bin, or on $PATH; "" when there is none.
std::string findPtxas(const std::string &cudaPath);

/// Lowered IR -> buffers -> every product a tiled GEMM launch, every other
/// linalg op an scf.parallel mapped to blocks and threads -> gpu.launch ->
/// kernels outlined into gpu.module @kiln_kernels (what `--emit=gpu` prints).
void addLowerToGpuPasses(mlir::OpPassManager &pm);

/// The gpu.module to NVVM, then to a gpu.binary holding PTX (format isa), or
/// a fatbin when `options.fatbin`. libdevice is linked when found.
void addGpuToBinaryPasses(mlir::OpPassManager &pm, const GpuOptions &options,
                          bool fatbin);

/// After addGpuToBinaryPasses: the host functions to the LLVM dialect, each
/// gpu.launch_func a kiln_cuda_launch call, the gpu.binary the globals
/// runtime/gpu loads (kiln-gpu-launch-to-runtime).
void addGpuHostToLLVMPasses(mlir::OpPassManager &pm);

/// The kernels' names, in the order gpu.module @kiln_kernels defines them.
std::vector<std::string> kernelNames(mlir::ModuleOp module);

/// The PTX text of the module's gpu.binary objects of format isa (after
/// addGpuToBinaryPasses with fatbin = false); "" when there is none.
std::string binaryText(mlir::ModuleOp module);

} // namespace kiln
