// kiln-forall-to-threads: each bufferized scf.forall (a tiled region, from
// kiln-tile-regions) becomes a function of its tile's number, called for
// every tile on the runtime's threads through kiln.parallel_for.
//
// The body moves into `<function>_tile<N>(i, captures...)`, where the
// captures are the values from above that it reads (buffers, sizes,
// scalars; constants are cloned instead) and i is the tile's number: the
// induction variable is lb + i * step. The call site computes the number
// of tiles. Each tile writes only its own slice of the outputs, so the
// thread count changes nothing in the results.
#include "codegen/Passes.h"

#include "ir/KilnCodegenOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_FORALLTOTHREADS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

LogicalResult outline(scf::ForallOp forall, unsigned number) {
  if (forall.getRank() != 1 || forall.getNumResults() != 0)
    return forall.emitError("kiln-forall-to-threads: expected a one-dimensional "
                            "scf.forall on buffers");
  auto parent = forall->getParentOfType<func::FuncOp>();
  Location loc = forall.getLoc();

  // What the body reads from above: constants are cloned, the rest passed.
  SetVector<Value> above;
  getUsedValuesDefinedAbove(forall.getRegion(), above);
  SmallVector<Value> captures;
  SmallVector<Operation *> constants;
  for (Value value : above) {
    Operation *def = value.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>())
      constants.push_back(def);
    else
      captures.push_back(value);
  }
  // The bounds are read inside to compute the induction variable.
  OpBuilder b(forall);
  Value lb = getValueOrCreateConstantIndexOp(b, loc, forall.getMixedLowerBound()[0]);
  Value ub = getValueOrCreateConstantIndexOp(b, loc, forall.getMixedUpperBound()[0]);
  Value step = getValueOrCreateConstantIndexOp(b, loc, forall.getMixedStep()[0]);

  // The tile function: (i, lb, step, captures...).
  SmallVector<Type> argTypes{b.getIndexType(), b.getIndexType(), b.getIndexType()};
  for (Value capture : captures)
    argTypes.push_back(capture.getType());
  OpBuilder moduleBuilder(parent);
  auto tileFunc = func::FuncOp::create(
      moduleBuilder, loc, (parent.getSymName() + "_tile" + Twine(number)).str(),
      moduleBuilder.getFunctionType(argTypes, {}));
  tileFunc.setPrivate();
  Block *entry = tileFunc.addEntryBlock();
  OpBuilder fb = OpBuilder::atBlockBegin(entry);
  IRMapping mapping;
  for (Operation *constant : constants)
    fb.clone(*constant, mapping);
  for (auto [capture, arg] : llvm::zip(captures, entry->getArguments().drop_front(3)))
    mapping.map(capture, arg);
  // Constant bounds (all of kiln-tile-regions') are constants inside too,
  // so that LLVM folds them into the tile's loops.
  auto inside = [&](OpFoldResult bound, Value arg) -> Value {
    if (std::optional<int64_t> value = getConstantIntValue(bound))
      return arith::ConstantIndexOp::create(fb, loc, *value);
    return arg;
  };
  Value iv = arith::AddIOp::create(
      fb, loc, inside(forall.getMixedLowerBound()[0], entry->getArgument(1)),
      arith::MulIOp::create(fb, loc, entry->getArgument(0),
                            inside(forall.getMixedStep()[0], entry->getArgument(2))));
  mapping.map(forall.getInductionVars()[0], iv);
  for (Operation &op : forall.getBody()->without_terminator())
    fb.clone(op, mapping);
  func::ReturnOp::create(fb, loc);

  // The call: tiles = ceil((ub - lb) / step).
  Value tiles = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb), step);
  SmallVector<Value> operands{lb, step};
  operands.append(captures);
  kiln::ir::ParallelForOp::create(b, loc, tileFunc.getSymName(), tiles, operands);
  forall.erase();
  return success();
}

struct ForallToThreadsPass : public kiln::impl::ForallToThreadsBase<ForallToThreadsPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> foralls;
    // Post-order: a forall inside another (none today) goes first.
    getOperation().walk([&](scf::ForallOp forall) { foralls.push_back(forall); });
    unsigned number = 0;
    for (scf::ForallOp forall : foralls)
      if (failed(outline(forall, number++)))
        return signalPassFailure();
  }
};

} // namespace
