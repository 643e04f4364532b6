// Type inference, verifiers and folders of the kiln dialect's operations.
//
// The shape arithmetic lives in common/Shapes.h, shared with semantic
// analysis; this file converts between MLIR types and those plain shapes.
#include "ir/KilnDialect.h"

#include "common/Shapes.h"

#include <cmath>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln::ir;
namespace shapes = kiln::shapes;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static shapes::Shape toShape(Type type) {
  shapes::Shape shape;
  for (int64_t size : cast<RankedTensorType>(type).getShape())
    shape.push_back(ShapedType::isDynamic(size) ? shapes::kDynamic : size);
  return shape;
}

static RankedTensorType tensorOf(const shapes::Shape &shape, Type element) {
  SmallVector<int64_t> sizes;
  for (int64_t size : shape)
    sizes.push_back(size == shapes::kDynamic ? ShapedType::kDynamic : size);
  return RankedTensorType::get(sizes, element);
}

static Type elementOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getElementType();
}

/// Fails with `err` (from a shape rule) at `loc`, or infers `shape`.
static LogicalResult inferred(std::optional<Location> loc,
                              const std::optional<shapes::Shape> &shape,
                              const std::string &err, Type element,
                              SmallVectorImpl<Type> &results) {
  if (!shape)
    return emitOptionalError(loc, err);
  results.push_back(tensorOf(*shape, element));
  return success();
}

static LogicalResult sameElementType(std::optional<Location> loc, Value a,
                                     Value b) {
  if (elementOf(a) == elementOf(b))
    return success();
  return emitOptionalError(loc, "element types differ: ", elementOf(a), " and ",
                           elementOf(b));
}

static LogicalResult checkDim(std::optional<Location> loc, int64_t dim,
                              int64_t rank) {
  if (dim >= 0 && dim < rank)
    return success();
  return emitOptionalError(loc, "dim ", dim, " is out of range for rank ", rank);
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult FillOp::verify() {
  int64_t dynamic = getType().getNumDynamicDims();
  if (static_cast<int64_t>(getDynamicSizes().size()) != dynamic)
    return emitOpError("needs one size operand per dynamic dimension: expected ")
           << dynamic << ", got " << getDynamicSizes().size();
  return success();
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

static LogicalResult inferBroadcast(std::optional<Location> loc, Value lhs,
                                    Value rhs, SmallVectorImpl<Type> &results) {
  if (failed(sameElementType(loc, lhs, rhs)))
    return failure();
  std::string err;
  auto shape = shapes::broadcast(toShape(lhs.getType()), toShape(rhs.getType()), err);
  return inferred(loc, shape, err, elementOf(lhs), results);
}

template <typename Adaptor>
static LogicalResult inferBroadcast(std::optional<Location> loc, Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  return inferBroadcast(loc, adaptor.getLhs(), adaptor.getRhs(), results);
}

template <typename Adaptor>
static LogicalResult inferQuotient(std::optional<Location> loc, Adaptor adaptor,
                                   SmallVectorImpl<Type> &results) {
  if (!isa<FloatType>(elementOf(adaptor.getLhs())))
    return emitOptionalError(loc, "division needs floats, got ",
                             elementOf(adaptor.getLhs()));
  return inferBroadcast(loc, adaptor, results);
}

/// Whether `v` is a splat one: a `kiln.constant` or `kiln.fill` whose every
/// element is 1 (1.0 for floats).
static bool isSplatOne(Value v) {
  if (auto fill = v.getDefiningOp<FillOp>())
    return fill.getValue().isExactlyValue(1.0);
  DenseElementsAttr value;
  if (!matchPattern(v, m_Constant(&value)) || !value.isSplat())
    return false;
  if (isa<FloatType>(value.getElementType()))
    return value.getSplatValue<APFloat>().isExactlyValue(1.0);
  return value.getSplatValue<APInt>().isOne();
}

/// Replaces `op` by `value`, equal to it in type and in every element. A
/// name the op carried (`%logits.grad`) moves to the value's defining op
/// unless that op has a name of its own, so the IR keeps reading as before.
static void replaceKeepingName(PatternRewriter &rewriter, Operation *op, Value value) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  Operation *def = value.getDefiningOp();
  if (name && def && def->getNumResults() == 1 && !isa<NameLoc>(def->getLoc()))
    rewriter.modifyOpInPlace(def, [&] {
      def->setLoc(NameLoc::get(name.getName(), def->getLoc()));
    });
  rewriter.replaceOp(op, value);
}

/// x * 1 and 1 * x are x when the product broadcasts nothing (its type is
/// x's): exact in IEEE arithmetic (-0.0 and NaN included) and for integers.
LogicalResult MulOp::canonicalize(MulOp op, PatternRewriter &rewriter) {
  for (auto [x, one] : {std::pair{op.getLhs(), op.getRhs()}, std::pair{op.getRhs(), op.getLhs()}}) {
    if (x.getType() == op.getType() && isSplatOne(one)) {
      replaceKeepingName(rewriter, op, x);
      return success();
    }
  }
  return failure();
}

/// x / 1 is x when the quotient broadcasts nothing: exact in IEEE arithmetic.
LogicalResult DivOp::canonicalize(DivOp op, PatternRewriter &rewriter) {
  if (op.getLhs().getType() != op.getType() || !isSplatOne(op.getRhs()))
    return failure();
  replaceKeepingName(rewriter, op, op.getLhs());
  return success();
}

OpFoldResult NegOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

/// Whether converting every value of element type `from` to `to` is exact:
/// `to` holds each of them, and converting back gives it again.
static bool isExactConversion(Type from, Type to) {
  if (from == to || from.isUnsignedInteger(8)) // u8: 0..255 fits everywhere
    return true;
  if (from.isF32())
    return to.isF64();
  if (from.isSignlessInteger(32))
    return to.isSignlessInteger(64) || to.isF64();
  return false;
}

/// cast(cast(x: A -> B) -> C). Folding it needs A -> B exact, so that B -> C
/// sees each value of x unchanged, and C one where A -> C gives what B -> C
/// gives for that value: A itself (the round trip is the identity), a float
/// type (both round the one value to nearest once), or with A, B and C all
/// integers (both keep the value's low bits). Float to integer is left
/// alone: out of range, the two casts would be undefined differently.
OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto inner = getInput().getDefiningOp<CastOp>();
  if (!inner)
    return {};
  Type a = inner.getInput().getType().getElementType();
  Type b = inner.getType().getElementType(), c = getType().getElementType();
  if (!isExactConversion(a, b))
    return {};
  if (a == c)
    return inner.getInput();
  bool allIntegers = isa<IntegerType>(a) && isa<IntegerType>(b) && isa<IntegerType>(c);
  if (!isa<FloatType>(c) && !allIntegers)
    return {};
  getInputMutable().assign(inner.getInput());
  return getResult();
}

