// kiln-gpu-scalar-kernels: on the CUDA target, the host's scalar code
// between kernels (a mean's final division: load a sum, divide by the batch,
// store the loss) becomes a 0-d linalg.generic, which kiln-gpu-map-loops
// makes a one-thread kernel. The host no longer reads or writes device
// memory there, so kiln-gpu-launch-to-runtime needs no synchronization
// before it: the kernels stay queued.
//
// A store is taken with the ops that compute its value in the same block:
// loads (their addresses made 0-d views on the host) and pure ops whose
// results nothing else uses. Every other op between the first of them and
// the store must be free of memory effects, so moving the loads to the
// store reads what they read before. Values the host also uses become the
// kernel's arguments.
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_GPUSCALARKERNELS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The element `load` or `store` addresses, as a 0-d view.
Value elementView(OpBuilder &b, Location loc, Value memref, ValueRange indices) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.getRank() == 0)
    return memref;
  SmallVector<OpFoldResult> offsets = getAsOpFoldResult(indices);
  SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
  auto viewType = cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
      ArrayRef<int64_t>{}, type, offsets, ones, ones));
  return memref::SubViewOp::create(b, loc, viewType, memref, offsets, ones, ones);
}

/// Host memory: a stack slot or a global (a reshape's shape), which kernels
/// cannot read or write.
bool onHost(Value memref) {
  return memref.getDefiningOp<memref::AllocaOp>() || memref.getDefiningOp<memref::GetGlobalOp>();
}

/// The ops computing `store`'s value that move into its kernel, in block
/// order, or nothing when the store stays on the host.
std::optional<SmallVector<Operation *>> sliceOf(memref::StoreOp store) {
  Block *block = store->getBlock();
  // Candidates: loads and pure ops of the block that the value depends on
  // (a load's address stays on the host: its view is made there).
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work{store.getValue()};
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != block || slice.contains(def))
      continue;
    auto load = dyn_cast<memref::LoadOp>(def);
    if (load ? onHost(load.getMemRef())
             : !isMemoryEffectFree(def) || def->getNumRegions() != 0)
      continue; // the host computes it: an argument of the kernel
    slice.insert(def);
    if (!load)
      work.append(def->operand_begin(), def->operand_end());
  }
  // What the host still uses stays on the host, and so, in turn, does what
  // it is computed from.
  for (bool changed = true; changed;) {
    changed = false;
    // Over a copy: removing from the SetVector shifts its elements.
    for (Operation *op : SmallVector<Operation *>(slice.begin(), slice.end()))
      if (llvm::any_of(op->getUsers(), [&](Operation *user) {
            return user != store.getOperation() && !slice.contains(user);
          })) {
        slice.remove(op);
        changed = true;
      }
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  // Between the first op moved and the store, nothing may touch memory:
  // the loads move down to the store.
  if (!ordered.empty())
    for (Operation *op = ordered.front(); op != store.getOperation(); op = op->getNextNode())
      if (!slice.contains(op) && !isMemoryEffectFree(op))
        return std::nullopt;
  return ordered;
}

/// The store and its slice as one 0-d linalg.generic: inputs the loaded
/// elements, output the stored one.
void makeKernel(IRRewriter &rewriter, memref::StoreOp store, ArrayRef<Operation *> slice) {
  Location loc = store.getLoc();
  rewriter.setInsertionPoint(store);
  SmallVector<memref::LoadOp> loads;
  SmallVector<Value> inputs;
  for (Operation *op : slice)
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      loads.push_back(load);
      inputs.push_back(elementView(rewriter, loc, load.getMemRef(), load.getIndices()));
    }
  Value output = elementView(rewriter, loc, store.getMemRef(), store.getIndices());
  AffineMap scalar = AffineMap::get(0, 0, {}, rewriter.getContext());
  SmallVector<AffineMap> maps(inputs.size() + 1, scalar);
  linalg::GenericOp::create(
      rewriter, loc, TypeRange{}, inputs, ValueRange{output}, maps,
      ArrayRef<utils::IteratorType>{}, [&](OpBuilder &b, Location l, ValueRange args) {
        IRMapping map;
        for (auto [load, arg] : llvm::zip(loads, args))
          map.map(load.getResult(), arg);
        for (Operation *op : slice)
          if (!isa<memref::LoadOp>(op))
            b.clone(*op, map);
        linalg::YieldOp::create(b, l, map.lookupOrDefault(store.getValue()));
      });
  rewriter.eraseOp(store);
  for (Operation *op : llvm::reverse(slice))
    rewriter.eraseOp(op);
}

struct GpuScalarKernelsPass : public kiln::impl::GpuScalarKernelsBase<GpuScalarKernelsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<memref::StoreOp, SmallVector<Operation *>>> kernels;
    getOperation().walk([&](memref::StoreOp store) {
      // Host code only: a store in the function's body or in its host
      // loops and branches (not in a linalg op, a parallel loop or a
      // kernel), and not into host memory.
      if (onHost(store.getMemRef()))
        return;
      for (Operation *parent = store->getParentOp(); !isa<func::FuncOp>(parent);
           parent = parent->getParentOp())
        if (!isa<scf::ForOp, scf::IfOp, scf::WhileOp>(parent))
          return;
      if (std::optional<SmallVector<Operation *>> slice = sliceOf(store))
        kernels.push_back({store, std::move(*slice)});
    });
    IRRewriter rewriter(&getContext());
    for (auto &[store, slice] : kernels)
      makeKernel(rewriter, store, slice);
  }
};

} // namespace
