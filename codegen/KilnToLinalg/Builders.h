// What the kiln-to-linalg patterns share: an Emitter that builds linalg on
// tensors at one location (broadcast maps, reductions, reshapes, products),
// the scalar bodies several families use, and the base class of every
// pattern. Each family of ops has its own file beside this one.
#pragma once

#include "ir/KilnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln::lowering {

using BodyFn = mlir::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;
using CombineFn =
    mlir::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange, mlir::Value)>;

/// a * b for sizes, dynamic when either is.
inline int64_t product(int64_t a, int64_t b) {
  return mlir::ShapedType::isDynamic(a) || mlir::ShapedType::isDynamic(b) ? mlir::ShapedType::kDynamic
                                                                          : a * b;
}

/// Whether a kiln tensor type holds unsigned integers (u8): lowering makes
/// them signless, so the patterns read signedness off the original op.
bool isUnsigned(mlir::Type tensorType);

/// Builds the linalg pieces for one kiln op at one location.
class Emitter {
public:
  Emitter(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::RankedTensorType typeOf(mlir::Value v) {
    return mlir::cast<mlir::RankedTensorType>(v.getType());
  }
  mlir::Value index(int64_t v);
  /// The size of `tensor`'s dim `d`: a constant where static.
  mlir::Value dim(mlir::Value tensor, int64_t d);
  mlir::Value scalar(mlir::Type type, double v);
  mlir::Value toFloat(mlir::Value indexValue, mlir::Type floatType);

  /// An uninitialized tensor of `type`; `dynamic` gives each dynamic size.
  mlir::Value empty(mlir::RankedTensorType type, mlir::ValueRange dynamic);
  mlir::Value filled(mlir::RankedTensorType type, mlir::ValueRange dynamic, mlir::Value value);

  /// Sizes of the dynamic dims of `type`, dim d read off `source(d)`.
  mlir::SmallVector<mlir::Value>
  dynamicSizes(mlir::RankedTensorType type,
               mlir::function_ref<std::pair<mlir::Value, int64_t>(int64_t)> source);
  /// Dynamic sizes of `type` where every dynamic dim is `like`'s dim 0 (the batch).
  mlir::SmallVector<mlir::Value> batchOf(mlir::RankedTensorType type, mlir::Value like);
  /// Dynamic sizes of `type` read off the same dims of `like`.
  mlir::SmallVector<mlir::Value> sizesOf(mlir::RankedTensorType type, mlir::Value like);

  /// An all-parallel linalg.generic producing `type` from `inputs` read
  /// through `maps`; dynamic result sizes come from `dynamic`.
  mlir::Value generic(mlir::RankedTensorType type, mlir::ValueRange dynamic,
                      mlir::ValueRange inputs, mlir::ArrayRef<mlir::AffineMap> maps, BodyFn body);

  /// Maps a result of `resultShape` onto an operand of `shape` with NumPy
  /// broadcasting: trailing dims align, size-1 operand dims read index 0.
  mlir::AffineMap broadcastMap(mlir::ArrayRef<int64_t> shape, mlir::ArrayRef<int64_t> resultShape);
  /// Element-wise `body` over broadcast `inputs`, giving `type`.
  mlir::Value broadcastGeneric(mlir::RankedTensorType type, mlir::ValueRange inputs, BodyFn body);

  /// The iteration space of reducing `dims` of `input`: the kept sizes
  /// (keepdim=false) and their run-time values, the map onto the result,
  /// and the iterators.
  struct Reduction {
    mlir::SmallVector<int64_t> shape;
    mlir::SmallVector<mlir::Value> dynamic;
    mlir::AffineMap out;
    mlir::SmallVector<mlir::utils::IteratorType> iters;
  };
  Reduction reduction(mlir::Value input, mlir::ArrayRef<int64_t> dims);
  /// Reduces `input` over the sorted `dims` (keepdim=false shape), starting
  /// from `init` and folding each element into the accumulator with
  /// `combine`. `extra` inputs are read with the same indexing as `input`.
  mlir::Value reduce(mlir::Value input, mlir::ArrayRef<int64_t> dims, mlir::Value init,
                     CombineFn combine, mlir::ValueRange extra = {});
  /// Reads the keepdim=false result of reducing `dims` of a tensor of `rank`
  /// at the full iteration space.
  mlir::AffineMap droppedMap(int64_t rank, mlir::ArrayRef<int64_t> dims);

  /// Same elements, shape `to` (row-major); a dynamic dim of `to` takes
  /// whatever the element count leaves.
  mlir::Value reshape(mlir::Value src, mlir::RankedTensorType to);
  /// linalg.transpose: result dim i is `x`'s dim perm[i].
  mlir::Value transpose(mlir::Value x, mlir::ArrayRef<int64_t> perm);
  /// A 2-D linalg.matmul (the runtime's GEMM once on buffers), accumulating
  /// into `init`, or into zeros when `init` is null. `lhsT`/`rhsT`: the
  /// operand is given transposed (its product reads it through indexing_maps,
  /// so no transposed copy is made).
  mlir::Value matmul2d(mlir::Value lhs, mlir::Value rhs, mlir::Value init = {},
                       bool lhsT = false, bool rhsT = false);

  /// A 0-d tensor holding `v`, and back.
  mlir::Value toTensor(mlir::Value v);
  mlir::Value extractScalar(mlir::Value tensor0d);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

//===----------------------------------------------------------------------===//
// Scalar bodies
//===----------------------------------------------------------------------===//

/// Converts `v` from element type `from` to `to` (u8 as unsigned, like torch).
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Type from,
                       mlir::Type to);
mlir::Value maxScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y,
                      bool isUnsignedInt);
