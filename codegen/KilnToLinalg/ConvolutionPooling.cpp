// Convolution windows and pooling over the last two dims (H, W): im2col and
// its adjoint col2im (conv2d and its gradients are decomposed into these
// and matrix products first), max and average pooling and their gradients.
#include "codegen/KilnToLinalg/Builders.h"

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// `x` with `ph` rows and `pw` columns of `fill` on each side of H and W.
Value pad(Emitter &e, Value x, int64_t ph, int64_t pw, Value fill) {
  if (ph == 0 && pw == 0)
    return x;
  RankedTensorType t = e.typeOf(x);
  int64_t rank = t.getRank(), h = t.getDimSize(rank - 2), w = t.getDimSize(rank - 1);
  SmallVector<int64_t> shape(t.getShape());
  shape[rank - 2] += 2 * ph;
  shape[rank - 1] += 2 * pw;
  auto type = RankedTensorType::get(shape, t.getElementType());
  auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
  return e.generic(type, dynamic, ValueRange{}, {}, [&](OpBuilder &nb, Location l, ValueRange) -> Value {
    SmallVector<Value> at;
    Value inside;
    for (int64_t d = 0; d < rank; ++d) {
      Value i = linalg::IndexOp::create(nb, l, d);
      if (d < rank - 2) {
        at.push_back(i);
        continue;
      }
      int64_t p = d == rank - 2 ? ph : pw, size = d == rank - 2 ? h : w;
      // i - p wraps around below zero, so one unsigned compare checks both ends.
      Value shifted = arith::SubIOp::create(nb, l, i, arith::ConstantIndexOp::create(nb, l, p));
      Value ok = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, shifted,
                                       arith::ConstantIndexOp::create(nb, l, size));
      inside = inside ? arith::AndIOp::create(nb, l, inside, ok).getResult() : ok;
      at.push_back(arith::SelectOp::create(nb, l, ok, shifted, arith::ConstantIndexOp::create(nb, l, 0)));
    }
    Value v = tensor::ExtractOp::create(nb, l, x, at);
    return arith::SelectOp::create(nb, l, inside, v, fill);
  });
}

/// The output size of a window sweep along one dim.
int64_t windows(int64_t size, int64_t k, int64_t s, int64_t p) {
  return (size + 2 * p - k) / s + 1;
}

/// Reads a padded [L..., Hp, Wp] tensor over the iteration space
/// (L..., oh, ow, kh, kw) at (L..., oh * sh + kh, ow * sw + kw).
AffineMap windowMap(Emitter &e, int64_t lead, ArrayRef<int64_t> stride) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < lead; ++d)
    exprs.push_back(e.b.getAffineDimExpr(d));
  for (int64_t i = 0; i < 2; ++i)
    exprs.push_back(e.b.getAffineDimExpr(lead + i) * stride[i] + e.b.getAffineDimExpr(lead + 2 + i));
  return AffineMap::get(lead + 4, 0, exprs, e.b.getContext());
}

/// [L..., OH, OW] pool result type of `x` [L..., H, W].
RankedTensorType pooledType(Emitter &e, Value x, ArrayRef<int64_t> k,
                                   ArrayRef<int64_t> s, ArrayRef<int64_t> p, Type elem) {
  RankedTensorType t = e.typeOf(x);
  int64_t rank = t.getRank();
  SmallVector<int64_t> shape(t.getShape());
  shape[rank - 2] = windows(shape[rank - 2], k[0], s[0], p[0]);
  shape[rank - 1] = windows(shape[rank - 1], k[1], s[1], p[1]);
  return RankedTensorType::get(shape, elem);
}

/// linalg needs every loop bound by an operand: an empty [KH, KW] tensor
/// gives the kernel loops theirs. Iterators: parallel but kh, kw.
std::pair<Value, SmallVector<utils::IteratorType>> windowSpace(Emitter &e, int64_t lead,
                                                                     ArrayRef<int64_t> k) {
  Value space = e.empty(RankedTensorType::get({k[0], k[1]}, e.b.getI8Type()), {});
  SmallVector<utils::IteratorType> iters(lead + 2, utils::IteratorType::parallel);
  iters.append(2, utils::IteratorType::reduction);
  return {space, iters};
}
AffineMap kernelMap(Emitter &e, int64_t lead) {
  return AffineMap::get(lead + 4, 0, {e.b.getAffineDimExpr(lead + 2), e.b.getAffineDimExpr(lead + 3)},
                        e.b.getContext());
}
AffineMap outMap(Emitter &e, int64_t lead) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < lead + 2; ++d)
    exprs.push_back(e.b.getAffineDimExpr(d));
  return AffineMap::get(lead + 4, 0, exprs, e.b.getContext());
}

