// kiln.all_reduce_mean: all operands of one element type are copied into
// one flat buffer, which one call of the runtime's
// kiln_all_reduce_mean_f32/f64(buffer, share) reduces over the run's
// processes in place (MPI_Allreduce; nothing with one process); the
// results are slices of it. Operands have static shapes (gradients, loss,
// metrics, running statistics). The share goes as its 0-d buffer, which
// the runtime reads only when it reduces: with one process the call reads
// no memory at all, so a cuda step need not wait for its kernels there.
#include "codegen/KilnToLinalg/Builders.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

struct LowerAllReduceMean : OpConversionPattern<AllReduceMeanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(AllReduceMeanOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    for (Value v : adaptor.getValues())
      if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
        return rewriter.notifyMatchFailure(op, "an operand of dynamic shape");
    auto shareType = MemRefType::get({}, rewriter.getF64Type());
    Value share = bufferization::ToBufferOp::create(rewriter, loc, shareType, adaptor.getShare(),
                                                    /*readOnly=*/true);
    SmallVector<Value> results(op.getNumResults());
    // One buffer and one call per element type, in operand order.
    SmallVector<Type> elementTypes;
    for (Value v : adaptor.getValues())
      if (!llvm::is_contained(elementTypes, getElementTypeOrSelf(v.getType())))
        elementTypes.push_back(getElementTypeOrSelf(v.getType()));
    for (Type elem : elementTypes) {
      SmallVector<unsigned> members;
      SmallVector<int64_t> offsets;
      int64_t total = 0;
      for (auto [i, v] : llvm::enumerate(adaptor.getValues()))
        if (getElementTypeOrSelf(v.getType()) == elem) {
          members.push_back(i);
          offsets.push_back(total);
          total += cast<RankedTensorType>(v.getType()).getNumElements();
        }
      // The buffer and its windows, each shaped as its operand, come first
      // in the function: eliminate-empty-tensors can then have the op that
      // computes an operand write straight into its window (no copy).
      auto bufType = MemRefType::get({total}, elem);
      Value buf;
      SmallVector<Value> windows;
      {
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPointToStart(&op->getParentOfType<func::FuncOp>().getBody().front());
        buf = memref::AllocOp::create(rewriter, loc, bufType);
        for (auto [k, i] : llvm::enumerate(members)) {
          auto type = cast<RankedTensorType>(adaptor.getValues()[i].getType());
          Value window = memref::SubViewOp::create(
              rewriter, loc, buf, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offsets[k])},
              ArrayRef<OpFoldResult>{rewriter.getIndexAttr(type.getNumElements())},
              ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
          windows.push_back(expand(rewriter, loc, window, type.getShape()));
        }
      }
      for (auto [k, i] : llvm::enumerate(members))
        bufferization::MaterializeInDestinationOp::create(rewriter, loc, TypeRange{},
                                                          adaptor.getValues()[i], windows[k],
                                                          /*restrict=*/true, /*writable=*/true);
      auto dynType = MemRefType::get({ShapedType::kDynamic}, elem);
      func::FuncOp callee = declare(rewriter, op, elem, dynType);
      func::CallOp::create(rewriter, loc, callee,
                           ValueRange{memref::CastOp::create(rewriter, loc, dynType, buf), share});
      Value reduced = bufferization::ToTensorOp::create(
          rewriter, loc, RankedTensorType::get({total}, elem), buf, /*restrict=*/true,
          /*writable=*/true);
      for (auto [k, i] : llvm::enumerate(members)) {
        auto type = cast<RankedTensorType>(adaptor.getValues()[i].getType());
        Value slice = tensor::ExtractSliceOp::create(
            rewriter, loc, RankedTensorType::get({type.getNumElements()}, elem), reduced,
            ValueRange{}, ValueRange{}, ValueRange{}, ArrayRef<int64_t>{offsets[k]},
            ArrayRef<int64_t>{type.getNumElements()}, ArrayRef<int64_t>{1});
        results[i] = reshape(rewriter, loc, slice, type);
      }
    }
    rewriter.replaceOp(op, results);
    return success();
  }

  /// A contiguous 1-D window of the flat buffer viewed with `shape`.
  static Value expand(OpBuilder &b, Location loc, Value window, ArrayRef<int64_t> shape) {
    if (shape.size() == 1)
      return window;
    if (shape.empty()) // a scalar: its one element, no groups
      return memref::CollapseShapeOp::create(b, loc, window, ArrayRef<ReassociationIndices>{});
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, int64_t(shape.size())));
    return memref::ExpandShapeOp::create(b, loc, shape, window, ArrayRef<ReassociationIndices>{all});
  }

  /// A static-shaped tensor as another of the same element count.
  static Value reshape(OpBuilder &b, Location loc, Value v, RankedTensorType to) {
    auto from = cast<RankedTensorType>(v.getType());
    if (from == to)
      return v;
    // One of the two is rank 1; all of the other's dims are one group
    // (none at all for a 0-d tensor).
    bool collapse = from.getRank() > to.getRank();
    SmallVector<ReassociationIndices> groups;
    int64_t wide = collapse ? from.getRank() : to.getRank();
    if (wide > 0 && (collapse ? to.getRank() : from.getRank()) > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, wide)));
    if (collapse)
      return tensor::CollapseShapeOp::create(b, loc, to, v, groups);
    return tensor::ExpandShapeOp::create(b, loc, to, v, groups);
  }

  static func::FuncOp declare(ConversionPatternRewriter &rewriter, Operation *op, Type elem,
                              MemRefType type) {
    auto module = op->getParentOfType<ModuleOp>();
    std::string name = elem.isF32() ? "kiln_all_reduce_mean_f32" : "kiln_all_reduce_mean_f64";
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    auto func = func::FuncOp::create(
        rewriter, module.getLoc(), name,
        rewriter.getFunctionType({type, MemRefType::get({}, rewriter.getF64Type())}, {}));
    func.setPrivate();
    func->setAttr("llvm.emit_c_interface", rewriter.getUnitAttr());
    return func;
  }
};

} // namespace

void populateCollectivePatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerAllReduceMean>(converter, patterns.getContext());
}

} // namespace kiln::lowering