mlir::Value addScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);
/// What a sum of `element`s accumulates in: f64 for f32 (rounded once at
/// the end), else the element type itself.
mlir::Type accumulatorType(mlir::Type element);
/// The lowest value of `type`: where a max reduction starts.
mlir::Value lowest(Emitter &e, mlir::Type type, bool isUnsignedInt);
/// Index (i64) of the first largest value along `dim`, keepdim=false.
mlir::Value argmax(Emitter &e, mlir::Value input, int64_t dim, bool isUnsignedInt);
/// The highest value of `type`: where a min reduction starts.
mlir::Value highest(Emitter &e, mlir::Type type, bool isUnsignedInt);
mlir::Value minScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y,
                      bool isUnsignedInt);
/// Index (i64) of the first smallest value along `dim`, keepdim=false.
mlir::Value argmin(Emitter &e, mlir::Value input, int64_t dim, bool isUnsignedInt);
/// The class index `t` as an index clamped into [0, classes), so a bad
/// label never reads out of bounds, and whether it was in range.
std::pair<mlir::Value, mlir::Value> classIndex(mlir::OpBuilder &b, mlir::Location l, mlir::Value t,
                                               bool isUnsignedInt, mlir::Value classes);

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// The base of every pattern: lowers one `Op` with one result to the value
/// `lower` builds, of the converted result type.
template <typename Op>
struct KilnPattern : public mlir::OpConversionPattern<Op> {
  using mlir::OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename mlir::OpConversionPattern<Op>::OpAdaptor;

  virtual mlir::Value lower(Op op, Adaptor adaptor, mlir::RankedTensorType type,
                            Emitter &e) const = 0;

  mlir::LogicalResult matchAndRewrite(Op op, Adaptor adaptor,
                                      mlir::ConversionPatternRewriter &rewriter) const final {
    Emitter e(rewriter, op.getLoc());
    auto type = mlir::cast<mlir::RankedTensorType>(
        this->getTypeConverter()->convertType(op.getType()));
    mlir::Value result = lower(op, adaptor, type, e);
    if (!result)
      return rewriter.notifyMatchFailure(op, "cannot lower this instance");
    rewriter.replaceOp(op, result);
    return mlir::success();
  }
};

/// Every pattern below: what kiln-lower-to-linalg applies.
void populateKilnToLinalgPatterns(bool scatterByOwner, bool windowProducts,
                                  const mlir::TypeConverter &converter,
                                  mlir::RewritePatternSet &patterns);

/// One pattern per op of a family, each in its file by family, as
/// torch-mlir's TorchToLinalg does.
void populateElementwisePatterns(const mlir::TypeConverter &converter,
                                 mlir::RewritePatternSet &patterns);
void populateReductionPatterns(const mlir::TypeConverter &converter,
                               mlir::RewritePatternSet &patterns);
void populateLossPatterns(const mlir::TypeConverter &converter, mlir::RewritePatternSet &patterns);
void populateLinearAlgebraPatterns(bool windowProducts, const mlir::TypeConverter &converter,
                                   mlir::RewritePatternSet &patterns);
void populateConvolutionPoolingPatterns(const mlir::TypeConverter &converter,
                                        mlir::RewritePatternSet &patterns);
void populateDataMovementPatterns(const mlir::TypeConverter &converter,
                                  mlir::RewritePatternSet &patterns);
void populateCollectivePatterns(const mlir::TypeConverter &converter,
                                mlir::RewritePatternSet &patterns);
void populateEmbeddingPatterns(bool scatterByOwner, const mlir::TypeConverter &converter,
                               mlir::RewritePatternSet &patterns);

} // namespace kiln::lowering