/// Sum of each zero-padded window of `x`.
Value windowSum(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                       ArrayRef<int64_t> p) {
  OpBuilder &b = e.b;
  Type elem = e.typeOf(x).getElementType();
  int64_t lead = e.typeOf(x).getRank() - 2;
  Value padded = pad(e, x, p[0], p[1], e.scalar(elem, 0.0));
  RankedTensorType type = pooledType(e, x, k, s, p, elem);
  Value out = e.filled(type, e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; }),
                       e.scalar(elem, 0.0));
  auto [kernelSpace, iters] = windowSpace(e, lead, k);
  auto op = linalg::GenericOp::create(
      b, e.loc, TypeRange{type}, ValueRange{padded, kernelSpace}, ValueRange{out},
      {windowMap(e, lead, s), kernelMap(e, lead), outMap(e, lead)}, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[2], a[0])});
      });
  return op.getResult(0);
}

/// A window's max step: `v` at kernel offset `i` replaces the best so far
/// when strictly larger, or equal and earlier (the first maximum).
std::pair<Value, Value> maxStep(OpBuilder &b, Location l, Value v, Value i, Value best, Value at) {
  Value larger = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, v, best);
  Value equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, v, best);
  Value earlier = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, at);
  Value take = arith::OrIOp::create(b, l, larger, arith::AndIOp::create(b, l, equal, earlier));
  return {arith::SelectOp::create(b, l, take, v, best), arith::SelectOp::create(b, l, take, i, at)};
}

/// Windows of at most this many elements are unrolled into one parallel op.
constexpr int64_t kMaxUnrolledWindow = 16;

/// The largest value of each (-inf padded) window and where it is
/// (kh * KW + kw, i32): the first largest, as PyTorch picks. A small window
/// is one parallel op reading each of its elements through its own map, the
/// steps in registers in (kh, kw) order (LLVM vectorizes it along a row of
/// windows); a larger one a reduction over (kh, kw). Both start from -inf
/// at 0 and take the same steps: the same results.
std::pair<Value, Value> maxPool(Emitter &e, Value x, ArrayRef<int64_t> k,
                                       ArrayRef<int64_t> s, ArrayRef<int64_t> p) {
  OpBuilder &b = e.b;
  Type elem = e.typeOf(x).getElementType(), i32 = b.getI32Type();
  int64_t lead = e.typeOf(x).getRank() - 2;
  Value minusInf = lowest(e, elem, false);
  Value padded = pad(e, x, p[0], p[1], minusInf);
  RankedTensorType type = pooledType(e, x, k, s, p, elem);
  auto whereType = RankedTensorType::get(type.getShape(), i32);
  auto dynamic = e.dynamicSizes(type, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; });
  if (k[0] * k[1] <= kMaxUnrolledWindow) {
    SmallVector<Value> inputs(k[0] * k[1], padded);
    SmallVector<AffineMap> maps;
    for (int64_t kh = 0; kh < k[0]; ++kh)
      for (int64_t kw = 0; kw < k[1]; ++kw) {
        SmallVector<AffineExpr> at;
        for (int64_t d = 0; d < lead; ++d)
          at.push_back(b.getAffineDimExpr(d));
        at.push_back(b.getAffineDimExpr(lead) * s[0] + kh);
        at.push_back(b.getAffineDimExpr(lead + 1) * s[1] + kw);
        maps.push_back(AffineMap::get(lead + 2, 0, at, b.getContext()));
      }
    maps.append(2, b.getMultiDimIdentityMap(lead + 2));
    SmallVector<utils::IteratorType> iters(lead + 2, utils::IteratorType::parallel);
    auto op = linalg::GenericOp::create(
        b, e.loc, TypeRange{type, whereType}, inputs,
        ValueRange{e.empty(type, dynamic), e.empty(whereType, dynamic)}, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value best = minusInf, at = arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(0));
          for (int64_t i = 0; i < k[0] * k[1]; ++i) {
            Value offset = arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(int32_t(i)));
            std::tie(best, at) = maxStep(nb, l, a[i], offset, best, at);
          }
          linalg::YieldOp::create(nb, l, ValueRange{best, at});
        });
    return {op.getResult(0), op.getResult(1)};
  }
  Value best = e.filled(type, dynamic, minusInf);
  Value where = e.filled(whereType, dynamic, e.scalar(i32, 0));
  auto [kernelSpace, iters] = windowSpace(e, lead, k);
  auto op = linalg::GenericOp::create(
      b, e.loc, TypeRange{best.getType(), where.getType()}, ValueRange{padded, kernelSpace},
      ValueRange{best, where},
      {windowMap(e, lead, s), kernelMap(e, lead), outMap(e, lead), outMap(e, lead)}, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value kh = linalg::IndexOp::create(nb, l, lead + 2), kw = linalg::IndexOp::create(nb, l, lead + 3);
        Value flat = arith::AddIOp::create(
            nb, l, arith::MulIOp::create(nb, l, kh, arith::ConstantIndexOp::create(nb, l, k[1])), kw);
        Value offset = arith::IndexCastOp::create(nb, l, i32, flat);
        auto [v, i] = maxStep(nb, l, a[0], offset, a[2], a[3]);
        linalg::YieldOp::create(nb, l, ValueRange{v, i});
      });
  return {op.getResult(0), op.getResult(1)};
}

