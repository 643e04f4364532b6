// Ops that move elements without arithmetic: reshape, transpose, concat and
// slice, as tensor and linalg ops that bufferization can turn into views.
#include "codegen/KilnToLinalg/Builders.h"

#include "common/Shapes.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

struct LowerReshape : KilnPattern<ReshapeOp> {
  using KilnPattern::KilnPattern;
  Value lower(ReshapeOp, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    return e.reshape(adaptor.getInput(), type);
  }
};

struct LowerTranspose : KilnPattern<TransposeOp> {
  using KilnPattern::KilnPattern;
  Value lower(TransposeOp op, Adaptor adaptor, RankedTensorType, Emitter &e) const override {
    return e.transpose(adaptor.getInput(), op.getPermutation());
  }
};

/// The sizes of `x` as tensor slice operands: constants where static.
SmallVector<OpFoldResult> sizesOf(Emitter &e, Value x) {
  SmallVector<OpFoldResult> sizes;
  RankedTensorType t = e.typeOf(x);
  for (int64_t d = 0; d < t.getRank(); ++d)
    sizes.push_back(t.isDynamicDim(d) ? OpFoldResult(e.dim(x, d))
                                      : OpFoldResult(e.b.getIndexAttr(t.getDimSize(d))));
  return sizes;
}

/// Each piece inserted at its offset along `dim` into one empty tensor.
struct LowerConcat : KilnPattern<ConcatOp> {
  using KilnPattern::KilnPattern;
  Value lower(ConcatOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    OpBuilder &b = e.b;
    int64_t dim = op.getDim(), rank = type.getRank();
    ValueRange pieces = adaptor.getInputs();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (!type.isDynamicDim(d))
        continue;
      if (d != dim) {
        sizes.push_back(e.dim(pieces.front(), d));
        continue;
      }
      // The joined dim itself is dynamic: its size is the sum of the pieces'.
      Value total = e.index(0);
      for (Value piece : pieces)
        total = arith::AddIOp::create(b, e.loc, total, e.dim(piece, dim));
      sizes.push_back(total);
    }
    Value result = e.empty(type, sizes);
    Value offset = e.index(0);
    for (Value piece : pieces) {
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
      offsets[dim] = offset;
      result = tensor::InsertSliceOp::create(b, e.loc, piece, result, offsets, sizesOf(e, piece),
                                             strides);
      offset = arith::AddIOp::create(b, e.loc, offset, e.dim(piece, dim));
    }
    return result;
  }
};

struct LowerSlice : KilnPattern<SliceOp> {
  using KilnPattern::KilnPattern;
  Value lower(SliceOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    OpBuilder &b = e.b;
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
    offsets[op.getDim()] = b.getIndexAttr(op.getStart());
    SmallVector<OpFoldResult> sizes = sizesOf(e, adaptor.getInput());
    sizes[op.getDim()] = b.getIndexAttr(op.getSize());
    return tensor::ExtractSliceOp::create(b, e.loc, type, adaptor.getInput(), offsets, sizes,
                                          strides);
  }
};

/// kiln.index's window as tensor slice operands: offsets, sizes (a whole
/// dimension read off `x`) and strides.
struct Window {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
template <typename Op>
Window windowOf(Op op, Emitter &e, Value x) {
  Window w;
  SmallVector<OpFoldResult> whole = sizesOf(e, x);
  for (auto [d, start, size, step] :
       llvm::enumerate(op.getStarts(), op.getSizes(), op.getSteps())) {
    w.offsets.push_back(e.b.getIndexAttr(start));
    w.sizes.push_back(size == shapes::kWhole ? whole[d] : OpFoldResult(e.b.getIndexAttr(size)));
    w.strides.push_back(e.b.getIndexAttr(step));
  }
  return w;
}

/// x[...]: a strided tensor.extract_slice, rank-reduced by the dropped dims.
struct LowerIndex : KilnPattern<IndexOp> {
  using KilnPattern::KilnPattern;
  Value lower(IndexOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Window w = windowOf(op, e, adaptor.getInput());
    return tensor::ExtractSliceOp::create(e.b, e.loc, type, adaptor.getInput(), w.offsets,
                                          w.sizes, w.strides);
  }
};

/// Zeros with the gradient inserted at the window (tensor.insert_slice).
struct LowerIndexGrad : KilnPattern<IndexGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(IndexGradOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Value like = adaptor.getLike();
    Value zeros = e.filled(type, e.sizesOf(type, like), e.scalar(type.getElementType(), 0.0));
    Window w = windowOf(op, e, like);
    return tensor::InsertSliceOp::create(e.b, e.loc, adaptor.getGrad(), zeros, w.offsets, w.sizes,
                                         w.strides);
  }
};

/// tensor.dim (MLIRGen reads the batch size with it) follows its operand's
/// converted type.
struct ConvertDim : public OpConversionPattern<tensor::DimOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tensor::DimOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<tensor::DimOp>(op, adaptor.getSource(), adaptor.getIndex());
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerReshape, LowerTranspose, LowerConcat, LowerSlice, ConvertDim>(
      converter, patterns.getContext());
  patterns.add<LowerIndex, LowerIndexGrad>(converter, patterns.getContext());
}

} // namespace kiln::lowering
