// kiln-plan-memory: after bufferization and the deallocation pipeline, the
// buffers a function allocates become views into one workspace that the
// runtime keeps from call to call, so a training run stops allocating after
// its first step.
//
// A buffer is planned when its one dealloc is in the alloc's block: its
// lifetime is then the stretch of the function's body from the op holding
// the alloc to the op holding the dealloc (a loop that allocates and frees
// in its body reuses the same bytes every iteration). Its size in bytes must
// be a constant or a constant times one leaf, a dimension of one of the
// function's arguments (the batch, in practice), traced through the views,
// allocs and reshapes whose sizes are operands. Buffers of each kind share
// a stretch of the workspace, packed by lifetime (largest first, lowest
// offset that overlaps no buffer alive at the same time): the constant ones
// first, then one stretch per leaf, where offsets are multiples of that
// leaf's value. So the workspace is A + B * N bytes for a batch of N.
//
// A buffer inside an scf.forall lives in one tile, and tiles run at the same
// time on the runtime's threads: each forall body gets its own plan, with
// sizes at their largest (tiles are at most a step long), in a second
// workspace that each thread has for itself. The calling thread grows every
// thread's before the loop (kiln_reserve_tile_workspaces), so no tile
// allocates, whichever thread runs it.
//
// Buffers that fit none of this (a size that is not linear in one leaf, a
// dealloc elsewhere) keep memref.alloc, so the heap.
//
// Before planning, a result the function computes in a buffer only to copy
// it into its out-parameter is computed in the out-parameter.
#include "codegen/Passes.h"

#include "ir/KilnAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include <map>

namespace kiln {
#define GEN_PASS_DEF_PLANMEMORY
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kAlign = 64;
constexpr const char *kWorkspaceFn = "kiln_workspace";
constexpr const char *kReserveFn = "kiln_reserve_tile_workspaces";
// The runtime's workspaces: one for the entry points, one per thread for tiles.
constexpr int64_t kEntrySlot = 0, kTileSlot = 1;

int64_t alignUp(int64_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

/// A dimension of an argument of the function: (argument, dimension).
using Leaf = std::pair<unsigned, int64_t>;

/// c + sum(coefficient * leaf), for index values.
struct Linear {
  int64_t constant = 0;
  std::map<Leaf, int64_t> terms;

  Linear scaled(int64_t k) const {
    Linear r{constant * k, {}};
    for (auto [leaf, c] : terms)
      if (c * k)
        r.terms[leaf] = c * k;
    return r;
  }
  Linear plus(const Linear &o, int64_t sign) const {
    Linear r = *this;
    r.constant += sign * o.constant;
    for (auto [leaf, c] : o.terms)
      if (!(r.terms[leaf] += sign * c))
        r.terms.erase(leaf);
    return r;
  }
  std::optional<Linear> dividedExactly(int64_t k) const {
    if (k <= 0 || constant % k)
      return std::nullopt;
    Linear r{constant / k, {}};
    for (auto [leaf, c] : terms) {
      if (c % k)
        return std::nullopt;
      r.terms[leaf] = c / k;
    }
    return r;
  }
};

std::optional<Linear> linearForm(Value value, Block &entry);

/// Dimension `d` of the memref `source` as a linear form: an argument's
/// dimension, or traced through the ops that take their result's sizes as
/// operands (views, allocs, expanding reshapes) or keep them (casts).
std::optional<Linear> dimForm(Value source, int64_t d, Block &entry) {
  auto type = cast<MemRefType>(source.getType());
  if (!type.isDynamicDim(d))
    return Linear{type.getDimSize(d), {}};
  if (auto arg = dyn_cast<BlockArgument>(source)) {
    if (arg.getOwner() != &entry)
      return std::nullopt;
    Linear r;
    r.terms[{arg.getArgNumber(), d}] = 1;
    return r;
  }
  Operation *def = source.getDefiningOp();
  // The operand among `sizes` (one per dynamic dim) that gives dim d.
  auto dynamicSize = [&](ValueRange sizes) {
    return linearForm(sizes[type.getDynamicDimIndex(d)], entry);
  };
  if (auto view = dyn_cast_or_null<memref::ViewOp>(def))
    return dynamicSize(view.getSizes());
  if (auto alloc = dyn_cast_or_null<memref::AllocOp>(def))
    return dynamicSize(alloc.getDynamicSizes());
  if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(def)) {
    OpFoldResult size = expand.getMixedOutputShape()[d];
    if (std::optional<int64_t> c = getConstantIntValue(size))
      return Linear{*c, {}};
    return linearForm(cast<Value>(size), entry);
  }
  if (auto same = dyn_cast_or_null<memref::CastOp>(def))
    return dimForm(same.getSource(), d, entry);
  return std::nullopt;
}

/// The index value as a linear form in the function's argument dimensions,
/// or none when it is not one (a loop's index, a value loaded from memory).
std::optional<Linear> linearForm(Value value, Block &entry) {
  if (std::optional<int64_t> c = getConstantIntValue(value))
    return Linear{*c, {}};
  Operation *def = value.getDefiningOp();
  if (!def)
    return std::nullopt;
  if (auto dim = dyn_cast<memref::DimOp>(def)) {
    std::optional<int64_t> index = getConstantIntValue(dim.getIndex());
    if (!index || !isa<MemRefType>(dim.getSource().getType()))
      return std::nullopt;
    return dimForm(dim.getSource(), *index, entry);
  }
  auto operands = [&]() -> std::optional<std::pair<Linear, Linear>> {
    if (def->getNumOperands() != 2)
      return std::nullopt;
    std::optional<Linear> a = linearForm(def->getOperand(0), entry);
    std::optional<Linear> b = a ? linearForm(def->getOperand(1), entry) : std::nullopt;
    if (!b)
      return std::nullopt;
    return std::pair{*a, *b};
  };
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivUIOp, arith::DivSIOp>(def)) {
    auto ab = operands();
    if (!ab)
      return std::nullopt;
    auto &[a, b] = *ab;
    if (isa<arith::AddIOp>(def))
      return a.plus(b, 1);
    if (isa<arith::SubIOp>(def))
      return a.plus(b, -1);
    if (isa<arith::MulIOp>(def)) {
      if (b.terms.empty())
        return a.scaled(b.constant);
      if (a.terms.empty())
        return b.scaled(a.constant);
      return std::nullopt;
    }
    if (!b.terms.empty()) // a division by a constant only
      return std::nullopt;
    return a.dividedExactly(b.constant);
  }
  return std::nullopt;
}