/// A window's contribution: lead holds the leading indices (N, C, ...),
/// then the window (oh, ow) and the kernel offset (kh, kw).
using WindowFn = function_ref<Value(OpBuilder &, Location, ValueRange lead, Value oh, Value ow,
                                    Value kh, Value kw)>;

/// linalg.index of the leading dims (N, C, ...) of a window gather.
SmallVector<Value> leadIndices(OpBuilder &b, Location l, int64_t lead) {
  SmallVector<Value> at;
  for (int64_t d = 0; d < lead; ++d)
    at.push_back(linalg::IndexOp::create(b, l, d));
  return at;
}

/// A window's contribution where its window exists, else 0.
Value validShare(OpBuilder &b, Location l, Value valid, Value contribution) {
  Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(contribution.getType()));
  return arith::SelectOp::create(b, l, valid, contribution, zero);
}

/// gatherWindows for windows that tile the input (stride = kernel, no
/// padding): input (h, w) is in at most one window, (h / kh, w / kw) at
/// offset (h % kh, w % kw), so each element is one value, no loop over the
/// kernel; when the windows cover the input, no division either. 0.0 +
/// value, as the general form's sum over the kernel gives (a -0.0 becomes
/// +0.0 there too): the same bits.
Value gatherTiledWindows(Emitter &e, Value x, ArrayRef<int64_t> k, const int64_t outSize[2],
                         WindowFn value) {
  RankedTensorType t = e.typeOf(x);
  int64_t lead = t.getRank() - 2;
  Type elem = t.getElementType();
  auto sameDims = [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; };
  if (outSize[0] * k[0] == t.getDimSize(lead) && outSize[1] * k[1] == t.getDimSize(lead + 1)) {
    // Windows that cover the input: its elements are [L..., OH, KH, OW, KW],
    // read at the loop indices (no division: LLVM vectorizes a row).
    SmallVector<int64_t> shape(t.getShape().take_front(lead));
    shape.append({outSize[0], k[0], outSize[1], k[1]});
    auto windowed = RankedTensorType::get(shape, elem);
    Value each = e.generic(windowed, e.dynamicSizes(windowed, sameDims), ValueRange{}, {},
                           [&](OpBuilder &nb, Location l, ValueRange) -> Value {
                             SmallVector<Value> at = leadIndices(nb, l, lead);
                             auto index = [&](int64_t d) -> Value {
                               return linalg::IndexOp::create(nb, l, lead + d);
                             };
                             // (oh, kh, ow, kw) -> value(oh, ow, kh, kw)
                             Value v = value(nb, l, at, index(0), index(2), index(1), index(3));
                             Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(elem));
                             return arith::AddFOp::create(nb, l, zero, v);
                           });
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < lead; ++d)
      groups.push_back({d});
    groups.push_back({lead, lead + 1});
    groups.push_back({lead + 2, lead + 3});
    return tensor::CollapseShapeOp::create(e.b, e.loc, t, each, groups);
  }
  return e.generic(t, e.dynamicSizes(t, sameDims), ValueRange{}, {}, [&](OpBuilder &nb, Location l, ValueRange) -> Value {
    auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, l, v); };
    SmallVector<Value> at = leadIndices(nb, l, lead);
    Value valid, kk[2], window[2];
    for (int64_t i = 0; i < 2; ++i) {
      Value pos = linalg::IndexOp::create(nb, l, lead + i);
      Value o = arith::DivUIOp::create(nb, l, pos, c(k[i]));
      kk[i] = arith::RemUIOp::create(nb, l, pos, c(k[i]));
      // Rows and columns past the last whole window get nothing.
      Value ok = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, o, c(outSize[i]));
      valid = valid ? arith::AndIOp::create(nb, l, valid, ok).getResult() : ok;
      window[i] = arith::SelectOp::create(nb, l, ok, o, c(0)); // in bounds either way
    }
    Value share = validShare(nb, l, valid, value(nb, l, at, window[0], window[1], kk[0], kk[1]));
    Value zero = arith::ConstantOp::create(nb, l, nb.getZeroAttr(elem));
    return arith::AddFOp::create(nb, l, zero, share);
  });
}

