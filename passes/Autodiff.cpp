// kiln-autodiff: @loss -> @loss_grad, reverse mode over the op rules.
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

/// Values on a path from a parameter to the loss: the only ones whose
/// gradients are worth building.
llvm::DenseSet<Value> activeValues(func::FuncOp func, Value loss) {
  llvm::DenseSet<Value> fromParams, toLoss, active;
  for (auto [i, arg] : llvm::enumerate(func.getArguments()))
    if (getArgRole<ParamAttr>(func, i) && isFloatTensor(arg))
      fromParams.insert(arg);
  Block &body = func.getBody().front();
  for (Operation &op : body)
    if (llvm::any_of(op.getOperands(), [&](Value v) { return fromParams.contains(v); }))
      for (Value r : op.getResults())
        if (isFloatTensor(r))
          fromParams.insert(r);
  toLoss.insert(loss);
  for (Operation &op : llvm::reverse(body))
    if (llvm::any_of(op.getResults(), [&](Value r) { return toLoss.contains(r); }))
      for (Value v : op.getOperands())
        toLoss.insert(v);
  for (Value v : fromParams)
    if (toLoss.contains(v))
      active.insert(v);
  return active;
}

/// The ops a rule built (after `last`, before `end`) keep the forward op's
/// file location but not its name; a gradient of a named value is named
/// `<name>.grad`, so `%logits.grad` reads as what it is.
void nameGradients(Operation *last, Operation *end, ValueRange operands,
                   ArrayRef<Value> grads) {
  for (Operation *op = last->getNextNode(); op != end; op = op->getNextNode())
    if (auto named = dyn_cast<NameLoc>(op->getLoc()))
      op->setLoc(named.getChildLoc());
  for (auto [operand, g] : llvm::zip(operands, grads)) {
    auto named = dyn_cast<NameLoc>(operand.getLoc());
    Operation *def = g ? g.getDefiningOp() : nullptr;
    if (named && def && def->isBeforeInBlock(end) && last->isBeforeInBlock(def))
      def->setLoc(NameLoc::get(StringAttr::get(def->getContext(), named.getName().str() + ".grad"),
                               def->getLoc()));
  }
}

