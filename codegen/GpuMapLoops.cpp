// kiln-gpu-map-loops: every linalg op on buffers left outside a gpu.launch
// (kiln-gpu-matmul has made the products kernels) becomes an scf.parallel
// loop with an explicit GPU mapping, which convert-parallel-loops-to-gpu
// then turns into one gpu.launch (one kernel) per op:
//
//  - memref.copy (what bufferization leaves) becomes linalg.copy first;
//  - a generic whose first loop reduces gets its parallel loops moved to the
//    front (reduction loops keep their order, so each output is summed in
//    the same order); an op with no parallel loop at all (a sum to a scalar,
//    a 0-d update) is wrapped in a one-iteration parallel loop: one thread
//    sums it, sequentially, deterministically (no atomics);
//  - linalg's parallel-loop lowering makes one scf.parallel of the parallel
//    loops with scf.for reductions inside; its dimensions are collapsed into
//    one (the last dimension varies fastest, so neighbouring threads touch
//    neighbouring elements) and tiled by kBlock: the tiles map to block_x,
//    the elements of a tile to thread_x (launch bounds kBlock, or the trip
//    count when smaller and static).
// The loop's location becomes a NameLoc with the kernel's name,
// `<function>_<kind><N>` (kind: elementwise, reduction, scalar, fill, copy,
// transpose, or the op's name), which kiln-gpu-name-kernels reads off the
// gpu.launch that convert-parallel-loops-to-gpu makes from it.
#include "codegen/Passes.h"
#include "codegen/LinalgNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_GPUMAPLOOPS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Threads per block of an element-wise or row-wise kernel.
constexpr int64_t kBlock = 256;