/// The gradient of a window sweep over `x` [L..., H, W], as a gather so
/// that no two loops write one element: input (h, w) sums, over the kernel
/// offsets (kh, kw) whose window (oh, ow) = ((h + ph - kh) / sh,
/// (w + pw - kw) / sw) exists, `value(L..., oh, ow, kh, kw)`.
Value gatherWindows(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                           ArrayRef<int64_t> p, WindowFn value) {
  OpBuilder &b = e.b;
  RankedTensorType t = e.typeOf(x);
  int64_t lead = t.getRank() - 2;
  Type elem = t.getElementType();
  int64_t outSize[2] = {windows(t.getDimSize(lead), k[0], s[0], p[0]),
                        windows(t.getDimSize(lead + 1), k[1], s[1], p[1])};
  if (s[0] == k[0] && s[1] == k[1] && p[0] == 0 && p[1] == 0)
    return gatherTiledWindows(e, x, k, outSize, value);
  Value out = e.filled(t, e.dynamicSizes(t, [&](int64_t d) { return std::pair<Value, int64_t>{x, d}; }),
                       e.scalar(elem, 0.0));
  auto [kernelSpace, iters] = windowSpace(e, lead, k);
  auto op = linalg::GenericOp::create(
      b, e.loc, TypeRange{t}, ValueRange{kernelSpace}, ValueRange{out},
      {kernelMap(e, lead), outMap(e, lead)}, iters, [&](OpBuilder &nb, Location l, ValueRange a) {
        SmallVector<Value> at = leadIndices(nb, l, lead);
        Value valid, kk[2], window[2];
        for (int64_t i = 0; i < 2; ++i) {
          Value pos = linalg::IndexOp::create(nb, l, lead + i);
          kk[i] = linalg::IndexOp::create(nb, l, lead + 2 + i);
          auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, l, v); };
          // start = h + ph - kh, a window start when >= 0, divisible and in range.
          Value start = arith::SubIOp::create(nb, l, arith::AddIOp::create(nb, l, pos, c(p[i])), kk[i]);
          Value o = arith::DivSIOp::create(nb, l, start, c(s[i]));
          Value ok = arith::AndIOp::create(
              nb, l,
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, start, c(0)),
              arith::AndIOp::create(
                  nb, l,
                  arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                        arith::RemSIOp::create(nb, l, start, c(s[i])), c(0)),
                  arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, o, c(outSize[i]))));
          valid = valid ? arith::AndIOp::create(nb, l, valid, ok).getResult() : ok;
          window[i] = arith::SelectOp::create(nb, l, ok, o, c(0)); // in bounds either way
        }
        Value share = validShare(nb, l, valid, value(nb, l, at, window[0], window[1], kk[0], kk[1]));
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], share)});
      });
  return op.getResult(0);
}