struct AutodiffPass : public kiln::impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<FunctionOpInterface> lossEntry = lookupEntry(module, Entry::Loss);
    FailureOr<FunctionOpInterface> existing = lookupEntry(module, Entry::LossGrad);
    if (failed(lossEntry) || failed(existing))
      return signalPassFailure();
    auto loss = dyn_cast_or_null<func::FuncOp>(lossEntry->getOperation());
    if (!loss || loss.getNumResults() == 0 || !getResultRole<LossAttr>(loss, 0))
      return; // nothing to train: no loss
    if (*existing) {
      existing->emitError("already marked #kiln.entry<loss_grad>");
      return signalPassFailure();
    }
    // A copy of @loss marked as the gradient entry point (named loss_grad
    // unless that name is taken; the entry attribute is what counts).
    auto grad = cast<func::FuncOp>(loss->clone());
    grad.setSymName("loss_grad");
    setEntry(grad, Entry::LossGrad);
    SymbolTable(module).insert(grad, std::next(Block::iterator(loss)));
    // Each dropout gets its own salt before the rules run: a dropout's
    // gradient copies it, so in training the two draw the same mask.
    int64_t salt = 0;
    grad.walk([&](DropoutOp d) { d.setSalt(salt++); });
    trainBatchNorms(grad);
    if (failed(differentiate(grad)))
      return signalPassFailure();
  }

  /// Batch norm trains on the batch's statistics (PyTorch's train mode):
  /// each kiln.batch_norm becomes a kiln.batch_norm_train, whose other
  /// results are the running statistics after the batch. A layer applied
  /// twice updates them twice, the second update from the first's result.
  static void trainBatchNorms(func::FuncOp func) {
    llvm::DenseMap<Value, Value> latest; // a buffer argument -> its newest value
    auto current = [&](Value v) { return latest.count(v) ? latest[v] : v; };
    SmallVector<BatchNormOp> ops;
    func.walk([&](BatchNormOp op) { ops.push_back(op); });
    for (BatchNormOp op : ops) {
      OpBuilder b(op);
      Value mean = op.getRunningMean(), var = op.getRunningVar(), n = op.getNumBatchesTracked();
      auto train = BatchNormTrainOp::create(b, op.getLoc(), op.getInput(), op.getWeight(),
                                            op.getBias(), current(mean), current(var),
                                            current(n), op.getEpsAttr(), op.getMomentumAttr());
      latest[mean] = train.getNewRunningMean();
      latest[var] = train.getNewRunningVar();
      latest[n] = train.getNewNumBatchesTracked();
      op.getResult().replaceAllUsesWith(train.getResult());
      op.erase();
    }
  }

  LogicalResult differentiate(func::FuncOp func) {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value loss = ret.getOperand(0);
    llvm::DenseSet<Value> active = activeValues(func, loss);
    llvm::DenseMap<Value, Value> grads;
    OpBuilder b(ret);

    // d(loss)/d(loss) = 1
    auto lossType = cast<RankedTensorType>(loss.getType());
    Attribute one = b.getFloatAttr(lossType.getElementType(), 1.0);
    grads[loss] = ConstantOp::create(b, ret.getLoc(), lossType,
                                     DenseElementsAttr::get(lossType, one));

    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    for (Operation *op : llvm::reverse(ops)) {
      // Only ops with a gradient flowing into a result on the active path.
      if (llvm::none_of(op->getResults(),
                        [&](Value r) { return active.contains(r) && grads.count(r); }))
        continue;
      // Rules take the gradient of the first result; an op's other results
      // (batch_norm_train's running statistics) must not lead to the loss.
      if (llvm::any_of(op->getResults().drop_front(),
                       [&](Value r) { return active.contains(r) && grads.count(r); }))
        return op->emitError("cannot differentiate '")
               << op->getName() << "': a result other than its first lies between a "
                  "parameter and the loss (gradient rules take the gradient of one result)";
      Value result = op->getResult(0);
      auto it = grads.find(result);
      auto rule = dyn_cast<GradientOpInterface>(op);
      if (!rule)
        return op->emitError("no gradient rule for '")
               << op->getName() << "': it lies between a parameter and the loss";
      SmallVector<bool> needed;
      for (Value operand : op->getOperands())
        needed.push_back(active.contains(operand));
      SmallVector<Value> operandGrads(op->getNumOperands());
      b.setInsertionPoint(ret);
      Operation *last = ret->getPrevNode();
      if (failed(rule.buildGradients(b, it->second, needed, operandGrads)))
        return failure();
      nameGradients(last, ret, op->getOperands(), operandGrads);
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!g || !active.contains(operand))
          continue;
        Value &sum = grads[operand];
        sum = sum ? AddOp::create(b, op->getLoc(), sum, g).getResult() : g;
      }
    }

    // Return the loss, the metrics, then each parameter's gradient.
    SmallVector<Value> results(ret.getOperands());
    SmallVector<std::pair<unsigned, StringRef>> named;
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      auto param = getArgRole<ParamAttr>(func, i);
      if (!param)
        continue;
      StringRef name = param.getName();
      Value g = grads.lookup(arg);
      Location loc = NameLoc::get(b.getStringAttr(name + ".grad"), arg.getLoc());
      if (!g) {
        // Not on the way to the loss: its gradient is zero.
        auto type = cast<RankedTensorType>(arg.getType());
        g = FillOp::create(b, loc, type, b.getF64FloatAttr(0.0), ValueRange{});
      } else if (Operation *def = g.getDefiningOp()) {
        def->setLoc(loc);
      }
      named.push_back({static_cast<unsigned>(results.size()), name});
      results.push_back(g);
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();

    SmallVector<Type> types;
    for (Value v : results)
      types.push_back(v.getType());
    SmallVector<DictionaryAttr> resultAttrs;
    func.getAllResultAttrs(resultAttrs);
    resultAttrs.resize(results.size(), b.getDictionaryAttr({}));
    for (auto [index, name] : named)
      resultAttrs[index] = roleDict(GradAttr::get(b.getContext(), name));
    func.setFunctionType(b.getFunctionType(func.getArgumentTypes(), types));
    func.setAllResultAttrs(resultAttrs);
    return success();
  }
};

} // namespace
