// kiln-interchange-windows: a window op (pooling: a linalg.generic
// that reduces over a small kernel window for every output element) runs
// its kernel loops outside its last parallel loop. Written as linalg has it,
// (n, c, oh, ow, kh, kw), the innermost loops are the window's 2x2 or 5x5,
// which LLVM unrolls and cannot vectorize; as (n, c, oh, kh, kw, ow) the
// innermost loop walks an output row, and LLVM vectorizes it. Each output
// element still sees its kernel offsets in the same order, so the bits do
// not change.
#include "codegen/LinalgNames.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_INTERCHANGEWINDOWS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// A window's loops: each at most this long, all of them at most this many
// iterations (pooling and convolution kernels; not a row reduction).
constexpr int64_t kMaxKernelSide = 16, kMaxKernelSize = 64;

/// Whether `map` reads through a window: a result `p * s + r` of a parallel
/// loop p and a reduction loop r (pooling's input). (Kiln's col2im reads its
/// columns at clamped, computed indices instead: interchanged, LLVM makes
/// that a gather per element, slower than the unrolled window.)
bool readsWindow(AffineMap map, int64_t parallel) {
  for (AffineExpr result : map.getResults()) {
    auto sum = dyn_cast<AffineBinaryOpExpr>(result);
    if (!sum || sum.getKind() != AffineExprKind::Add)
      continue;
    bool usesParallel = false, usesReduction = false;
    sum.walk([&](AffineExpr e) {
      if (auto d = dyn_cast<AffineDimExpr>(e))
        (d.getPosition() < parallel ? usesParallel : usesReduction) = true;
    });
    if (usesParallel && usesReduction)
      return true;
  }
  return false;
}

/// The loop order with the last parallel loop innermost, when `op` is a
/// window op: its loops are parallel ones then a small static window of
/// reductions, every output is written along the last parallel loop, and an
/// input reads through the window.
std::optional<SmallVector<unsigned>> windowOrder(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t loops = iterators.size();
  int64_t parallel = 0;
  while (parallel < loops && iterators[parallel] == utils::IteratorType::parallel)
    ++parallel;
  if (parallel < 2 || parallel == loops)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t kernel = 1;
  for (int64_t d = parallel; d < loops; ++d) {
    if (iterators[d] != utils::IteratorType::reduction || ShapedType::isDynamic(ranges[d]) ||
        ranges[d] > kMaxKernelSide)
      return std::nullopt;
    kernel *= ranges[d];
  }
  if (kernel > kMaxKernelSize)
    return std::nullopt;
  unsigned last = parallel - 1;
  for (OpOperand &out : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&out);
    if (map.getNumResults() == 0 || map.getResults().back() != getAffineDimExpr(last, op.getContext()))
      return std::nullopt;
  }
  if (llvm::none_of(op.getDpsInputOperands(), [&](OpOperand *in) {
        return readsWindow(op.getMatchingIndexingMap(in), parallel);
      }))
    return std::nullopt;
  SmallVector<unsigned> order;
  for (unsigned d = 0; d < last; ++d)
    order.push_back(d);
  for (unsigned d = parallel; d < loops; ++d)
    order.push_back(d);
  order.push_back(last);
  return order;
}

struct InterchangeWindowsPass
    : public kiln::impl::InterchangeWindowsBase<InterchangeWindowsPass> {
  void runOnOperation() override {
    if (failed(kiln::interchangeGenerics(getOperation(), windowOrder)))
      signalPassFailure();
  }
};

} // namespace