/// A window sweep's copy of `x` [N, C, H, W], zero-padded: element
/// (n, oh, ow, c, kh, kw) of the iteration space reads padded x at
/// (n, c, oh*sh + kh, ow*sw + kw); `order` places those six dims in the
/// result, read as a matrix: its first three dims are the rows, the last
/// three the columns.
Value windowCopy(Emitter &e, Value x, ArrayRef<int64_t> k, ArrayRef<int64_t> s,
                        ArrayRef<int64_t> p, ArrayRef<int64_t> order) {
  OpBuilder &b = e.b;
  RankedTensorType t = e.typeOf(x);
  Type elem = t.getElementType();
  int64_t oh = windows(t.getDimSize(2), k[0], s[0], p[0]), ow = windows(t.getDimSize(3), k[1], s[1], p[1]);
  Value padded = pad(e, x, p[0], p[1], e.scalar(elem, 0.0));
  int64_t natural[6] = {t.getDimSize(0), oh, ow, t.getDimSize(1), k[0], k[1]};
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> at(6);
  for (int64_t i = 0; i < 6; ++i) {
    shape.push_back(natural[order[i]]);
    at[order[i]] = b.getAffineDimExpr(i);
  }
  auto type = RankedTensorType::get(shape, elem);
  auto read = AffineMap::get(6, 0, {at[0], at[3], at[1] * s[0] + at[4], at[2] * s[1] + at[5]},
                             b.getContext());
  SmallVector<Value> dynamic; // the batch, where order puts it
  for (int64_t i = 0; i < 6; ++i)
    if (order[i] == 0 && type.isDynamicDim(i))
      dynamic.push_back(e.dim(x, 0));
  Value copy = e.generic(type, dynamic, ValueRange{padded}, {read},
                         [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  int64_t rows = product(product(shape[0], shape[1]), shape[2]);
  int64_t columns = product(product(shape[3], shape[4]), shape[5]);
  return e.reshape(copy, RankedTensorType::get({rows, columns}, elem));
}


/// im2col as Caffe's columns [C*KH*KW, N*OH*OW] (the GEMM's wide operand is
/// then contiguous rows, and its result channel-major, so few output
/// channels cost no padding), or with `rows` as [N*OH*OW, C*KH*KW].
struct LowerIm2col : KilnPattern<Im2colOp> {
  using KilnPattern::KilnPattern;
  Value lower(Im2colOp op, Adaptor adaptor, RankedTensorType, Emitter &e) const override {
    SmallVector<int64_t> order = op.getRows() ? SmallVector<int64_t>{0, 1, 2, 3, 4, 5}
                                              : SmallVector<int64_t>{3, 4, 5, 0, 1, 2};
    return windowCopy(e, adaptor.getInput(), op.getKernel(), op.getStride(), op.getPadding(),
                      order);
  }
};

/// col2im without padding, as a scatter: loops (n, c, kh, kw, oh, ow) add
/// column entry (c, kh, kw, n, oh, ow) to pixel (n, c, oh*sh + kh, ow*sw + kw),
/// always in bounds. The innermost loop walks a row of the columns and of the
/// pixels, which LLVM vectorizes; the gather form reads the columns at
/// clamped indices, one scalar load each. Each pixel still adds its windows
/// in (kh, kw) order, and the gather form's extra terms are +0.0 added to a
/// sum that starts at +0.0 (and so is never -0.0): the same bits. The
/// loops past (n, c) are reductions: two windows write one pixel.
Value scatterColumns(Emitter &e, Value perWindow, Value like, ArrayRef<int64_t> s) {
  OpBuilder &b = e.b;
  RankedTensorType t = e.typeOf(like);
  Type elem = t.getElementType();
  Value out = e.filled(t, e.sizesOf(t, like), e.scalar(elem, 0.0));
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  auto columns = AffineMap::get(6, 0, {d(1), d(2), d(3), d(0), d(4), d(5)}, b.getContext());
  auto pixels = AffineMap::get(6, 0, {d(0), d(1), d(4) * s[0] + d(2), d(5) * s[1] + d(3)},
                               b.getContext());
  SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
  iters.append(4, utils::IteratorType::reduction);
  auto op = linalg::GenericOp::create(
      b, e.loc, TypeRange{t}, ValueRange{perWindow}, ValueRange{out}, {columns, pixels}, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], a[0])});
      });
  return op.getResult(0);
}