LogicalResult AllReduceMeanOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &results) {
  for (Value v : adaptor.getValues())
    results.push_back(v.getType());
  return success();
}

LogicalResult DropoutOp::verify() {
  double p = getP().convertToDouble();
  if (!(p >= 0.0 && p < 1.0))
    return emitOpError("probability must be in [0, 1), got ") << p;
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  if (failed(sameElementType(loc, adaptor.getLhs(), adaptor.getRhs())))
    return failure();
  std::string err;
  auto shape = shapes::matmul(toShape(adaptor.getLhs().getType()),
                              toShape(adaptor.getRhs().getType()), err);
  return inferred(loc, shape, err, elementOf(adaptor.getLhs()), results);
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  if (failed(sameElementType(loc, adaptor.getInput(), adaptor.getWeight())))
    return failure();
  shapes::Shape bias;
  if (adaptor.getBias()) {
    if (failed(sameElementType(loc, adaptor.getInput(), adaptor.getBias())))
      return failure();
    bias = toShape(adaptor.getBias().getType());
  }
  std::string err;
  auto shape = shapes::linear(toShape(adaptor.getInput().getType()),
                              toShape(adaptor.getWeight().getType()),
                              adaptor.getBias() ? &bias : nullptr, err);
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(std::optional<Location> loc, Value input,
                                 ArrayRef<int64_t> dims, bool keepdim,
                                 Type element, SmallVectorImpl<Type> &results) {
  shapes::Shape shape = toShape(input.getType());
  int64_t rank = shape.size();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (failed(checkDim(loc, dims[i], rank)))
      return failure();
    if (i > 0 && dims[i] <= dims[i - 1])
      return emitOptionalError(loc, "dims must be sorted and unique");
  }
  results.push_back(tensorOf(shapes::reduce(shape, dims.vec(), keepdim), element));
  return success();
}

template <typename Adaptor>
static LogicalResult inferSum(std::optional<Location> loc, Adaptor adaptor,
                              SmallVectorImpl<Type> &results) {
  return inferReduce(loc, adaptor.getInput(), adaptor.getDims(), adaptor.getKeepdim(),
                     elementOf(adaptor.getInput()), results);
}

