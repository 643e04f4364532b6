// kiln-form-regions: groups the linalg ops of each block into kiln.fusion
// regions, one kernel each (IREE's dispatch regions, XLA's fusions).
//
// Regions grow from their last op backwards. The ops are walked from the end
// of the block; each op not yet in a region starts one (its sink) and takes
// in the producers whose results are read only inside it or after it (the
// region then returns them too), as long as every
// tile of the sink's first loop needs only the matching tile of the
// producer: kiln-tile-regions tiles the sink's first loop and recomputes the
// fused producers per tile, so a producer that each tile would need whole
// (a loss mean read by every row, a weight read by a product) stays out.
// A matrix product is a region's root: its accumulator's producer (zeros, a
// broadcast bias) joins it, and so does the element-wise op that is the
// product's only user (its epilogue); the producers of its operands do not.
#include "codegen/Passes.h"
#include "codegen/LinalgNames.h"

#include "ir/KilnCodegenOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FORMREGIONS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using kiln::isProduct;

bool isAllParallel(linalg::LinalgOp op) {
  return op.getNumLoops() == op.getNumParallelLoops();
}

/// The loop of `op` that the region tiles: its first parallel one (a
/// generic's parallel loops go first when kiln-tile-regions tiles it).
std::optional<unsigned> tiledLoop(linalg::LinalgOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < iterators.size(); ++loop)
    if (linalg::isParallelIterator(iterators[loop]))
      return loop == 0 || isa<linalg::GenericOp>(op) ? std::optional<unsigned>(loop)
                                                      : std::nullopt;
  return std::nullopt;
}

class RegionBuilder {
public:
  explicit RegionBuilder(Block &block) : block_(block) {}

  void run() {
    SmallVector<linalg::LinalgOp> ops;
    for (Operation &op : block_)
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        ops.push_back(linalgOp);
    for (linalg::LinalgOp op : llvm::reverse(ops))
      if (!regionOf_.count(op))
        grow(op);
    for (auto &members : regions_)
      materialize(members);
  }

private:
  /// Starts a region at `sink` and adds what may join it.
  void grow(linalg::LinalgOp sink) {
    unsigned id = regions_.size();
    regions_.emplace_back();
    add(sink, id, tiledLoop(sink));
    // An element-wise sink whose operand is a product used only here is that
    // product's epilogue.
    if (isAllParallel(sink) && !isProduct(sink))
      for (Value input : sink.getDpsInputs())
        if (auto product = input.getDefiningOp<linalg::LinalgOp>())
          if (isProduct(product) && product->getBlock() == &block_ &&
              !regionOf_.count(product) && onlyUsedBy(product, id)) {
            add(product, id, std::nullopt);
            break;
          }
    for (size_t next = 0; next < regions_[id].size(); ++next) {
      Operation *member = regions_[id][next];
      auto consumer = cast<linalg::LinalgOp>(member);
      for (OpOperand &operand : member->getOpOperands()) {
        auto producer = operand.get().getDefiningOp<linalg::LinalgOp>();
        if (!producer || producer->getBlock() != &block_ || regionOf_.count(producer) ||
            isProduct(producer))
          continue;
        // A product reads its operands whole: their producers stay out.
        if (isProduct(consumer) && !consumer.isDpsInit(&operand))
          continue;
        if (!usedInOrAfter(producer, id))
          continue;
        std::optional<std::optional<unsigned>> loop = producerLoop(producer, id);
        if (!loop)
          continue;
        add(producer, id, *loop);
      }
    }
  }

  void add(linalg::LinalgOp op, unsigned id, std::optional<unsigned> loop) {
    regionOf_[op] = id;
    tiled_[op] = loop;
    regions_[id].push_back(op);
  }

  /// Whether every user of `producer` is (inside) a member of region `id`.
  bool onlyUsedBy(Operation *producer, unsigned id) {
    for (Operation *user : producer->getUsers()) {
      Operation *member = block_.findAncestorOpInBlock(*user);
      if (!member) return false;
      auto it = regionOf_.find(member);
      if (it == regionOf_.end() || it->second != id)
        return false;
    }
    return true;
  }

  /// Whether every user of `producer` is in region `id` or comes after the
  /// region's last op (the region then returns the producer's value too,
  /// as the softmax's row maxima that the loss reads again).
  bool usedInOrAfter(Operation *producer, unsigned id) {
    Operation *sink = regions_[id].front();
    for (Operation *user : producer->getUsers()) {
      Operation *member = block_.findAncestorOpInBlock(*user);
      if (!member) return false;
      auto it = regionOf_.find(member);
      if (it != regionOf_.end() && it->second == id)
        continue;
      if (!sink->isBeforeInBlock(member))
        return false;
    }
    return true;
  }