int64_t elementBytes(Type type) {
  if (type.isIndex())
    return 8;
  if (type.isIntOrFloat())
    return (int64_t(type.getIntOrFloatBitWidth()) + 7) / 8;
  return 0;
}

/// A buffer the plan places: bytes = size * (leaf's value, or 1).
struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  std::optional<Leaf> leaf;
  int64_t size = 0;          // bytes, or bytes per unit of the leaf
  int64_t first = 0, last = 0; // positions in the scope's block
  int64_t offset = 0;        // within its kind's stretch
};

/// The one dealloc of the alloc's result, when it is in the alloc's block.
memref::DeallocOp deallocInSameBlock(memref::AllocOp alloc) {
  memref::DeallocOp found;
  for (Operation *user : alloc->getUsers())
    if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
      if (found)
        return {};
      found = dealloc;
    }
  if (!found || found->getBlock() != alloc->getBlock())
    return {};
  return found;
}

bool plannableType(MemRefType type) {
  return type.getLayout().isIdentity() && !type.getMemorySpace() &&
         elementBytes(type.getElementType()) > 0;
}

/// Packs buffers of one kind: largest first, each at the lowest offset that
/// overlaps no placed buffer alive at the same time. Returns the stretch's size.
int64_t pack(SmallVectorImpl<Buffer *> &buffers) {
  // Ties keep program order, so the plan does not depend on the sort.
  std::stable_sort(buffers.begin(), buffers.end(),
                   [](Buffer *a, Buffer *b) { return a->size > b->size; });
  SmallVector<Buffer *> placed;
  int64_t end = 0;
  for (Buffer *buffer : buffers) {
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (Buffer *other : placed)
      if (other->first <= buffer->last && buffer->first <= other->last)
        busy.push_back({other->offset, other->offset + other->size});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + buffer->size <= lo)
        break;
      offset = std::max(offset, hi);
    }
    buffer->offset = offset;
    placed.push_back(buffer);
    end = std::max(end, offset + buffer->size);
  }
  return end;
}