template <typename Adaptor>
static LogicalResult inferMean(std::optional<Location> loc, Adaptor adaptor,
                               SmallVectorImpl<Type> &results) {
  if (!isa<FloatType>(elementOf(adaptor.getInput())))
    return emitOptionalError(loc, "mean needs floats, got ", elementOf(adaptor.getInput()));
  return inferSum(loc, adaptor, results);
}

/// max along `dim`: the input's element type; argmax: i64.
template <typename Adaptor>
static LogicalResult inferReduceDim(std::optional<Location> loc, Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  int64_t dim = adaptor.getDim();
  return inferReduce(loc, adaptor.getInput(), {dim}, adaptor.getKeepdim(),
                     elementOf(adaptor.getInput()), results);
}

template <typename Adaptor>
static LogicalResult inferArgMax(std::optional<Location> loc, Adaptor adaptor,
                                 SmallVectorImpl<Type> &results) {
  int64_t dim = adaptor.getDim();
  return inferReduce(loc, adaptor.getInput(), {dim}, adaptor.getKeepdim(),
                     IntegerType::get(adaptor.getInput().getContext(), 64), results);
}

template <typename Op>
static LogicalResult verifySoftmaxLike(Op op) {
  return checkDim(op.getLoc(), op.getDim(), op.getType().getRank());
}
LogicalResult SoftmaxOp::verify() { return verifySoftmaxLike(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifySoftmaxLike(*this); }

//===----------------------------------------------------------------------===//
// Shape changes
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  RankedTensorType from = getInput().getType(), to = getType();
  if (from.getElementType() != to.getElementType())
    return emitOpError("changes the element type: ") << from << " to " << to;
  bool fromDynamic = !from.hasStaticShape(), toDynamic = !to.hasStaticShape();
  if (fromDynamic != toDynamic)
    return emitOpError("must keep the batch dimension dynamic: ")
           << from << " to " << to;
  if (!fromDynamic && from.getNumElements() != to.getNumElements())
    return emitOpError("changes the element count: ") << from << " to " << to;
  return success();
}

/// A reshape to the same type is the input; a reshape of a reshape reads
/// the same row-major elements, so it reshapes the first input directly.
OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    if (inner.getInput().getType() == getType())
      return inner.getInput();
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  shapes::Shape shape = toShape(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (perm.size() != shape.size())
    return emitOptionalError(loc, "permutation has ", perm.size(),
                             " entries for rank ", shape.size());
  SmallVector<bool> seen(shape.size(), false);
  shapes::Shape result;
  for (int64_t d : perm) {
    if (failed(checkDim(loc, d, shape.size())))
      return failure();
    if (seen[d])
      return emitOptionalError(loc, "permutation repeats dim ", d);
    seen[d] = true;
    result.push_back(shape[d]);
  }
  results.push_back(tensorOf(result, elementOf(adaptor.getInput())));
  return success();
}

/// The identity permutation is the input. A transpose of a transpose is one
/// transpose of the first input: result dim i is inner dim outer[i], which is
/// input dim inner[outer[i]]; when that composition is the identity, the
/// two cancel.
OpFoldResult TransposeOp::fold(FoldAdaptor) {
  auto isIdentity = [](ArrayRef<int64_t> perm) {
    for (auto [i, d] : llvm::enumerate(perm))
      if (static_cast<int64_t>(i) != d)
        return false;
    return true;
  };
  if (isIdentity(getPermutation()))
    return getInput();
  auto inner = getInput().getDefiningOp<TransposeOp>();
  if (!inner)
    return {};
  SmallVector<int64_t> composed;
  for (int64_t d : getPermutation())
    composed.push_back(inner.getPermutation()[d]);
  if (isIdentity(composed))
    return inner.getInput();
  getInputMutable().assign(inner.getInput());
  setPermutation(composed);
  return getResult();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "needs at least one input");
  std::vector<shapes::Shape> pieces;
  for (Value input : inputs) {
    if (failed(sameElementType(loc, inputs.front(), input)))
      return failure();
    pieces.push_back(toShape(input.getType()));
  }
  std::string err;
  auto shape = shapes::concat(pieces, adaptor.getDim(), err);
  return inferred(loc, shape, err, elementOf(inputs.front()), results);
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, recurrence
//===----------------------------------------------------------------------===//

static LogicalResult checkPair(std::optional<Location> loc, StringRef what,
                               ArrayRef<int64_t> pair, int64_t least) {
  if (pair.size() == 2 && pair[0] >= least && pair[1] >= least)
    return success();
  return emitOptionalError(loc, what, " must be two integers >= ", least);
}

