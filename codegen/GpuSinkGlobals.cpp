// kiln-gpu-sink-globals: before gpu-kernel-outlining, a constant global a
// kernel reads (a literal tensor in the model, `[[1.0, 2.0], ...]`), or a
// view of one (a reshaped literal), is taken into the kernel. Left outside,
// the kernel would get the address of the host's copy, which the GPU cannot
// read. Moved into the launch's body (the `memref.get_global` and the views
// made of it, with any global they read, such as a reshape's shape),
// outlining copies the globals into the GPU module, where they become device
// memory of the loaded module.
#include "codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_GPUSINKGLOBALS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The global `v` is, or is a view of (through view-like ops), if any.
memref::GetGlobalOp globalOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto global = dyn_cast<memref::GetGlobalOp>(def))
      return global;
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return {};
    v = view.getViewSource();
  }
  return {};
}

struct GpuSinkGlobals : kiln::impl::GpuSinkGlobalsBase<GpuSinkGlobals> {
  /// `v`'s op cloned into `body` (at `b`), after the ops of its operands that
  /// are globals or views of them: the clone's result. Each op once (`map`).
  FailureOr<Value> sink(Value v, Region &body, OpBuilder &b, IRMapping &map) {
    if (Value done = map.lookupOrNull(v))
      return done;
    Operation *def = v.getDefiningOp();
    if (auto global = dyn_cast<memref::GetGlobalOp>(def)) {
      auto definition =
          SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(global, global.getNameAttr());
      if (!definition || !definition.getConstant()) {
        global.emitError("a kernel reads a global that is not a constant: the GPU cannot read "
                         "host memory");
        return failure();
      }
    }
    for (Value operand : def->getOperands())
      if (!body.isAncestor(operand.getParentRegion()) && globalOf(operand))
        if (failed(sink(operand, body, b, map)))
          return failure();
    Operation *clone = b.clone(*def, map);
    for (auto [from, to] : llvm::zip(def->getResults(), clone->getResults()))
      map.map(from, to);
    return map.lookup(v);
  }

  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](gpu::LaunchOp launch) {
      Region &body = launch.getBody();
      // The values from outside the launch that its body uses and that are
      // globals or views of them, in the order first used.
      llvm::SetVector<Value> used;
      body.walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (!body.isAncestor(operand.getParentRegion()) && globalOf(operand))
            used.insert(operand);
      });
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      IRMapping map;
      for (Value v : used) {
        FailureOr<Value> inside = sink(v, body, b, map);
        if (failed(inside))
          return WalkResult::interrupt();
        v.replaceUsesWithIf(*inside, [&](OpOperand &use) {
          return body.isAncestor(use.getOwner()->getParentRegion());
        });
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