/// The runtime's `name`, declared once with a C interface.
func::FuncOp declare(ModuleOp module, StringRef name, FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b(module.getBodyRegion());
  auto func = func::FuncOp::create(b, module.getLoc(), name, type);
  func.setPrivate();
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return func;
}

/// The plan of one scope: a function's body (sizes linear in its argument
/// dimensions) or a forall's body (sizes at their constant upper bound).
struct Plan {
  SmallVector<Buffer> buffers;
  int64_t fixedBytes = 0;
  std::map<Leaf, int64_t> perLeafBytes;

  /// Bytes per unit of the leaves, all leaves being the batch.
  int64_t perSampleBytes() const {
    int64_t sum = 0;
    for (auto [leaf, bytes] : perLeafBytes)
      sum += bytes;
    return sum;
  }

  void place() {
    std::map<std::optional<Leaf>, SmallVector<Buffer *>> kinds;
    for (Buffer &buffer : buffers)
      kinds[buffer.leaf].push_back(&buffer);
    for (auto &[leaf, members] : kinds) {
      int64_t bytes = pack(members);
      if (leaf)
        perLeafBytes[*leaf] = bytes;
      else
        fixedBytes = bytes;
    }
  }

  /// Replaces the allocs by views of a workspace fetched at the start of
  /// `scope`. Its size is computed at `sizeAt` (`leafValue` materializes a
  /// leaf's value there), where `reserveFn`, if given, is called with it.
  void rewrite(func::FuncOp workspaceFn, func::FuncOp reserveFn, int64_t slot, Block &scope,
               OpBuilder sizeAt, function_ref<Value(OpBuilder &, Leaf)> leafValue) {
    if (buffers.empty())
      return;
    Location loc = scope.getParentOp()->getLoc();
    OpBuilder &b = sizeAt;
    auto constant = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
    // Stretches: the fixed one, then one per leaf in the map's order.
    Value total = constant(fixedBytes);
    std::map<Leaf, std::pair<Value, Value>> stretches; // leaf -> (base, value)
    for (auto [leaf, bytes] : perLeafBytes) {
      Value n = leafValue(b, leaf);
      stretches[leaf] = {total, n};
      total = arith::AddIOp::create(
          b, loc, total, arith::MulIOp::create(b, loc, constant(bytes), n));
    }
    if (reserveFn)
      func::CallOp::create(b, loc, reserveFn, ValueRange{total});
    if (b.getInsertionBlock() != &scope)
      b.setInsertionPointToStart(&scope);
    Value workspace =
        func::CallOp::create(b, loc, workspaceFn, ValueRange{constant(slot), total}).getResult(0);
    for (Buffer &buffer : buffers) {
      OpBuilder at(buffer.alloc);
      Value offset;
      if (buffer.leaf) {
        auto [base, n] = stretches[*buffer.leaf];
        offset = arith::AddIOp::create(
            at, loc, base,
            arith::MulIOp::create(at, loc, arith::ConstantIndexOp::create(at, loc, buffer.offset), n));
      } else {
        offset = arith::ConstantIndexOp::create(at, loc, buffer.offset);
      }
      Value view = memref::ViewOp::create(at, buffer.alloc.getLoc(), buffer.alloc.getType(),
                                          workspace, offset, buffer.alloc.getDynamicSizes());
      buffer.alloc.replaceAllUsesWith(view);
      buffer.dealloc.erase();
      buffer.alloc.erase();
    }
  }
};