static LogicalResult inferConv2d(std::optional<Location> loc, Value input, Value weight,
                                 Value bias, ArrayRef<int64_t> stride,
                                 ArrayRef<int64_t> padding, SmallVectorImpl<Type> &results) {
  if (failed(checkPair(loc, "stride", stride, 1)) ||
      failed(checkPair(loc, "padding", padding, 0)) ||
      failed(sameElementType(loc, input, weight)))
    return failure();
  shapes::Shape biasShape;
  if (bias)
    biasShape = toShape(bias.getType());
  std::string err;
  auto shape = shapes::conv2d(toShape(input.getType()), toShape(weight.getType()),
                              bias ? &biasShape : nullptr, stride[0], stride[1], padding[0],
                              padding[1], err);
  return inferred(loc, shape, err, elementOf(input), results);
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  return inferConv2d(loc, adaptor.getInput(), adaptor.getWeight(), adaptor.getBias(),
                     adaptor.getStride(), adaptor.getPadding(), results);
}

template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, Adaptor adaptor,
                               SmallVectorImpl<Type> &results) {
  if (failed(checkPair(loc, "kernel", adaptor.getKernel(), 1)) ||
      failed(checkPair(loc, "stride", adaptor.getStride(), 1)) ||
      failed(checkPair(loc, "padding", adaptor.getPadding(), 0)))
    return failure();
  std::string err;
  auto shape = shapes::pool2d(toShape(adaptor.getInput().getType()),
                              adaptor.getKernel()[0], adaptor.getKernel()[1],
                              adaptor.getStride()[0], adaptor.getStride()[1],
                              adaptor.getPadding()[0], adaptor.getPadding()[1], err);
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

/// Batch norm's operands: x [N, C, ...], four [C] vectors of its element
/// type (the i64 counter is typed by ODS).
template <typename Adaptor>
static LogicalResult inferBatchNorm(std::optional<Location> loc, Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  std::string err;
  std::optional<shapes::Shape> shape;
  for (Value v : {adaptor.getWeight(), adaptor.getBias(), adaptor.getRunningMean(),
                  adaptor.getRunningVar()}) {
    if (failed(sameElementType(loc, adaptor.getInput(), v)))
      return failure();
    shape = shapes::batchNorm(toShape(adaptor.getInput().getType()), toShape(v.getType()), err);
    if (!shape)
      return emitOptionalError(loc, err);
  }
  if (!(adaptor.getEps().convertToDouble() > 0) ||
      !(adaptor.getMomentum().convertToDouble() >= 0 &&
        adaptor.getMomentum().convertToDouble() <= 1))
    return emitOptionalError(loc, "batch norm needs eps > 0 and momentum in [0, 1]");
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &results) {
  return inferBatchNorm(loc, adaptor, results);
}

LogicalResult BatchNormTrainOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor,
                                                 SmallVectorImpl<Type> &results) {
  if (failed(inferBatchNorm(loc, adaptor, results)))
    return failure();
  results.push_back(adaptor.getRunningMean().getType());
  results.push_back(adaptor.getRunningVar().getType());
  results.push_back(adaptor.getNumBatchesTracked().getType());
  return success();
}

LogicalResult RNNOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  for (Value operand : {adaptor.getWeightIh(), adaptor.getWeightHh(),
                        adaptor.getBiasIh(), adaptor.getBiasHh()})
    if (failed(sameElementType(loc, adaptor.getInput(), operand)))
      return failure();
  std::string err;
  auto shape = shapes::rnn(toShape(adaptor.getInput().getType()),
                           toShape(adaptor.getWeightIh().getType()),
                           toShape(adaptor.getWeightHh().getType()),
                           toShape(adaptor.getBiasIh().getType()),
                           toShape(adaptor.getBiasHh().getType()), err);
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

//===----------------------------------------------------------------------===//
// Losses and metrics
//===----------------------------------------------------------------------===//

/// mse and bce_with_logits: input and target of one shape and element type.
static LogicalResult inferElementwiseLoss(std::optional<Location> loc,
                                          Value input, Value target,
                                          SmallVectorImpl<Type> &results) {
  if (failed(sameElementType(loc, input, target)))
    return failure();
  if (input.getType() != target.getType())
    return emitOptionalError(loc, "input and target shapes differ: ",
                             input.getType(), " and ", target.getType());
  results.push_back(RankedTensorType::get({}, elementOf(input)));
  return success();
}

template <typename Adaptor>
static LogicalResult inferSameShapeLoss(std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  return inferElementwiseLoss(loc, adaptor.getInput(), adaptor.getTarget(), results);
}