/// col2im: each pixel sums the column entries of the windows that cover it;
/// a scatter without padding, else a gather (no two iterations write one
/// pixel, and out-of-bounds windows are skipped by index).
struct LowerCol2im : KilnPattern<Col2imOp> {
  using KilnPattern::KilnPattern;
  Value lower(Col2imOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    ArrayRef<int64_t> k = op.getKernel(), s = op.getStride(), p = op.getPadding();
    int64_t oh = windows(type.getDimSize(2), k[0], s[0], p[0]);
    int64_t ow = windows(type.getDimSize(3), k[1], s[1], p[1]);
    auto six = RankedTensorType::get(
        {type.getDimSize(1), k[0], k[1], type.getDimSize(0), oh, ow}, type.getElementType());
    Value perWindow = e.reshape(adaptor.getColumns(), six);
    if (p[0] == 0 && p[1] == 0)
      return scatterColumns(e, perWindow, adaptor.getLike(), s);
    return gatherWindows(e, adaptor.getLike(), k, s, p,
                         [&](OpBuilder &b, Location l, ValueRange lead, Value oh, Value ow,
                             Value kh, Value kw) -> Value {
                           return tensor::ExtractOp::create(
                               b, l, perWindow, ValueRange{lead[1], kh, kw, lead[0], oh, ow});
                         });
  }
};

struct LowerMaxPool : KilnPattern<MaxPool2dOp> {
  using KilnPattern::KilnPattern;
  Value lower(MaxPool2dOp op, Adaptor adaptor, RankedTensorType, Emitter &e) const override {
    return maxPool(e, adaptor.getInput(), op.getKernel(), op.getStride(), op.getPadding()).first;
  }
};

/// Window sums divided by KH*KW: PyTorch's count_include_pad=True.
struct LowerAvgPool : KilnPattern<AvgPool2dOp> {
  using KilnPattern::KilnPattern;
  Value lower(AvgPool2dOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Value sum = windowSum(e, adaptor.getInput(), op.getKernel(), op.getStride(), op.getPadding());
    double count = double(op.getKernel()[0] * op.getKernel()[1]);
    return e.broadcastGeneric(type, ValueRange{sum}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value c = arith::ConstantOp::create(b, l, b.getFloatAttr(type.getElementType(), count));
      return arith::DivFOp::create(b, l, a[0], c);
    });
  }
};

/// Each window's gradient goes to its first largest input: the windows'
/// argmax is recomputed, then gathered as col2im is.
struct LowerMaxPoolGrad : KilnPattern<MaxPool2dGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(MaxPool2dGradOp op, Adaptor adaptor, RankedTensorType, Emitter &e) const override {
    Value grad = adaptor.getGrad(), input = adaptor.getInput();
    Value where = maxPool(e, input, op.getKernel(), op.getStride(), op.getPadding()).second;
    int64_t kw = op.getKernel()[1];
    return gatherWindows(e, input, op.getKernel(), op.getStride(), op.getPadding(),
                         [&](OpBuilder &b, Location l, ValueRange lead, Value oh, Value ow,
                             Value kh, Value kwi) -> Value {
                           SmallVector<Value> at(lead);
                           at.append({oh, ow});
                           Value g = tensor::ExtractOp::create(b, l, grad, at);
                           Value best = tensor::ExtractOp::create(b, l, where, at);
                           Value k = arith::AddIOp::create(
                               b, l, arith::MulIOp::create(b, l, kh, arith::ConstantIndexOp::create(b, l, kw)), kwi);
                           Value k32 = arith::IndexCastOp::create(b, l, b.getI32Type(), k);
                           Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, best, k32);
                           Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(g.getType()));
                           return arith::SelectOp::create(b, l, hit, g, zero);
                         });
  }
};

/// Each window's gradient spread evenly over it.
struct LowerAvgPoolGrad : KilnPattern<AvgPool2dGradOp> {
  using KilnPattern::KilnPattern;
  Value lower(AvgPool2dGradOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    Value grad = adaptor.getGrad();
    double count = double(op.getKernel()[0] * op.getKernel()[1]);
    return gatherWindows(e, adaptor.getInput(), op.getKernel(), op.getStride(), op.getPadding(),
                         [&](OpBuilder &b, Location l, ValueRange lead, Value oh, Value ow, Value,
                             Value) -> Value {
                           SmallVector<Value> at(lead);
                           at.append({oh, ow});
                           Value g = tensor::ExtractOp::create(b, l, grad, at);
                           Value c = arith::ConstantOp::create(b, l, b.getFloatAttr(type.getElementType(), count));
                           return arith::DivFOp::create(b, l, g, c);
                         });
  }
};

} // namespace

void populateConvolutionPoolingPatterns(const TypeConverter &converter,
                                        RewritePatternSet &patterns) {
  patterns.add<LowerIm2col, LowerCol2im, LowerMaxPool, LowerAvgPool, LowerMaxPoolGrad,
               LowerAvgPoolGrad>(converter, patterns.getContext());
}

} // namespace kiln::lowering
