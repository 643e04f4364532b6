// kiln-gpu-sink-globals: before gpu-kernel-outlining, a constant global a
// kernel reads (a literal tensor in the model, `[[1.0, 2.0], ...]`) is taken
// into the kernel. Left outside, its `memref.get_global` would pass the
// kernel the address of the host's copy, which the GPU cannot read. Moved
// into the launch's body, outlining copies the global into the GPU module,
// where it becomes device memory of the loaded module.
#include "codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_GPUSINKGLOBALS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct GpuSinkGlobals : kiln::impl::GpuSinkGlobalsBase<GpuSinkGlobals> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    module.walk([&](gpu::LaunchOp launch) {
      Region &body = launch.getBody();
      llvm::SetVector<memref::GetGlobalOp> used;
      body.walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (auto global = operand.getDefiningOp<memref::GetGlobalOp>())
            if (!body.isAncestor(global->getParentRegion()))
              used.insert(global);
      });
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      for (memref::GetGlobalOp global : used) {
        auto definition = symbols.lookup<memref::GlobalOp>(global.getName());
        if (!definition || !definition.getConstant()) {
          global.emitError("a kernel reads a global that is not a constant: the GPU cannot "
                           "read host memory");
          return signalPassFailure();
        }
        auto inside = cast<memref::GetGlobalOp>(b.clone(*global));
        global.getResult().replaceUsesWithIf(inside.getResult(), [&](OpOperand &use) {
          return body.isAncestor(use.getOwner()->getParentRegion());
        });
      }
    });
  }
};

} // namespace