  /// The loop of `producer` that its users' tiles slice, if they agree: a
  /// loop when every use reads the producer through its consumer's tiled
  /// loop; nullopt inside when the region is not tiled. None (the outer
  /// nullopt) when a use needs the whole result in every tile.
  std::optional<std::optional<unsigned>> producerLoop(linalg::LinalgOp producer, unsigned id) {
    std::optional<std::optional<unsigned>> agreed;
    for (OpOperand &use : producer->getUses()) {
      Operation *member = block_.findAncestorOpInBlock(*use.getOwner());
      if (regionOf_.lookup(member) != id || !regionOf_.count(member))
        continue; // read after the region, from what it returns
      auto consumer = dyn_cast<linalg::LinalgOp>(use.getOwner());
      // Read from inside a body (tensor.extract at a computed index).
      if (!consumer || consumer->getBlock() != &block_)
        return std::nullopt;
      // A window (im2col, pooling) reads its input through sums of loops:
      // the slice a tile of it needs is not the producer's own tile, and
      // upstream's fusion then computes the wrong part of the producer.
      if (!consumer.getMatchingIndexingMap(&use).isProjectedPermutation())
        return std::nullopt;
      std::optional<unsigned> consumerLoop = tiled_.lookup(consumer);
      std::optional<unsigned> loop;
      if (consumerLoop) {
        AffineMap map = consumer.getMatchingIndexingMap(&use);
        std::optional<unsigned> position;
        for (unsigned r = 0; r < map.getNumResults(); ++r)
          if (map.getResult(r) == getAffineDimExpr(*consumerLoop, map.getContext()))
            position = r;
        if (!position)
          return std::nullopt;
        AffineMap producerMap = producer.getIndexingMapMatchingResult(
            cast<OpResult>(use.get()));
        auto dim = dyn_cast<AffineDimExpr>(producerMap.getResult(*position));
        if (!dim)
          return std::nullopt;
        loop = dim.getPosition();
      }
      if (agreed && *agreed != loop)
        return std::nullopt;
      agreed = loop;
    }
    return agreed;
  }

  void materialize(SmallVector<Operation *> &members) {
    llvm::sort(members, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    Operation *sink = members.back();
    const char *kind = "elementwise";
    if (llvm::any_of(members, isProduct))
      kind = "matmul";
    else if (llvm::any_of(members, [](Operation *op) {
               return !isAllParallel(cast<linalg::LinalgOp>(op));
             }))
      kind = "reduction";
    // The region returns the last op's results, then those of the other
    // members that are read after it.
    SmallVector<Value> results(sink->getResults());
    DenseSet<Operation *> inside(members.begin(), members.end());
    for (Operation *member : members)
      if (member != sink)
        for (Value result : member->getResults())
          if (llvm::any_of(result.getUsers(), [&](Operation *user) {
                return !inside.count(block_.findAncestorOpInBlock(*user));
              }))
            results.push_back(result);
    OpBuilder b(sink);
    auto region = kiln::ir::FusionOp::create(b, sink->getLoc(), ValueRange(results).getTypes(),
                                             b.getStringAttr(kind));
    Block *body = b.createBlock(&region.getBody());
    for (Operation *member : members)
      member->moveBefore(body, body->end());
    b.setInsertionPointToEnd(body);
    kiln::ir::YieldOp::create(b, sink->getLoc(), results);
    for (auto [inner, outer] : llvm::zip(results, region.getResults()))
      inner.replaceUsesWithIf(outer, [&](OpOperand &use) {
        return !region->isProperAncestor(use.getOwner());
      });
  }

  Block &block_;
  SmallVector<SmallVector<Operation *>> regions_;
  DenseMap<Operation *, unsigned> regionOf_;
  DenseMap<Operation *, std::optional<unsigned>> tiled_;
};

/// A zero fill read by several ops becomes one fill per reader, so that each
/// region computes its own (IREE clones such cheap producers too).
void cloneSharedFills(Block &block) {
  SmallVector<linalg::FillOp> fills;
  for (Operation &op : block)
    if (auto fill = dyn_cast<linalg::FillOp>(op); fill && !fill->hasOneUse())
      fills.push_back(fill);
  for (linalg::FillOp fill : fills) {
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : fill->getResult(0).getUses())
      uses.push_back(&use);
    for (OpOperand *use : llvm::drop_begin(uses)) {
      OpBuilder b(use->getOwner());
      Operation *owner = block.findAncestorOpInBlock(*use->getOwner());
      b.setInsertionPoint(owner);
      use->set(b.clone(*fill)->getResult(0));
    }
  }
}

struct FormRegionsPass : public kiln::impl::FormRegionsBase<FormRegionsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *block) {
      Operation *parent = block->getParentOp();
      if (!isa<linalg::LinalgOp, kiln::ir::FusionOp>(parent))
        blocks.push_back(block);
    });
    for (Block *block : blocks) {
      cloneSharedFills(*block);
      RegionBuilder(*block).run();
    }
  }
};

} // namespace
