// Embedding and its gradient: gathers and a deterministic scatter-add of
// weight rows by integer indices. An index outside [0, num) is clamped for
// the access, so nothing reads or writes out of bounds, and poisons what it
// touches with NaN, as nll_loss does with class indices.
#include "codegen/KilnToLinalg/Builders.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <tuple>

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

Value nanOf(OpBuilder &b, Location l, Type elem) {
  return arith::ConstantOp::create(b, l, b.getFloatAttr(elem, std::nan("")));
}

/// result[..., j] = weight[indices[...], j]; a row of NaN for a bad index.
struct LowerEmbedding : KilnPattern<EmbeddingOp> {
  using KilnPattern::KilnPattern;
  Value lower(EmbeddingOp op, Adaptor adaptor, RankedTensorType type, Emitter &e) const override {
    bool u = isUnsigned(op.getIndices().getType());
    Value weight = adaptor.getWeight();
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    Value num = e.index(e.typeOf(weight).getDimSize(0));
    SmallVector<AffineExpr> leading;
    for (int64_t d = 0; d + 1 < rank; ++d)
      leading.push_back(e.b.getAffineDimExpr(d));
    auto indicesMap = AffineMap::get(rank, 0, leading, e.b.getContext());
    return e.generic(type, e.sizesOf(type, adaptor.getIndices()), ValueRange{adaptor.getIndices()},
                     {indicesMap}, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       auto [row, valid] = classIndex(b, l, a[0], u, num);
                       Value column = linalg::IndexOp::create(b, l, rank - 1);
                       Value v = tensor::ExtractOp::create(b, l, weight, ValueRange{row, column});
                       return arith::SelectOp::create(b, l, valid, v, nanOf(b, l, elem));
                     });
  }
};

/// Zeros [num, dim], then for each position p in row-major order (an
/// scf.for, one after another: deterministic, no atomics) the gradient row
/// of p added onto row indices[p], NaN where the index is out of range.
/// With `byOwner`, the same sums as one generic over [num, dim] x positions:
/// element (v, j) adds the positions whose (clamped) index is v, in order,
/// with the loop's very operations, so the bits are the loop's; the GPU runs
/// it as one kernel, a thread per element, where the loop would be a launch
/// per position with the indices read on the host. Same bits only while the
/// GPU's lowering runs a generic's reductions in order in one thread
/// (kiln-gpu-map-loops does); a split or tree reduction would change them.
struct LowerEmbeddingGrad : KilnPattern<EmbeddingGradOp> {
  LowerEmbeddingGrad(const TypeConverter &converter, MLIRContext *context, bool byOwner)
      : KilnPattern(converter, context), byOwner(byOwner) {}
  bool byOwner;

  Value lower(EmbeddingGradOp op, Adaptor adaptor, RankedTensorType type,
              Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    bool u = isUnsigned(op.getIndices().getType());
    Type elem = type.getElementType();
    int64_t width = type.getDimSize(1);
    RankedTensorType it = e.typeOf(adaptor.getIndices());
    int64_t positions = it.hasStaticShape() ? it.getNumElements() : ShapedType::kDynamic;
    Value indices = e.reshape(adaptor.getIndices(),
                              RankedTensorType::get({positions}, it.getElementType()));
    Value grad = e.reshape(adaptor.getGrad(), RankedTensorType::get({positions, width}, elem));
    Value init = e.filled(type, {}, e.scalar(elem, 0.0));
    Value num = e.index(type.getDimSize(0));
    if (byOwner) {
      MLIRContext *context = b.getContext();
      AffineExpr v = b.getAffineDimExpr(0), j = b.getAffineDimExpr(1),
                 p = b.getAffineDimExpr(2);
      SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {p}, context),
                                     AffineMap::get(3, 0, {p, j}, context),
                                     AffineMap::get(3, 0, {v, j}, context)};
      SmallVector<utils::IteratorType> iterators = {utils::IteratorType::parallel,
                                                    utils::IteratorType::parallel,
                                                    utils::IteratorType::reduction};
      return linalg::GenericOp::create(
                 b, loc, TypeRange{type}, ValueRange{indices, grad}, ValueRange{init}, maps,
                 iterators,
                 [&](OpBuilder &bb, Location bl, ValueRange args) {
                   auto [row, valid] = classIndex(bb, bl, args[0], u, num);
                   Value mine = arith::CmpIOp::create(bb, bl, arith::CmpIPredicate::eq, row,
                                                      linalg::IndexOp::create(bb, bl, 0));
                   Value g = arith::SelectOp::create(bb, bl, valid, args[1], nanOf(bb, bl, elem));
                   Value sum = arith::AddFOp::create(bb, bl, args[2], g);
                   linalg::YieldOp::create(
                       bb, bl, ValueRange{arith::SelectOp::create(bb, bl, mine, sum, args[2])});
                 })
          .getResult(0);
    }
    auto rowType = RankedTensorType::get({width}, elem);
    auto loop = scf::ForOp::create(
        b, loc, e.index(0), e.dim(indices, 0), e.index(1), ValueRange{init},
        [&](OpBuilder &nb, Location l, Value p, ValueRange carried) {
          Value acc = carried[0];
          Value t = tensor::ExtractOp::create(nb, l, indices, ValueRange{p});
          Value row, valid;
          std::tie(row, valid) = classIndex(nb, l, t, u, num);
          auto slice = [&](Value source, Value at) {
            SmallVector<OpFoldResult> offsets{at, nb.getIndexAttr(0)};
            SmallVector<OpFoldResult> sizes{nb.getIndexAttr(1), nb.getIndexAttr(width)};
            SmallVector<OpFoldResult> strides(2, nb.getIndexAttr(1));
            return tensor::ExtractSliceOp::create(nb, l, rowType, source, offsets, sizes,
                                                  strides);
          };
          Value from = slice(grad, p), onto = slice(acc, row);
          Value nan = nanOf(nb, l, elem);
          auto identity = nb.getMultiDimIdentityMap(1);
          Value sum = linalg::GenericOp::create(
                          nb, l, TypeRange{rowType}, ValueRange{from}, ValueRange{onto},
                          ArrayRef<AffineMap>{identity, identity},
                          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                          [&](OpBuilder &bb, Location bl, ValueRange args) {
                            Value g = arith::SelectOp::create(bb, bl, valid, args[0], nan);
                            linalg::YieldOp::create(
                                bb, bl, ValueRange{arith::AddFOp::create(bb, bl, args[1], g)});
                          })
                          .getResult(0);
          SmallVector<OpFoldResult> offsets{row, nb.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes{nb.getIndexAttr(1), nb.getIndexAttr(width)};
          SmallVector<OpFoldResult> strides(2, nb.getIndexAttr(1));
          Value next = tensor::InsertSliceOp::create(nb, l, sum, acc, offsets, sizes, strides);
          scf::YieldOp::create(nb, l, ValueRange{next});
        });
    return loop.getResult(0);
  }
};

} // namespace

void populateEmbeddingPatterns(bool scatterByOwner, const TypeConverter &converter,
                               RewritePatternSet &patterns) {
  patterns.add<LowerEmbedding>(converter, patterns.getContext());
  patterns.add<LowerEmbeddingGrad>(converter, patterns.getContext(), scatterByOwner);
}

} // namespace kiln::lowering
