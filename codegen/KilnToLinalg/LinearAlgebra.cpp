// Matrix products: a 2-D product becomes linalg.matmul (later a call to the
// runtime's GEMM); a batched one, with broadcast leading dims, a generic.
// (linear is decomposed into a transpose, a product and a bias add first;
// a 2-D transpose feeding a product is read through the product's indexing
// map, not copied.)
#include "codegen/KilnToLinalg/Builders.h"
#include "codegen/LinalgNames.h"

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

/// a @ im2col(x) (or its `rows` transpose) accumulating into init, as one
/// generic over the product's loops (i, j, p) whose body reads B's element
/// from x where im2col would have copied it from: the column matrix is
/// never written. Marked kiln.window_product (codegen/LinalgNames.h) for
/// kiln-matmul-to-call; null where x's C, H or W is not static.
Value windowProduct(Value a, bool aT, Im2colOp cols, Value x, Value init, Emitter &e) {
  OpBuilder &b = e.b;
  RankedTensorType xt = e.typeOf(x);
  if (xt.getRank() != 4 || xt.isDynamicDim(1) || xt.isDynamicDim(2) || xt.isDynamicDim(3))
    return {};
  ArrayRef<int64_t> k = cols.getKernel(), s = cols.getStride(), pad = cols.getPadding();
  int64_t h = xt.getDimSize(2), w = xt.getDimSize(3);
  int64_t oh = (h + 2 * pad[0] - k[0]) / s[0] + 1, ow = (w + 2 * pad[1] - k[1]) / s[1] + 1;
  bool rows = cols.getRows();
  AffineExpr i = b.getAffineDimExpr(0), j = b.getAffineDimExpr(1), p = b.getAffineDimExpr(2);
  auto map = [&](AffineExpr r, AffineExpr c) { return AffineMap::get(3, 0, {r, c}, b.getContext()); };
  SmallVector<utils::IteratorType> iters{utils::IteratorType::parallel,
                                         utils::IteratorType::parallel,
                                         utils::IteratorType::reduction};
  auto generic = linalg::GenericOp::create(
      b, e.loc, TypeRange{init.getType()}, ValueRange{a}, ValueRange{init},
      {aT ? map(p, i) : map(i, p), map(i, j)}, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, l, v).getResult(); };
        auto div = [&](Value v, int64_t d) { return arith::DivUIOp::create(nb, l, v, c(d)).getResult(); };
        auto rem = [&](Value v, int64_t d) { return arith::RemUIOp::create(nb, l, v, c(d)).getResult(); };
        Value column = linalg::IndexOp::create(nb, l, 1), depth = linalg::IndexOp::create(nb, l, 2);
        // The window (n, oh, ow) and the kernel offset (channel, kh, kw).
        Value position = rows ? depth : column, offset = rows ? column : depth;
        Value image = div(position, oh * ow), row = rem(div(position, ow), oh), col = rem(position, ow);
        Value channel = div(offset, k[0] * k[1]), kh = rem(div(offset, k[1]), k[0]), kw = rem(offset, k[1]);
        // y = oh * sh + kh - ph: below 0 it wraps, so one unsigned compare checks both ends.
        auto pixel = [&](Value out, int64_t stride, Value kernel, int64_t padding) {
          Value v = arith::AddIOp::create(nb, l, arith::MulIOp::create(nb, l, out, c(stride)), kernel);
          return padding ? arith::SubIOp::create(nb, l, v, c(padding)).getResult() : v;
        };
        Value y = pixel(row, s[0], kh, pad[0]), xx = pixel(col, s[1], kw, pad[1]);
        Value inside;
        if (pad[0] || pad[1]) {
          Value okY = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, y, c(h));
          Value okX = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, xx, c(w));
          inside = arith::AndIOp::create(nb, l, okY, okX);
          y = arith::SelectOp::create(nb, l, okY, y, c(0));
          xx = arith::SelectOp::create(nb, l, okX, xx, c(0));
        }
        Value v = tensor::ExtractOp::create(nb, l, x, ValueRange{image, channel, y, xx});
        if (inside)
          v = arith::SelectOp::create(nb, l, inside, v, e.scalar(v.getType(), 0.0));
        Value product = arith::MulFOp::create(nb, l, args[0], v);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[1], product)});
      });
  SmallVector<NamedAttribute> window{b.getNamedAttr("kernel", b.getDenseI64ArrayAttr(k)),
                                     b.getNamedAttr("stride", b.getDenseI64ArrayAttr(s)),
                                     b.getNamedAttr("padding", b.getDenseI64ArrayAttr(pad))};
  if (rows)
    window.push_back(b.getNamedAttr("rows", b.getUnitAttr()));
  generic->setAttr(kWindowProduct, b.getDictionaryAttr(window));
  return generic.getResult(0);
}

/// The 2-D product lhs @ rhs accumulating into init (zeros when null); a
/// window product when rhs is an im2col and `windowProducts` (the CPU).
Value product2d(MatMulOp op, Value init, Emitter &e, ConversionPatternRewriter &rewriter,
                bool windowProducts) {
  auto [a, aT] = productOperand(op.getLhs(), rewriter);
  if (auto cols = op.getRhs().getDefiningOp<Im2colOp>(); cols && windowProducts && init)
    if (Value product = windowProduct(a, aT, cols, rewriter.getRemappedValue(cols.getInput()), init, e))
      return product;
  auto [b, bT] = productOperand(op.getRhs(), rewriter);
  return e.matmul2d(a, b, init, aT, bT);
}

/// torch.matmul for rank >= 2 with broadcast leading dims.
struct LowerMatMul : KilnPattern<MatMulOp> {
  LowerMatMul(const TypeConverter &converter, MLIRContext *context, bool windowProducts)
      : KilnPattern(converter, context), windowProducts(windowProducts) {}
  bool windowProducts;
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
      return product2d(op, init, e, static_cast<ConversionPatternRewriter &>(e.b),
                       windowProducts);
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
  LowerAddIntoMatMul(const TypeConverter &converter, MLIRContext *context, bool windowProducts)
      : OpConversionPattern(converter, context, /*benefit=*/2), windowProducts(windowProducts) {}
  bool windowProducts;

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
    rewriter.replaceOp(op, product2d(product, init, e, rewriter, windowProducts));
    return success();
  }
};

} // namespace

void populateLinearAlgebraPatterns(bool windowProducts, const TypeConverter &converter,
                                   RewritePatternSet &patterns) {
  patterns.add<LowerMatMul, LowerAddIntoMatMul>(converter, patterns.getContext(), windowProducts);
}

} // namespace kiln::lowering