/// A result that the function computes in a buffer of its own and then
/// copies into its out-parameter (buffer-results-to-out-params) is computed
/// in the out-parameter: the runtime passes result buffers that alias no
/// argument, and the copy was the parameter's only use.
void computeResultsInPlace(func::FuncOp func) {
  for (BlockArgument arg : func.getArguments()) {
    if (!arg.hasOneUse())
      continue;
    auto copy = dyn_cast<memref::CopyOp>(*arg.getUsers().begin());
    if (!copy || copy.getTarget() != arg)
      continue;
    auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
    if (!alloc || alloc.getType() != arg.getType())
      continue;
    memref::DeallocOp dealloc = deallocInSameBlock(alloc);
    if (!dealloc)
      continue;
    copy.erase();
    dealloc.erase();
    alloc.replaceAllUsesWith(arg);
    alloc.erase();
  }
}

bool insideParallelLoop(Operation *op, Operation *stop) {
  for (Operation *p = op->getParentOp(); p && p != stop; p = p->getParentOp())
    if (isa<scf::ForallOp, scf::ParallelOp>(p))
      return true;
  return false;
}

/// The shape operands of memref.reshape (a few indices the host stores and
/// the reshape reads back as sizes) become stack slots in the entry block:
/// in a cuda executable the workspace is device memory, and a host store
/// there must wait for the kernels before it. Not inside a parallel loop,
/// where one slot would be shared by the threads.
void shapesOnStack(func::FuncOp func) {
  constexpr int64_t kMaxShapeRank = 8;
  SmallVector<memref::AllocOp> shapes;
  func.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (!type.getElementType().isIndex() || !type.hasStaticShape() || type.getRank() != 1 ||
        type.getDimSize(0) > kMaxShapeRank || insideParallelLoop(alloc, func))
      return;
    bool readAsShape = false;
    for (OpOperand &use : alloc->getUses()) {
      Operation *user = use.getOwner();
      if (auto reshape = dyn_cast<memref::ReshapeOp>(user); reshape && reshape.getShape() == alloc)
        readAsShape = true;
      else if (auto store = dyn_cast<memref::StoreOp>(user); !store || store.getMemref() != alloc)
        if (!isa<memref::DeallocOp>(user))
          return;
    }
    if (readAsShape)
      shapes.push_back(alloc);
  });
  OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
  for (memref::AllocOp alloc : shapes) {
    auto slot = memref::AllocaOp::create(b, alloc.getLoc(), alloc.getType());
    for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
    alloc.replaceAllUsesWith(slot.getResult());
    alloc.erase();
  }
}

/// Positions of the ops of a block, for lifetimes.
DenseMap<Operation *, int64_t> positions(Block &block) {
  DenseMap<Operation *, int64_t> at;
  int64_t i = 0;
  for (Operation &op : block)
    at[&op] = i++;
  return at;
}

/// The alloc's bytes as a linear form in the function's argument
/// dimensions. In a tile, a size that is not one (the tile's extent) counts
/// at its constant upper bound.
std::optional<Linear> bytesOf(memref::AllocOp alloc, Block &entry, bool inTile) {
  MemRefType type = alloc.getType();
  Linear bytes{elementBytes(type.getElementType()), {}};
  auto dynamic = alloc.getDynamicSizes().begin();
  for (int64_t d : type.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      bytes = bytes.scaled(d);
      continue;
    }
    Value size = *dynamic++;
    std::optional<Linear> dim = linearForm(size, entry);
    if (!dim && inTile) {
      FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
          presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(size),
          /*stopCondition=*/nullptr, /*closedUB=*/true);
      if (succeeded(bound) && *bound >= 0)
        dim = Linear{*bound, {}};
    }
    if (!dim)
      return std::nullopt;
    if (dim->terms.empty())
      bytes = bytes.scaled(dim->constant);
    else if (bytes.terms.empty())
      bytes = dim->scaled(bytes.constant);
    else
      return std::nullopt; // a product of two leaves
  }
  return bytes;
}

