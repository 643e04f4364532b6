// kiln-update-in-place: a train step writes each parameter's, buffer's and
// optimizer state's new value into the argument that held the old one.
//
// Each such result of @train_step becomes
// `bufferization.materialize_in_destination %new in %old`. One-shot
// bufferization then computes the update in the argument's buffer (empty
// tensor elimination makes the update's destination the argument) wherever
// its analysis finds no later read of the old value, and copies otherwise;
// either way the result is the argument's buffer, which
// kiln-drop-updated-results removes from the signature. A tiled update
// (an scf.forall whose shared output is now the argument) reads its tile of
// the old value through the loop's shared-output argument, which holds the
// same value: read through the outer tensor, the analysis cannot tell that
// each tile reads only the slice it writes, and copied the whole parameter
// in and out. Out of place, the
// update of the MLP's first weight read one 800 KB buffer and wrote another
// every step, and the runtime kept two sets of parameters.
#include "codegen/Passes.h"

#include "ir/KilnAttrs.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/Transforms.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace kiln {
#define GEN_PASS_DEF_UPDATEINPLACE
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

struct UpdateInPlacePass : public kiln::impl::UpdateInPlaceBase<UpdateInPlacePass> {
  void runOnOperation() override {
    llvm::SmallPtrSet<Value, 8> updated;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (getEntry(func) != Entry::TrainStep || func.isExternal())
        continue;
      for (Block &block : func.getBody()) {
        auto ret = dyn_cast<func::ReturnOp>(block.getTerminator());
        if (!ret)
          continue;
        OpBuilder b(ret);
        for (OpOperand &operand : ret->getOpOperands()) {
          unsigned result = operand.getOperandNumber();
          if (!isUpdateRole(getResultRole(func, result)) ||
              !isa<TensorType>(operand.get().getType()))
            continue; // not an update, or already on buffers
          BlockArgument old = updatedArgument(func, result);
          if (!old) {
            func.emitError("kiln: the train step's result '")
                << roleName(getResultRole(func, result)) << "' has no argument to be updated in";
            return signalPassFailure();
          }
          if (operand.get() == old)
            continue; // unchanged (a buffer no batch norm trains)
          operand.set(bufferization::MaterializeInDestinationOp::create(
                           b, ret.getLoc(), operand.get(), old)
                           .getResult());
          updated.insert(old);
        }
      }
    }
    // The updates' destinations become the arguments themselves (on the
    // module: the analysis then knows function arguments are writable).
    IRRewriter rewriter(&getContext());
    if (failed(bufferization::eliminateEmptyTensors(rewriter, getOperation())))
      return signalPassFailure();
    getOperation().walk([&](scf::ForallOp loop) {
      for (auto [init, shared] : llvm::zip(loop.getOutputs(), loop.getRegionIterArgs()))
        if (updated.contains(init))
          init.replaceUsesWithIf(shared, [&](OpOperand &use) {
            return loop->isProperAncestor(use.getOwner());
          });
    });
  }
};

} // namespace
