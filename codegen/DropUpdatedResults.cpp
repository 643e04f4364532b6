// kiln-drop-updated-results: after bufferization, the results of
// @train_step that kiln-update-in-place wrote into their arguments leave the
// signature. What remains is the ABI the runtime calls (runtime/KilnABI.h):
// the parameters, buffers and optimizer state are updated in the argument
// buffers, and only the loss and metrics are results.
//
// Each such result must be its argument's buffer (through casts). Anything
// else would be a new buffer the runtime never sees, so it is an error, not
// a silent copy.
#include "codegen/Passes.h"

#include "ir/KilnAttrs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_DROPUPDATEDRESULTS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

struct DropUpdatedResultsPass
    : public kiln::impl::DropUpdatedResultsBase<DropUpdatedResultsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (getEntry(func) != Entry::TrainStep || func.isExternal())
        continue;
      llvm::BitVector drop(func.getNumResults());
      for (unsigned i = 0; i < func.getNumResults(); ++i)
        drop[i] = isUpdateRole(getResultRole(func, i));
      SmallVector<func::ReturnOp> returns;
      func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
      for (func::ReturnOp ret : returns)
        for (unsigned i : drop.set_bits()) {
          Value v = ret.getOperand(i);
          while (auto cast = v.getDefiningOp<memref::CastOp>())
            v = cast.getSource();
          if (v != updatedArgument(func, i)) {
            ret.emitError("kiln: the new value of '")
                << roleName(getResultRole(func, i))
                << "' is not in its argument's buffer after bufferization";
            return signalPassFailure();
          }
        }
      for (func::ReturnOp ret : returns)
        ret->eraseOperands(drop);
      if (failed(func.eraseResults(drop)))
        return signalPassFailure();
    }
  }
};

} // namespace
