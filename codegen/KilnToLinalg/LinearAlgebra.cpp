// Matrix products: a 2-D product becomes linalg.matmul (later a call to the
// runtime's GEMM); a batched one, with broadcast leading dims, a generic.
// (linear is decomposed into a transpose, a product and a bias add first;
// a 2-D transpose feeding a product is read through the product's indexing
// map, not copied.)
#include "codegen/KilnToLinalg/Builders.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// A 2-D product's operand: the tensor to read and whether the product reads
/// it transposed. `x.T` (a 2-D transpose, as decomposed `linear` makes of its
/// weight) is read in place through the product's indexing map instead of
/// being copied: the runtime's GEMM takes the transposed view by its strides.
std::pair<Value, bool> productOperand(Value kilnOperand, ConversionPatternRewriter &rewriter) {
  auto t = kilnOperand.getDefiningOp<TransposeOp>();
  if (t && t.getInput().getType().getRank() == 2 && t.getPermutation()[0] == 1)
    return {rewriter.getRemappedValue(t.getInput()), true};
  return {rewriter.getRemappedValue(kilnOperand), false};
}

/// The 2-D product lhs @ rhs accumulating into init (zeros when null).
Value product2d(MatMulOp op, Value init, Emitter &e, ConversionPatternRewriter &rewriter) {
  auto [a, aT] = productOperand(op.getLhs(), rewriter);
  auto [b, bT] = productOperand(op.getRhs(), rewriter);
  return e.matmul2d(a, b, init, aT, bT);
}

/// torch.matmul for rank >= 2 with broadcast leading dims.
struct LowerMatMul : KilnPattern<MatMulOp> {
  using KilnPattern::KilnPattern;
  Value lower(MatMulOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    OpBuilder &b = e.b;
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    RankedTensorType lt = e.typeOf(lhs), rt = e.typeOf(rhs);
    int64_t rank = type.getRank(), batch = rank - 2;
    auto dynamic = e.dynamicSizes(type, [&](int64_t d) -> std::pair<Value, int64_t> {
      if (d == rank - 2)
        return {lhs, lt.getRank() - 2};
      if (d == rank - 1)
        return {rhs, rt.getRank() - 1};
      int64_t lo = d - (rank - lt.getRank());
      if (lo >= 0 && lt.isDynamicDim(lo))
        return {lhs, lo};
      return {rhs, d - (rank - rt.getRank())};
    });
    Value init = e.filled(type, dynamic, e.scalar(type.getElementType(), 0.0));
    if (rank == 2 && lt.getRank() == 2 && rt.getRank() == 2) // KilnPattern's builder is the rewriter
      return product2d(op, init, e, static_cast<ConversionPatternRewriter &>(e.b));
    // Iteration space: batch dims, m, n, k.
    int64_t m = batch, n = batch + 1, k = batch + 2, dims = batch + 3;
    auto operandMap = [&](RankedTensorType t, int64_t row, int64_t col) {
      SmallVector<AffineExpr> exprs;
      int64_t offset = batch - (t.getRank() - 2);
      for (int64_t i = 0; i < t.getRank() - 2; ++i)
        exprs.push_back(t.getDimSize(i) == 1 && type.getDimSize(offset + i) != 1
                            ? b.getAffineConstantExpr(0)
                            : b.getAffineDimExpr(offset + i));
      exprs.push_back(b.getAffineDimExpr(row));
      exprs.push_back(b.getAffineDimExpr(col));
      return AffineMap::get(dims, 0, exprs, b.getContext());
    };
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < batch; ++i)
      outExprs.push_back(b.getAffineDimExpr(i));
    outExprs.push_back(b.getAffineDimExpr(m));
    outExprs.push_back(b.getAffineDimExpr(n));
    SmallVector<utils::IteratorType> iters(dims - 1, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    bool isFloat = isa<FloatType>(type.getElementType());
    auto generic = linalg::GenericOp::create(
        b, e.loc, TypeRange{type}, ValueRange{lhs, rhs}, ValueRange{init},
        {operandMap(lt, m, k), operandMap(rt, k, n),
         AffineMap::get(dims, 0, outExprs, b.getContext())},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          Value p = isFloat ? arith::MulFOp::create(nb, l, a[0], a[1]).getResult()
                            : arith::MulIOp::create(nb, l, a[0], a[1]).getResult();
          linalg::YieldOp::create(nb, l, addScalar(nb, l, a[2], p));
        });
    return generic.getResult(0);
  }
};

/// add(matmul(a, b), c) with a 2-D product used only here: the product
/// accumulates into c broadcast to its shape, as PyTorch's addmm does for
/// nn.Linear's bias, instead of adding c in a second pass. (This is how the
/// decomposed linear and conv2d keep their bias in the GEMM.)
struct LowerAddIntoMatMul : OpConversionPattern<AddOp> {
  LowerAddIntoMatMul(const TypeConverter &converter, MLIRContext *context)
      : OpConversionPattern(converter, context, /*benefit=*/2) {}

  static MatMulOp soleProduct(Value v) {
    auto product = v.getDefiningOp<MatMulOp>();
    if (!product || !v.hasOneUse() || product.getLhs().getType().getRank() != 2 ||
        product.getRhs().getType().getRank() != 2)
      return {};
    return product;
  }

  LogicalResult matchAndRewrite(AddOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    bool left = bool(soleProduct(op.getLhs()));
    MatMulOp product = left ? soleProduct(op.getLhs()) : soleProduct(op.getRhs());
    if (!product || product.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not a 2-D product plus an addend");
    Emitter e(rewriter, op.getLoc());
    auto type = cast<RankedTensorType>(getTypeConverter()->convertType(op.getType()));
    Value addend = left ? adaptor.getRhs() : adaptor.getLhs();
    std::pair<Value, bool> lhs = productOperand(product.getLhs(), rewriter),
                           rhs = productOperand(product.getRhs(), rewriter);
    Value a = lhs.first, b = rhs.first;
    bool aT = lhs.second, bT = rhs.second;
    // The product's sizes: rows from a, columns from b.
    auto sizes = e.dynamicSizes(type, [&](int64_t d) {
      return d == 0 ? std::pair<Value, int64_t>{a, aT ? 1 : 0}
                    : std::pair<Value, int64_t>{b, bT ? 0 : 1};
    });
    Value init = e.generic(type, sizes, ValueRange{addend},
                           {e.broadcastMap(e.typeOf(addend).getShape(), type.getShape())},
                           [](OpBuilder &, Location, ValueRange x) { return x[0]; });
    rewriter.replaceOp(op, e.matmul2d(a, b, init, aT, bT));
    return success();
  }
};

} // namespace

void populateLinearAlgebraPatterns(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerMatMul, LowerAddIntoMatMul>(converter, patterns.getContext());
}

} // namespace kiln::lowering