/// cross_entropy, nll_loss and accuracy: input [N, C] and class indices [N].
static LogicalResult inferClassLoss(std::optional<Location> loc, Value input,
                                    Value target, SmallVectorImpl<Type> &results) {
  auto in = cast<RankedTensorType>(input.getType());
  auto tg = cast<RankedTensorType>(target.getType());
  if (in.getRank() != 2 || tg.getRank() != 1)
    return emitOptionalError(loc, "expects input [N, C] and class indices [N], got ",
                             in, " and ", tg);
  int64_t a = in.getDimSize(0), b = tg.getDimSize(0);
  if (a != b)
    return emitOptionalError(loc, "input has ", in, " but target has ", tg,
                             ": sample counts differ");
  results.push_back(RankedTensorType::get({}, in.getElementType()));
  return success();
}

template <typename Adaptor>
static LogicalResult inferClassLoss(std::optional<Location> loc, Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  return inferClassLoss(loc, adaptor.getInput(), adaptor.getTarget(), results);
}

//===----------------------------------------------------------------------===//
// Gradient helpers
//===----------------------------------------------------------------------===//

LogicalResult BroadcastLikeOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &results) {
  shapes::Shape like = toShape(adaptor.getLike().getType());
  std::string err;
  auto shape = shapes::broadcast(toShape(adaptor.getInput().getType()), like, err);
  if (shape && *shape != like)
    return emitOptionalError(loc, "cannot broadcast ", adaptor.getInput().getType(),
                             " to the shape of ", adaptor.getLike().getType());
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

LogicalResult MaxGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  if (failed(checkDim(loc, adaptor.getDim(), toShape(adaptor.getInput().getType()).size())))
    return failure();
  results.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(MLIRContext *,
                                                   std::optional<Location> loc,
                                                   Adaptor adaptor,
                                                   SmallVectorImpl<Type> &results) {
  SmallVector<Type> scalar;
  if (failed(inferClassLoss(loc, adaptor.getInput(), adaptor.getTarget(), scalar)))
    return failure();
  results.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult OneHotOp::verify() {
  RankedTensorType target = getTarget().getType(), result = getType();
  if (target.getRank() != 1 || result.getRank() != 2 ||
      target.getDimSize(0) != result.getDimSize(0) || result.isDynamicDim(1))
    return emitOpError("expects class indices [N] and a result [N, C], got ")
           << target << " and " << result;
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  shapes::Shape shape = toShape(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim(), start = adaptor.getStart(), size = adaptor.getSize();
  if (failed(checkDim(loc, dim, shape.size())))
    return failure();
  if (shape[dim] == shapes::kDynamic)
    return emitOptionalError(loc, "cannot slice the batch dimension");
  if (start < 0 || size < 0 || start + size > shape[dim])
    return emitOptionalError(loc, "slice [", start, ", ", start + size,
                             ") is out of range for size ", shape[dim]);
  shape[dim] = size;
  results.push_back(tensorOf(shape, elementOf(adaptor.getInput())));
  return success();
}

/// A conv2d gradient's `grad` must have the type the forward conv2d of
/// `input` and `weight` gives; the result has `resultOf`'s type.
template <typename Adaptor>
static LogicalResult inferConv2dGrad(std::optional<Location> loc, Adaptor adaptor,
                                     Value resultOf, SmallVectorImpl<Type> &results) {
  SmallVector<Type> forward;
  if (failed(inferConv2d(loc, adaptor.getInput(), adaptor.getWeight(), Value(),
                         adaptor.getStride(), adaptor.getPadding(), forward)))
    return failure();
  if (forward[0] != adaptor.getGrad().getType())
    return emitOptionalError(loc, "grad ", adaptor.getGrad().getType(),
                             " is not the conv2d result type ", forward[0]);
  results.push_back(resultOf.getType());
  return success();
}

LogicalResult Conv2dInputGradOp::inferReturnTypes(MLIRContext *,
                                                  std::optional<Location> loc,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &results) {
  return inferConv2dGrad(loc, adaptor, adaptor.getInput(), results);
}

LogicalResult Conv2dWeightGradOp::inferReturnTypes(MLIRContext *,
                                                   std::optional<Location> loc,
                                                   Adaptor adaptor,
                                                   SmallVectorImpl<Type> &results) {
  return inferConv2dGrad(loc, adaptor, adaptor.getWeight(), results);
}

/// im2col's result: [C*KH*KW, N*OH*OW], or its transpose with `rows`.
static LogicalResult inferIm2col(std::optional<Location> loc, Value input,
                                 ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                                 ArrayRef<int64_t> padding, bool rows,
                                 SmallVectorImpl<Type> &results) {
  if (failed(checkPair(loc, "kernel", kernel, 1)) ||
      failed(checkPair(loc, "stride", stride, 1)) ||
      failed(checkPair(loc, "padding", padding, 0)))
    return failure();
  shapes::Shape x = toShape(input.getType());
  if (x.size() != 4)
    return emitOptionalError(loc, "expects an input [N, C, H, W], got ", input.getType());
  // The windows of a convolution with one output channel and this kernel.
  shapes::Shape weight = {1, x[1], kernel[0], kernel[1]};
  std::string err;
  auto out = shapes::conv2d(x, weight, nullptr, stride[0], stride[1], padding[0], padding[1], err);
  if (!out)
    return emitOptionalError(loc, err);
  int64_t windows = (*out)[0] == shapes::kDynamic ? shapes::kDynamic
                                                   : (*out)[0] * (*out)[2] * (*out)[3];
  int64_t patch = x[1] * kernel[0] * kernel[1];
  shapes::Shape shape = rows ? shapes::Shape{windows, patch} : shapes::Shape{patch, windows};
  results.push_back(tensorOf(shape, elementOf(input)));
  return success();
}

LogicalResult Im2colOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  return inferIm2col(loc, adaptor.getInput(), adaptor.getKernel(), adaptor.getStride(),
                     adaptor.getPadding(), adaptor.getRows(), results);
}

LogicalResult Col2imOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  SmallVector<Type> columns;
  if (failed(inferIm2col(loc, adaptor.getLike(), adaptor.getKernel(), adaptor.getStride(),
                         adaptor.getPadding(), false, columns)))
    return failure();
  if (columns[0] != adaptor.getColumns().getType())
    return emitOptionalError(loc, "columns ", adaptor.getColumns().getType(),
                             " are not im2col's columns ", columns[0], " of ",
                             adaptor.getLike().getType());
  results.push_back(adaptor.getLike().getType());
  return success();
}

template <typename Adaptor>
static LogicalResult inferPoolGrad(std::optional<Location> loc, Adaptor adaptor,
                                   SmallVectorImpl<Type> &results) {
  SmallVector<Type> forward;
  if (failed(inferPool(loc, adaptor, forward)))
    return failure();
  if (forward[0] != adaptor.getGrad().getType())
    return emitOptionalError(loc, "grad ", adaptor.getGrad().getType(),
                             " is not the pool's result type ", forward[0]);
  results.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult RNNStepGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  auto states = cast<RankedTensorType>(adaptor.getStates().getType());
  auto w = cast<RankedTensorType>(adaptor.getWeightHh().getType());
  if (adaptor.getGrad().getType() != states)
    return emitOptionalError(loc, "grad ", adaptor.getGrad().getType(),
                             " and states ", states, " differ");
  if (states.getRank() != 3 || w.getRank() != 2 || w.getDimSize(0) != states.getDimSize(2) ||
      w.getDimSize(1) != states.getDimSize(2) || w.getElementType() != states.getElementType())
    return emitOptionalError(loc, "expects states [N, T, H] and weight_hh [H, H], got ",
                             states, " and ", w);
  results.push_back(states);
  return success();
}

//===----------------------------------------------------------------------===//
// Recurrent and normalization layers, embedding, and their gradient helpers
//===----------------------------------------------------------------------===//

/// lstm (4 gates) and gru (3): the rnn's operands with G*H gate rows.
template <typename Adaptor>
static LogicalResult inferGated(std::optional<Location> loc, Adaptor adaptor, const char *name,
                                int64_t gates, SmallVectorImpl<Type> &results) {
  for (Value operand : {adaptor.getWeightIh(), adaptor.getWeightHh(), adaptor.getBiasIh(),
                        adaptor.getBiasHh()})
    if (failed(sameElementType(loc, adaptor.getInput(), operand)))
      return failure();
  std::string err;
  auto shape = shapes::recurrent(name, gates, toShape(adaptor.getInput().getType()),
                                 toShape(adaptor.getWeightIh().getType()),
                                 toShape(adaptor.getWeightHh().getType()),
                                 toShape(adaptor.getBiasIh().getType()),
                                 toShape(adaptor.getBiasHh().getType()), err);
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

template <typename Adaptor>
static LogicalResult inferLSTM(std::optional<Location> loc, Adaptor adaptor,
                               SmallVectorImpl<Type> &results) {
  return inferGated(loc, adaptor, "lstm", 4, results);
}

template <typename Adaptor>
static LogicalResult inferGRU(std::optional<Location> loc, Adaptor adaptor,
                              SmallVectorImpl<Type> &results) {
  return inferGated(loc, adaptor, "gru", 3, results);
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &results) {
  if (failed(sameElementType(loc, adaptor.getInput(), adaptor.getWeight())) ||
      failed(sameElementType(loc, adaptor.getInput(), adaptor.getBias())))
    return failure();
  if (!(adaptor.getEps().convertToDouble() > 0))
    return emitOptionalError(loc, "eps must be positive");
  std::string err;
  auto shape = shapes::layerNorm(toShape(adaptor.getInput().getType()),
                                 toShape(adaptor.getWeight().getType()),
                                 toShape(adaptor.getBias().getType()), err);
  return inferred(loc, shape, err, elementOf(adaptor.getInput()), results);
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &results) {
  std::string err;
  auto shape = shapes::embedding(toShape(adaptor.getIndices().getType()),
                                 toShape(adaptor.getWeight().getType()), err);
  return inferred(loc, shape, err, elementOf(adaptor.getWeight()), results);
}

/// A step gradient's operands of shape [N, T, k*H] (k per operand, one
/// element type) and weight_hh [G*H, H]: the result is [N, T, resultGates*H].
static LogicalResult inferStepGrad(std::optional<Location> loc, ValueRange sequences,
                                   ArrayRef<int64_t> gates, Value weightHh, int64_t weightGates,
                                   int64_t resultGates, SmallVectorImpl<Type> &results) {
  auto w = cast<RankedTensorType>(weightHh.getType());
  auto first = cast<RankedTensorType>(sequences.front().getType());
  int64_t hidden = w.getRank() == 2 ? w.getDimSize(1) : 0;
  bool ok = w.getRank() == 2 && w.getDimSize(0) == weightGates * hidden && hidden > 0 &&
            first.getRank() == 3;
  for (auto [v, k] : llvm::zip(sequences, gates)) {
    auto t = cast<RankedTensorType>(v.getType());
    ok = ok && t.getRank() == 3 && t.getDimSize(0) == first.getDimSize(0) &&
         t.getDimSize(1) == first.getDimSize(1) && t.getDimSize(2) == k * hidden &&
         t.getElementType() == w.getElementType();
  }
  if (!ok) {
    std::string shapesText;
    for (auto [v, k] : llvm::zip(sequences, gates))
      shapesText += (shapesText.empty() ? "[N, T, " : ", [N, T, ") +
                    (k == 1 ? std::string("H") : std::to_string(k) + "H") + "]";
    return emitOptionalError(loc, "expects ", shapesText, " and weight_hh [",
                             weightGates, "H, H] of one element type");
  }
  results.push_back(RankedTensorType::get(
      {first.getDimSize(0), first.getDimSize(1), resultGates * hidden}, w.getElementType()));
  return success();
}

LogicalResult LSTMStepGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                               Adaptor adaptor, SmallVectorImpl<Type> &results) {
  return inferStepGrad(loc, ValueRange{adaptor.getGates(), adaptor.getGrad()}, {4, 1},
                       adaptor.getWeightHh(), 4, 4, results);
}

LogicalResult GRUStepGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &results) {
  return inferStepGrad(loc,
                       ValueRange{adaptor.getInputGates(), adaptor.getHiddenGates(),
                                  adaptor.getPrevious(), adaptor.getGrad()},
                       {3, 3, 1, 1}, adaptor.getWeightHh(), 3, 4, results);
}

