// kiln-interchange-reductions: a reduction into a few outputs, each indexed
// by parallel loops that have reduction loops inside them, runs its parallel
// loops innermost. A conv's bias gradient sums [N, C, H, W] over (n, h, w)
// into C f64 sums; written as linalg has it, (n, c, h, w), the innermost
// loop adds to one sum, a chain of dependent adds through memory (LLVM
// cannot keep the sum in a register: it cannot tell the sums from the
// input). As (n, h, w, c) the innermost loop adds to C independent sums.
// Each output still meets its reduction loops' iterations in the same
// order, so the bits do not change.
#include "codegen/LinalgNames.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_INTERCHANGEREDUCTIONS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// At most this many outputs (the sums stay in L1, and the loop over them
// is short enough to run for every input element).
constexpr int64_t kMaxOutputs = 256;

/// The loop order with every parallel loop after every reduction loop, each
/// kind in its own order, when `op` reduces into few static outputs and a
/// reduction loop runs inside a parallel one.
std::optional<SmallVector<unsigned>> reductionsOutside(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> reductions, parallels;
  int64_t outputs = 1;
  bool reductionInsideParallel = false;
  for (unsigned d = 0; d < iterators.size(); ++d) {
    if (iterators[d] == utils::IteratorType::reduction) {
      reductionInsideParallel |= !parallels.empty();
      reductions.push_back(d);
      continue;
    }
    if (ShapedType::isDynamic(ranges[d]))
      return std::nullopt;
    outputs *= ranges[d];
    parallels.push_back(d);
  }
  if (!reductionInsideParallel || outputs > kMaxOutputs)
    return std::nullopt;
  // Each output element must be one sum: outputs indexed by the parallel
  // loops alone, each loop at most once.
  for (OpOperand &out : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&out);
    if (!map.isProjectedPermutation())
      return std::nullopt;
    for (AffineExpr e : map.getResults())
      if (iterators[cast<AffineDimExpr>(e).getPosition()] != utils::IteratorType::parallel)
        return std::nullopt;
  }
  SmallVector<unsigned> order(reductions);
  order.append(parallels);
  return order;
}

struct InterchangeReductionsPass
    : public kiln::impl::InterchangeReductionsBase<InterchangeReductionsPass> {
  void runOnOperation() override {
    if (failed(kiln::interchangeGenerics(getOperation(), reductionsOutside)))
      signalPassFailure();
  }
};

} // namespace