/// The plan of a scope: a function's body, or an outermost forall's body.
/// Each alloc in it (not in a parallel loop nested deeper) whose dealloc is
/// in its block and whose size is a constant or a constant times one leaf.
Plan planScope(Block &scope, Block &entry) {
  Plan plan;
  Operation *root = scope.getParentOp();
  bool inTile = isa<scf::ForallOp>(root);
  DenseMap<Operation *, int64_t> at = positions(scope);
  root->walk([&](memref::AllocOp alloc) {
    memref::DeallocOp dealloc = deallocInSameBlock(alloc);
    if (!dealloc || !plannableType(alloc.getType()) || insideParallelLoop(alloc, root))
      return;
    std::optional<Linear> bytes = bytesOf(alloc, entry, inTile);
    if (!bytes)
      return;
    Buffer buffer;
    buffer.alloc = alloc;
    buffer.dealloc = dealloc;
    if (bytes->terms.empty()) {
      buffer.size = alignUp(bytes->constant);
    } else {
      auto [leaf, coefficient] = *bytes->terms.begin();
      if (bytes->constant != 0 || bytes->terms.size() != 1 || coefficient <= 0)
        return;
      buffer.leaf = leaf;
      buffer.size = alignUp(coefficient);
    }
    buffer.first = at.lookup(scope.findAncestorOpInBlock(*alloc));
    buffer.last = at.lookup(scope.findAncestorOpInBlock(*dealloc));
    plan.buffers.push_back(buffer);
  });
  plan.place();
  return plan;
}

struct PlanMemoryPass : kiln::impl::PlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t fixedBytes = 0, perSampleBytes = 0;
    SmallVector<func::FuncOp> funcs;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && func.getBody().hasOneBlock())
        funcs.push_back(func);
    Builder types(module.getContext());
    Type bytesType = MemRefType::get({ShapedType::kDynamic}, types.getI8Type());
    Type index = types.getIndexType();
    auto workspace = [&] {
      return declare(module, kWorkspaceFn, types.getFunctionType({index, index}, {bytesType}));
    };
    auto reserve = [&] { return declare(module, kReserveFn, types.getFunctionType({index}, {})); };
    for (func::FuncOp func : funcs) {
      computeResultsInPlace(func);
      shapesOnStack(func);
      Block &entry = func.getBody().front();
      auto leafValue = [&](OpBuilder &b, Leaf leaf) -> Value {
        Location loc = func.getLoc();
        return memref::DimOp::create(b, loc, entry.getArgument(leaf.first),
                                     arith::ConstantIndexOp::create(b, loc, leaf.second));
      };
      // The tiles' plans first: the function's plan then sees only its own.
      SmallVector<scf::ForallOp> foralls;
      func.walk([&](scf::ForallOp forall) {
        if (!insideParallelLoop(forall, func))
          foralls.push_back(forall);
      });
      int64_t tileFixed = 0, tilePerSample = 0;
      for (scf::ForallOp forall : foralls) {
        Plan tile = planScope(*forall.getBody(), entry);
        // Every thread's tile workspace grows here, on the calling thread,
        // so that no tile allocates, whichever thread runs it.
        if (!tile.buffers.empty())
          tile.rewrite(workspace(), reserve(), kTileSlot, *forall.getBody(), OpBuilder(forall),
                       leafValue);
        tileFixed = std::max(tileFixed, tile.fixedBytes);
        tilePerSample = std::max(tilePerSample, tile.perSampleBytes());
      }
      Plan plan = planScope(entry, entry);
      if (!plan.buffers.empty())
        plan.rewrite(workspace(), nullptr, kEntrySlot, entry, OpBuilder::atBlockBegin(&entry),
                     leafValue);
      // One workspace serves every entry point in turn: the largest plan,
      // with one thread's tile workspace (the calling thread runs tiles too).
      fixedBytes = std::max(fixedBytes, plan.fixedBytes + tileFixed);
      perSampleBytes = std::max(perSampleBytes, plan.perSampleBytes() + tilePerSample);
    }
    Builder b(module);
    module->setAttr(kiln::ir::kWorkspaceAttrName,
                    b.getDictionaryAttr({b.getNamedAttr("fixed_bytes", b.getI64IntegerAttr(fixedBytes)),
                                         b.getNamedAttr("per_sample_bytes",
                                                        b.getI64IntegerAttr(perSampleBytes))}));
  }
};

} // namespace
