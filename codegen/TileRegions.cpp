// kiln-tile-regions: each kiln.fusion region becomes one loop over tiles of
// its sink's first loop (an scf.forall, which kiln-forall-to-threads hands to
// the runtime's threads), with every producer inside the region computed
// per tile in the same loop; then the region's ops return to their block.
//
// Tiles are whole rows of the sink's first loop, as many as give a tile
// about kTileElements elements; a generic whose first loop reduces gets its
// parallel loops moved first. A first loop of one tile or less, or a sink
// without a parallel loop, is not tiled. Tiling only splits parallel loops,
// so every element is computed in the same order as before: results do not
// depend on the tiling or on the thread count. Products are not tiled here:
// the runtime's GEMM splits its own work.
#include "codegen/Passes.h"
#include "codegen/LinalgNames.h"

#include "ir/KilnCodegenOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_TILEREGIONS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// About 64 KiB of f32 per tile: big enough that a tile's work outweighs
/// handing it to a thread, small enough that a tile's rows stay in L2.
constexpr int64_t kTileElements = 16384;

using kiln::isProduct;

/// Rows of the sink's first loop per tile, or 0 when it is not tiled.
int64_t rowsPerTile(linalg::LinalgOp sink) {
  if (isProduct(sink) || sink.getNumLoops() == 0 ||
      !linalg::isParallelIterator(sink.getIteratorTypesArray()[0]))
    return 0;
  SmallVector<int64_t> ranges = sink.getStaticLoopRanges();
  int64_t rowElements = 1;
  // The batch, when it is inside a row (a bias's gradient sums over it),
  // counts as 32 samples.
  for (int64_t range : llvm::drop_begin(ranges))
    rowElements *= ShapedType::isDynamic(range) ? 32 : range;
  int64_t rows = std::max<int64_t>(1, kTileElements / std::max<int64_t>(1, rowElements));
  if (!ShapedType::isDynamic(ranges[0]) && ranges[0] <= rows)
    return 0;
  return rows;
}

LogicalResult tile(RewriterBase &rewriter, kiln::ir::FusionOp region) {
  auto yield = cast<kiln::ir::YieldOp>(region.getBody().front().getTerminator());
  if (yield.getValues().empty())
    return success();
  auto sink = yield.getValues()[0].getDefiningOp<linalg::LinalgOp>();
  // A reduction whose first loop reduces (a convolution bias's gradient,
  // summed over N, H and W per channel) has its parallel loops moved first.
  // The reduction loops keep their order, so each output is summed in the
  // same order as before.
  if (auto generic = dyn_cast_or_null<linalg::GenericOp>(sink.getOperation());
      generic && generic.getNumParallelLoops() > 0 &&
      !linalg::isParallelIterator(generic.getIteratorTypesArray()[0])) {
    SmallVector<unsigned> order;
    SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
    for (bool parallel : {true, false})
      for (unsigned loop = 0; loop < iterators.size(); ++loop)
        if (linalg::isParallelIterator(iterators[loop]) == parallel)
          order.push_back(loop);
    FailureOr<linalg::GenericOp> interchanged =
        linalg::interchangeGenericOp(rewriter, generic, order);
    if (failed(interchanged))
      return generic->emitError("kiln-tile-regions: cannot put the parallel loops first");
    sink = *interchanged;
  }
  int64_t rows = sink ? rowsPerTile(sink) : 0;
  if (rows == 0)
    return success();

  SmallVector<OpFoldResult> sizes(sink.getNumLoops(), rewriter.getIndexAttr(0));
  sizes[0] = rewriter.getIndexAttr(rows);
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(sizes).setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  // What the region returns besides the last op's results: the loop yields
  // those producers' tiles too.
  DenseSet<Value> returned(yield.getValues().begin(), yield.getValues().end());
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp, OpResult producer,
          bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        Operation *op = producer.getOwner();
        if (!region->isProperAncestor(op) || isProduct(op))
          return std::nullopt;
        return scf::SCFTileAndFuseOptions::ControlFnResult{
            /*yieldProducerReplacement=*/returned.contains(producer)};
      });
  rewriter.setInsertionPoint(sink);
  FailureOr<scf::SCFTileAndFuseResult> tiled = scf::tileConsumerAndFuseProducersUsingSCF(
      rewriter, cast<TilingInterface>(sink.getOperation()), options);
  if (failed(tiled))
    return sink->emitError("kiln-tile-regions: cannot tile this region's last op");
  // The loop's bounds are dims of the untiled ops' results: read them off
  // the results' destinations instead, or the untiled ops would stay alive
  // (computed twice) and a returned producer would read its own loop.
  region->getParentOp()->walk([](tensor::DimOp dim) {
    Value source = dim.getSource();
    while (auto result = dyn_cast<OpResult>(source)) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(result.getOwner());
      if (!dps)
        break;
      source = dps.getDpsInitOperand(result.getResultNumber())->get();
    }
    dim.getSourceMutable().assign(source);
  });
  // The yield (and any reader inside the region) takes the loop's results;
  // a returned producer that was not fused keeps its own value.
  for (Value value : returned)
    if (Value replacement = tiled->replacements.lookup(value))
      rewriter.replaceUsesWithIf(value, replacement, [&](OpOperand &use) {
        return !tiled->loops.front()->isAncestor(use.getOwner());
      });
  return success();
}

/// Moves the region's ops before it and replaces its results with what it
/// yields.
void inlineRegion(RewriterBase &rewriter, kiln::ir::FusionOp region) {
  auto yield = cast<kiln::ir::YieldOp>(region.getBody().front().getTerminator());
  SmallVector<Value> values(yield.getValues());
  rewriter.eraseOp(yield);
  rewriter.inlineBlockBefore(&region.getBody().front(), region);
  rewriter.replaceOp(region, values);
}

struct TileRegionsPass : public kiln::impl::TileRegionsBase<TileRegionsPass> {
  void runOnOperation() override {
    SmallVector<kiln::ir::FusionOp> regions;
    getOperation().walk([&](kiln::ir::FusionOp region) { regions.push_back(region); });
    IRRewriter rewriter(&getContext());
    for (kiln::ir::FusionOp region : regions) {
      if (failed(tile(rewriter, region)))
        return signalPassFailure();
      inlineRegion(rewriter, region);
    }
    // The untiled ops the tiles replaced, and their slices, are dead now.
    getOperation().walk<WalkOrder::PostOrder, ReverseIterator>([](Operation *op) {
      if (isOpTriviallyDead(op))
        op->erase();
    });
  }
};

} // namespace