LogicalResult EmbeddingGradOp::verify() {
  RankedTensorType grad = getGrad().getType(), indices = getIndices().getType(),
                   result = getType();
  SmallVector<int64_t> expected(indices.getShape());
  if (result.getRank() == 2)
    expected.push_back(result.getDimSize(1));
  if (result.getRank() != 2 || !result.hasStaticShape() ||
      grad.getShape() != ArrayRef<int64_t>(expected) ||
      grad.getElementType() != result.getElementType())
    return emitOpError("expects grad [..., dim] over indices [...] and a result [num, dim] of "
                       "grad's element type, got ")
           << grad << ", " << indices << " and " << result;
  return success();
}

//===----------------------------------------------------------------------===//
// More expressions: pow, clamp, min, indexing and their gradient helpers
//===----------------------------------------------------------------------===//

static bool isIntegral(double v) { return std::isfinite(v) && v == std::trunc(v); }

LogicalResult PowOp::verify() {
  double p = getExponent().convertToDouble();
  if (!isa<IntegerType>(getType().getElementType()))
    return success();
  if (!isIntegral(p) || p < 0 || p >= 0x1p63)
    return emitOpError("an integer tensor needs a non-negative integer exponent, got ") << p;
  return success();
}

LogicalResult ClampOp::verify() {
  if (!getMin() && !getMax())
    return emitOpError("needs a min, a max or both");
  if (isa<IntegerType>(getType().getElementType()))
    for (std::optional<APFloat> bound : {getMin(), getMax()})
      if (bound && !isIntegral(bound->convertToDouble()))
        return emitOpError("an integer tensor needs integer bounds, got ")
               << bound->convertToDouble();
  return success();
}