std::string kindOf(linalg::LinalgOp op) {
  if (isa<linalg::FillOp>(op))
    return "fill";
  if (isa<linalg::CopyOp>(op))
    return "copy";
  if (isa<linalg::TransposeOp>(op))
    return "transpose";
  if (isa<linalg::GenericOp>(op) && op.getNumLoops() == 0)
    return "scalar"; // the host's scalar code (kiln-gpu-scalar-kernels)
  if (isa<linalg::GenericOp>(op))
    return op.getNumReductionLoops() ? "reduction" : "elementwise";
  std::string name = op->getName().stripDialect().str();
  for (char &c : name)
    if (!isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return name;
}


bool insideLaunch(Operation *op) { return op->getParentOfType<gpu::LaunchOp>() != nullptr; }

LogicalResult mapOp(IRRewriter &rewriter, linalg::LinalgOp op, const std::string &name) {
  MLIRContext *ctx = op->getContext();
  Location loc = op.getLoc();
  // Parallel loops first, reduction loops after them in their own order.
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      generic && generic.getNumParallelLoops() > 0) {
    SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
    SmallVector<unsigned> order;
    for (bool parallel : {true, false})
      for (unsigned loop = 0; loop < iterators.size(); ++loop)
        if (linalg::isParallelIterator(iterators[loop]) == parallel)
          order.push_back(loop);
    if (!llvm::equal(order, llvm::seq<unsigned>(0, order.size()))) {
      rewriter.setInsertionPoint(generic);
      FailureOr<linalg::GenericOp> swapped = linalg::interchangeGenericOp(rewriter, generic, order);
      if (failed(swapped))
        return generic.emitError("kiln-gpu-map-loops: cannot put the parallel loops first");
      op = *swapped;
    }
  }
  // No leading parallel loop: one thread runs the whole op.
  scf::ParallelOp wrapper;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || !linalg::isParallelIterator(iterators[0])) {
    rewriter.setInsertionPoint(op);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    wrapper = scf::ParallelOp::create(rewriter, loc, ValueRange{zero}, ValueRange{one},
                                      ValueRange{one});
    rewriter.moveOpBefore(op, wrapper.getBody()->getTerminator());
  }
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::LinalgLoops> loops = linalg::linalgOpToParallelLoops(rewriter, op);
  if (failed(loops))
    return op.emitError("kiln-gpu-map-loops: cannot lower this op to parallel loops");
  rewriter.eraseOp(op);
  scf::ParallelOp par = wrapper ? wrapper : dyn_cast<scf::ParallelOp>(loops->front());
  if (!par)
    return emitError(loc, "kiln-gpu-map-loops: the op's outer loop is not parallel");

  // The trip count, when every dimension's is known.
  std::optional<int64_t> trips = 1;
  for (unsigned i = 0; i < par.getNumLoops(); ++i) {
    std::optional<int64_t> lb = getConstantIntValue(par.getLowerBound()[i]);
    std::optional<int64_t> ub = getConstantIntValue(par.getUpperBound()[i]);
    std::optional<int64_t> step = getConstantIntValue(par.getStep()[i]);
    if (lb && ub && step && *step > 0 && trips)
      trips = *trips * ((*ub - *lb + *step - 1) / *step);
    else
      trips = std::nullopt;
  }
  // One dimension, the last varying fastest.
  if (par.getNumLoops() > 1) {
    Block *block = par->getBlock();
    llvm::SmallPtrSet<Operation *, 8> others;
    for (auto other : block->getOps<scf::ParallelOp>())
      if (other != par)
        others.insert(other);
    std::vector<unsigned> all;
    for (unsigned i = 0; i < par.getNumLoops(); ++i)
      all.push_back(i);
    rewriter.setInsertionPoint(par);
    collapseParallelLoops(rewriter, par, {all});
    // The collapsed loop is the block's one new scf.parallel.
    par = nullptr;
    for (auto other : block->getOps<scf::ParallelOp>())
      if (!others.contains(other))
        par = other;
    if (!par)
      return emitError(loc, "kiln-gpu-map-loops: cannot collapse the loop");
  }
  // The tile: kBlock threads, or the trip count when it is smaller and known.
  int64_t tile = trips ? std::max<int64_t>(1, std::min<int64_t>(kBlock, *trips)) : kBlock;
  auto [outer, inner] = scf::tileParallelLoop(par, {tile}, /*noMinMaxBounds=*/true);
  auto dim = [&](gpu::Processor p) {
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
  };
  if (failed(gpu::setMappingAttr(outer, {dim(gpu::Processor::BlockX)})) ||
      failed(gpu::setMappingAttr(inner, {dim(gpu::Processor::ThreadX)})))
    return emitError(loc, "kiln-gpu-map-loops: cannot map the loop");
  // Anything parallel deeper inside runs sequentially in its thread.
  inner.getBody()->walk([&](scf::ParallelOp nested) {
    SmallVector<gpu::ParallelLoopDimMappingAttr> seq(nested.getNumLoops(),
                                                     dim(gpu::Processor::Sequential));
    (void)gpu::setMappingAttr(nested, seq);
  });
  outer->setLoc(NameLoc::get(StringAttr::get(ctx, name), loc));
  return success();
}

struct GpuMapLoopsPass : public kiln::impl::GpuMapLoopsBase<GpuMapLoopsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      // Copies that bufferization left become linalg.copy.
      SmallVector<memref::CopyOp> copies;
      func.walk([&](memref::CopyOp copy) {
        if (!insideLaunch(copy))
          copies.push_back(copy);
      });
      for (memref::CopyOp copy : copies) {
        rewriter.setInsertionPoint(copy);
        rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(), copy.getTarget());
      }
      SmallVector<linalg::LinalgOp> ops;
      func.walk([&](linalg::LinalgOp op) {
        if (!insideLaunch(op) && op.hasPureBufferSemantics())
          ops.push_back(op);
      });
      unsigned n = 0;
      for (linalg::LinalgOp op : ops) {
        std::string name =
            (func.getName() + "_" + kindOf(op) + Twine(n++) + kiln::modelNameSuffix(op.getLoc())).str();
        if (failed(mapOp(rewriter, op, name)))
          return signalPassFailure();
      }
    }
  }
};

} // namespace
