// kiln-merge-parallel-loops: neighbouring scf.forall loops on buffers that
// do not depend on each other become one loop, whose tiles are the tiles of
// all of them (horizontal fusion, as XLA does for small independent
// kernels). The optimizer's updates, one region per parameter, become one
// pass over all parameters: one call into the thread pool instead of one
// per parameter, and the threads share the small tensors' tiles instead of
// one thread taking each while the others wait.
//
// An element-wise op or reduction left untiled (the bias's update) joins as a
// loop of one tile. Two members are independent when neither writes a
// buffer the other reads or writes. Buffers are compared by their root (through views): an alloc, or
// an argument of the function (the runtime passes arguments that do not
// overlap one another). Between two loops, ops without memory
// effects (index arithmetic, views) move before the merged loop, deallocs
// after it; any other op ends the group.
//
// The merged loop runs tile i of the whole in the body of the loop whose
// range holds i; each tile computes what it computed before, so the results
// keep their bits at any thread count.
#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_MERGEPARALLELLOOPS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The buffer a memref value is a view of.
Value rootOf(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      value = view.getViewSource();
    else if (auto cast = dyn_cast<memref::CastOp>(def))
      value = cast.getSource();
    else
      break;
  }
  return value;
}

/// The buffers from outside `loop` that its body reads and writes; none when
/// an op's effects are unknown.
struct Access {
  llvm::SmallPtrSet<Value, 8> reads, writes;
};

std::optional<Access> accessOf(Operation *member) {
  Access access;
  bool known = true;
  member->walk([&](Operation *op) {
    if (op == member && isa<scf::ForallOp>(op))
      return WalkResult::advance();
    // Linalg ops have both: their own effects on their operands, and their
    // bodies' (none). An op with only the trait has its nested ops' effects.
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects && op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    if (!effects) {
      known = false;
      return WalkResult::interrupt();
    }
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (MemoryEffects::EffectInstance &effect : list) {
      Value value = effect.getValue();
      if (!isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()))
        continue; // allocating or freeing a tile's own buffer
      if (!value) {
        known = false;
        return WalkResult::interrupt();
      }
      Value root = rootOf(value);
      if (member->isAncestor(root.getParentRegion()->getParentOp()))
        continue; // the tile's own buffer
      (isa<MemoryEffects::Read>(effect.getEffect()) ? access.reads : access.writes).insert(root);
    }
    return WalkResult::advance();
  });
  if (!known)
    return std::nullopt;
  return access;
}

bool independent(const Access &a, const Access &b) {
  for (Value w : a.writes)
    if (b.reads.contains(w) || b.writes.contains(w))
      return false;
  for (Value w : b.writes)
    if (a.reads.contains(w))
      return false;
  return true;
}

/// A loop that can be merged, or an op on buffers that can be a loop of one
/// tile (an element-wise op or reduction too small to have been tiled).
bool mergeable(Operation *op) {
  if (auto loop = dyn_cast<scf::ForallOp>(op))
    return loop.getRank() == 1 && loop.getNumResults() == 0 && !loop.getMapping();
  // A product's accumulator fill right before it stays there: kiln-matmul-to-call
  // drops it and has the GEMM overwrite (merged, the batch-1 MLP zeroed its
  // 800 KB weight gradient and the GEMM read the zeros back).
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    if (auto product = dyn_cast_or_null<linalg::MatmulOp>(op->getNextNode()))
      if (product.getDpsInits()[0] == fill.getDpsInits()[0])
        return false;
  if (isa<linalg::GenericOp, linalg::FillOp>(op))
    return cast<linalg::LinalgOp>(op).hasPureBufferSemantics();
  return false;
}

