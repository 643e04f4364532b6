// kiln-collapse-dims: an element-wise linalg.generic on buffers whose
// trailing dimensions are contiguous in every operand runs them as one
// dimension. LLVM vectorizes the innermost loop only; over [N, 28, 28] it
// got a loop of 28, unrolled it, and vectorized the next loop out with
// gathers and scatters, where [N, 784] gives it a contiguous loop of 784.
// Element-wise ops compute each element alone, so the bits do not change.
#include "codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_COLLAPSEDIMS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The longest run of trailing loops that every operand reads or writes
/// contiguously (as a run of its own dimensions, in order), when it has two
/// loops or more.
std::optional<ReassociationIndices> trailingRun(linalg::GenericOp op) {
  int64_t loops = op.getNumLoops();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<ReassociationIndices> best;
  for (int64_t first = loops - 2; first >= 0; --first) {
    ReassociationIndices run = llvm::to_vector(llvm::seq<int64_t>(first, loops));
    if (!linalg::areDimSequencesPreserved(maps, {run}))
      break;
    best = run;
  }
  return best;
}

/// Each element computed from its operands' elements at the same indices
/// (or broadcast ones): no window (`d1 + d4`), no index arithmetic.
bool elementwise(linalg::GenericOp op) {
  return op.hasPureBufferSemantics() && op.getNumLoops() >= 2 &&
         op.getNumParallelLoops() == op.getNumLoops() &&
         op.getBody()->getOps<linalg::IndexOp>().empty() &&
         llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap map) { return map.isProjectedPermutation(); });
}

struct CollapseDimsPass : public kiln::impl::CollapseDimsBase<CollapseDimsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (elementwise(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<ReassociationIndices> run = trailingRun(op);
      if (!run)
        continue;
      // A view whose strides do not allow it (a transposed operand) fails
      // here and leaves the op as it was.
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(cast<linalg::LinalgOp>(op.getOperation()), {*run}, rewriter);
      if (succeeded(collapsed))
        rewriter.eraseOp(op);
    }
  }
};

} // namespace