LogicalResult MinGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  if (failed(checkDim(loc, adaptor.getDim(), toShape(adaptor.getInput().getType()).size())))
    return failure();
  results.push_back(adaptor.getInput().getType());
  return success();
}

/// The type kiln.index with this window gives for `input`.
static LogicalResult inferIndex(std::optional<Location> loc, Value input,
                                ArrayRef<int64_t> starts, ArrayRef<int64_t> sizes,
                                ArrayRef<int64_t> steps, ArrayRef<int64_t> dropped,
                                SmallVectorImpl<Type> &results) {
  std::string err;
  auto shape = shapes::index(toShape(input.getType()), starts.vec(), sizes.vec(), steps.vec(),
                             dropped.vec(), err);
  return inferred(loc, shape, err, elementOf(input), results);
}

LogicalResult IndexOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &results) {
  return inferIndex(loc, adaptor.getInput(), adaptor.getStarts(), adaptor.getSizes(),
                    adaptor.getSteps(), adaptor.getDropped(), results);
}

LogicalResult IndexGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  SmallVector<Type> window;
  if (failed(inferIndex(loc, adaptor.getLike(), adaptor.getStarts(), adaptor.getSizes(),
                        adaptor.getSteps(), adaptor.getDropped(), window)))
    return failure();
  if (window[0] != adaptor.getGrad().getType())
    return emitOptionalError(loc, "grad ", adaptor.getGrad().getType(),
                             " is not the index's result type ", window[0]);
  results.push_back(adaptor.getLike().getType());
  return success();
}