/// Replaces the members (in order, all in one block, nothing between them
/// but what the caller moved away) by one loop over all their tiles.
void merge(ArrayRef<Operation *> members) {
  Operation *first = members.front();
  Location loc = first->getLoc();
  OpBuilder b(first);
  // Each member's tiles, and where its range starts in the merged loop.
  SmallVector<Value> lbs, steps, starts;
  Value total = arith::ConstantIndexOp::create(b, loc, 0);
  for (Operation *member : members) {
    auto loop = dyn_cast<scf::ForallOp>(member);
    if (!loop) { // one tile
      starts.push_back(total);
      lbs.push_back(Value()), steps.push_back(Value());
      total = arith::AddIOp::create(b, loc, total, arith::ConstantIndexOp::create(b, loc, 1));
      continue;
    }
    Value lb = getValueOrCreateConstantIndexOp(b, loc, loop.getMixedLowerBound()[0]);
    Value ub = getValueOrCreateConstantIndexOp(b, loc, loop.getMixedUpperBound()[0]);
    Value step = getValueOrCreateConstantIndexOp(b, loc, loop.getMixedStep()[0]);
    Value tiles = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb), step);
    lbs.push_back(lb), steps.push_back(step), starts.push_back(total);
    total = arith::AddIOp::create(b, loc, total, tiles);
  }
  auto merged = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)}, ArrayRef<OpFoldResult>{total},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{}, std::nullopt);
  Value i = merged.getInductionVars()[0];
  // if (i < start[1]) { loop 0 } else if (i < start[2]) { loop 1 } ... else { last }
  OpBuilder body = OpBuilder::atBlockBegin(merged.getBody());
  for (size_t k = 0; k < members.size(); ++k) {
    bool last = k + 1 == members.size();
    scf::IfOp branch;
    if (!last) {
      Value inRange = arith::CmpIOp::create(body, loc, arith::CmpIPredicate::slt, i, starts[k + 1]);
      branch = scf::IfOp::create(body, loc, inRange, /*withElseRegion=*/true);
      body.setInsertionPointToStart(branch.thenBlock());
    }
    IRMapping mapping;
    if (auto loop = dyn_cast<scf::ForallOp>(members[k])) {
      Value tile = arith::SubIOp::create(body, loc, i, starts[k]);
      Value iv = arith::AddIOp::create(body, loc, lbs[k], arith::MulIOp::create(body, loc, tile, steps[k]));
      mapping.map(loop.getInductionVars()[0], iv);
      for (Operation &op : loop.getBody()->without_terminator())
        body.clone(op, mapping);
    } else {
      body.clone(*members[k], mapping);
    }
    if (!last)
      body.setInsertionPointToStart(branch.elseBlock());
  }
  for (Operation *member : members)
    member->erase();
}

/// Groups of neighbouring independent loops in `block`, merged.
void mergeIn(Block &block) {
  SmallVector<Operation *> group;
  SmallVector<Access> accesses;
  SmallVector<Operation *> before, after; // pure ops and deallocs between them
  auto flush = [&] {
    // Only a group with a loop: ops too small to be tiled stay on the
    // calling thread rather than cost a call into the thread pool.
    if (group.size() > 1 && llvm::any_of(group, [](Operation *m) { return isa<scf::ForallOp>(m); })) {
      for (Operation *op : before)
        op->moveBefore(group.front());
      Operation *last = group.back();
      for (Operation *op : llvm::reverse(after))
        op->moveAfter(last);
      merge(group);
    }
    group.clear(), accesses.clear(), before.clear(), after.clear();
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (mergeable(&op)) {
      std::optional<Access> access = accessOf(&op);
      bool joins = access && llvm::all_of(accesses, [&](const Access &other) {
                     return independent(other, *access);
                   });
      if (!joins) {
        flush();
        if (!access)
          continue;
      }
      group.push_back(&op);
      accesses.push_back(*access);
      continue;
    }
    if (group.empty())
      continue;
    if (isa<memref::DeallocOp>(op)) {
      after.push_back(&op);
      continue;
    }
    if (isMemoryEffectFree(&op) && op.getNumRegions() == 0 &&
        !op.hasTrait<OpTrait::IsTerminator>()) {
      before.push_back(&op);
      continue;
    }
    flush();
  }
  flush();
}

struct MergeParallelLoopsPass
    : public kiln::impl::MergeParallelLoopsBase<MergeParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *block) {
      if (!block->getParentOp()->getParentOfType<scf::ForallOp>() &&
          !isa<scf::ForallOp>(block->getParentOp()))
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      mergeIn(*block);
  }
};

} // namespace