/// `[:, 2:5, 3, 0:8:2]`: one entry per dimension. `:` is the whole dimension
/// (size -1), `i` an integer index (a dropped dimension), `a:b[:s]` a slice
/// with an exclusive stop.
static ParseResult parseIndexWindow(OpAsmParser &parser, DenseI64ArrayAttr &starts,
                                    DenseI64ArrayAttr &sizes, DenseI64ArrayAttr &steps,
                                    DenseI64ArrayAttr &dropped) {
  SmallVector<int64_t> start, size, step, drop;
  auto entry = [&]() -> ParseResult {
    SMLoc at = parser.getCurrentLocation();
    if (succeeded(parser.parseOptionalColon())) {
      start.push_back(0);
      size.push_back(shapes::kWhole);
      step.push_back(1);
      return success();
    }
    int64_t a = 0, b = 0, s = 1;
    if (parser.parseInteger(a))
      return failure();
    if (failed(parser.parseOptionalColon())) {
      drop.push_back(start.size());
      start.push_back(a);
      size.push_back(1);
      step.push_back(1);
      return success();
    }
    if (parser.parseInteger(b))
      return failure();
    if (succeeded(parser.parseOptionalColon()) && parser.parseInteger(s))
      return failure();
    if (s < 1 || b <= a)
      return parser.emitError(at, "a slice a:b:s needs a < b and s >= 1");
    start.push_back(a);
    size.push_back(static_cast<int64_t>((static_cast<__int128>(b) - a - 1) / s + 1));
    step.push_back(s);
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, entry))
    return failure();
  Builder &b = parser.getBuilder();
  starts = b.getDenseI64ArrayAttr(start);
  sizes = b.getDenseI64ArrayAttr(size);
  steps = b.getDenseI64ArrayAttr(step);
  dropped = b.getDenseI64ArrayAttr(drop);
  return success();
}

static void printIndexWindow(OpAsmPrinter &p, Operation *, DenseI64ArrayAttr starts,
                             DenseI64ArrayAttr sizes, DenseI64ArrayAttr steps,
                             DenseI64ArrayAttr dropped) {
  p << "[";
  for (int64_t d = 0; d < starts.size(); ++d) {
    if (d)
      p << ", ";
    int64_t a = starts[d], n = sizes[d], s = steps[d];
    if (llvm::is_contained(dropped.asArrayRef(), static_cast<int64_t>(d)))
      p << a;
    else if (n == shapes::kWhole)
      p << ":";
    else {
      // The exclusive stop after the last element (wrapping, never UB, in
      // an op the verifier has not accepted).
      p << a << ":"
        << static_cast<int64_t>(static_cast<uint64_t>(a) +
                                (static_cast<uint64_t>(n) - 1) * static_cast<uint64_t>(s) + 1);
      if (s != 1)
        p << ":" << s;
    }
  }
  p << "]";
}

#define GET_OP_CLASSES
#include "ir/KilnOps.cpp.inc"
