// kiln-train-step: @loss_grad + the optimizer update -> @train_step.
// Between the backward and the update, one kiln.all_reduce_mean makes the
// gradients (and loss, metrics, running statistics) the global batch's
// means under data parallelism (a no-op with one process).
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_TRAINSTEP
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace {

/// The train block's settings (the module's #kiln.train); without one,
/// plain SGD.
struct Optimizer : kiln::TrainSettings {
  static Optimizer from(TrainAttr train) {
    Optimizer o;
    if (train)
      static_cast<kiln::TrainSettings &>(o) = train.getSettings();
    return o;
  }
  bool adamLike() const {
    return optimizer == kiln::OptimizerKind::Adam || optimizer == kiln::OptimizerKind::AdamW;
  }

  /// Names of the per-parameter state tensors, as torch.optim's state_dict.
  SmallVector<StringRef> stateNames() const {
    if (adamLike())
      return {"exp_avg", "exp_avg_sq"};
    if (optimizer == kiln::OptimizerKind::RMSprop) {
      if (momentum != 0)
        return {"square_avg", "momentum_buffer"};
      return {"square_avg"};
    }
    if (momentum != 0)
      return {"momentum_buffer"};
    return {};
  }
};

/// Builds the update of one parameter with kiln ops, in torch.optim's order
/// of operations (ATen's addcmul is `x + (value * a) * b`, addcdiv
/// `x + (value * a) / b`) so the numbers track PyTorch's.
class Updater {
public:
  Updater(OpBuilder &b, Location loc, const Optimizer &opt, Value lr, Value step)
      : b(b), loc(loc), opt(opt), lr(lr), step(step) {}

  /// Returns the new parameter and appends the new state to `newState`.
  Value update(Value p, Value g, ValueRange state, SmallVectorImpl<Value> &newState) {
    if (opt.optimizer == kiln::OptimizerKind::AdamW) {
      // Decoupled weight decay: param * (1 - lr * weight_decay), lr * wd in f64.
      if (opt.weightDecay != 0)
        p = mul(p, castTo(sub(constant(lr, 1.0), mul(lr, constant(lr, opt.weightDecay))), p));
    } else if (opt.weightDecay != 0) { // grad = grad + weight_decay * param
      g = add(g, mul(p, constant(p, opt.weightDecay)));
    }
    if (opt.adamLike())
      return adam(p, g, state[0], state[1], newState);
    if (opt.optimizer == kiln::OptimizerKind::RMSprop)
      return rmsprop(p, g, state, newState);
    Value d = g;
    if (opt.momentum != 0) { // buf = buf * momentum + grad
      Value buf = add(mul(state[0], constant(p, opt.momentum)), g);
      newState.push_back(buf);
      // Nesterov: grad + momentum * buf; else the buffer itself.
      d = opt.nesterov ? add(g, mul(buf, constant(p, opt.momentum))) : buf;
    }
    // param + (-lr) * d
    return add(p, mul(neg(castTo(lr, p)), d));
  }

  /// torch.nn.utils.clip_grad_norm_: every gradient times
  /// min(max_norm / (total_norm + 1e-6), 1), where total_norm is the 2-norm
  /// of all gradients' elements together (PyTorch's norm of the per-tensor
  /// norms, without their rounding): each tensor's sum of squares in its own
  /// dtype (f32 sums accumulate in f64), the rest in f64.
  void clip(MutableArrayRef<Value> grads) {
    auto f64 = RankedTensorType::get({}, b.getF64Type());
    Value total;
    for (Value g : grads) {
      Value square = CastOp::create(b, loc, f64, sumAll(mul(g, g)));
      total = total ? add(total, square) : square;
    }
    if (!total)
      return;
    Value coef = DivOp::create(b, loc, constant(total, opt.clipGradNorm),
                               add(SqrtOp::create(b, loc, total), constant(total, 1e-6)));
    Value clamped = ClampOp::create(b, loc, coef, FloatAttr(), b.getF64FloatAttr(1.0));
    for (Value &g : grads)
      g = mul(g, castTo(clamped, g));
  }

private:
  Value adam(Value p, Value g, Value m, Value v, SmallVectorImpl<Value> &newState) {
    // exp_avg = exp_avg * beta1 + (1 - beta1) * grad
    Value m2 = add(mul(m, constant(p, opt.beta1)), mul(constant(p, 1 - opt.beta1), g));
    // exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
    Value v2 = add(mul(v, constant(p, opt.beta2)), mul(mul(constant(p, 1 - opt.beta2), g), g));
    newState.push_back(m2);
    newState.push_back(v2);
    // The bias corrections in f64, as Python computes them.
    Value bc1 = sub(constant(step, 1.0), power(opt.beta1));
    Value bc2 = sub(constant(step, 1.0), power(opt.beta2));
    Value stepSize = DivOp::create(b, loc, lr, bc1);
    Value bc2Sqrt = SqrtOp::create(b, loc, bc2);
    // denom = sqrt(exp_avg_sq) / sqrt(bc2) + eps; param + (-step_size * exp_avg) / denom
    Value denom = add(DivOp::create(b, loc, SqrtOp::create(b, loc, v2), castTo(bc2Sqrt, p)),
                      constant(p, opt.eps));
    Value scaled = mul(neg(castTo(stepSize, p)), m2);
    return add(p, DivOp::create(b, loc, scaled, denom));
  }

  Value rmsprop(Value p, Value g, ValueRange state, SmallVectorImpl<Value> &newState) {
    // square_avg = square_avg * alpha + (1 - alpha) * grad * grad
    Value sq = add(mul(state[0], constant(p, opt.alpha)),
                   mul(mul(constant(p, 1 - opt.alpha), g), g));
    newState.push_back(sq);
    Value avg = add(SqrtOp::create(b, loc, sq), constant(p, opt.eps));
    Value negLr = neg(castTo(lr, p));
    if (opt.momentum != 0) {
      // buf = buf * momentum + grad / avg; param + (-lr) * buf
      Value buf = add(mul(state[1], constant(p, opt.momentum)), DivOp::create(b, loc, g, avg));
      newState.push_back(buf);
      return add(p, mul(negLr, buf));
    }
    // param + (-lr * grad) / avg
    return add(p, DivOp::create(b, loc, mul(negLr, g), avg));
  }

  /// beta ** step, as exp(step * log(beta)) in f64.
  Value power(double beta) { return ExpOp::create(b, loc, mul(step, constant(step, std::log(beta)))); }

  Value constant(Value like, double value) {
    Type elem = cast<RankedTensorType>(like.getType()).getElementType();
    auto type = RankedTensorType::get({}, elem);
    return ConstantOp::create(b, loc, type,
                              DenseElementsAttr::get(type, b.getFloatAttr(elem, value)));
  }
  Value castTo(Value scalar, Value like) {
    Type elem = cast<RankedTensorType>(like.getType()).getElementType();
    auto type = RankedTensorType::get({}, elem);
    if (scalar.getType() == type)
      return scalar;
    return CastOp::create(b, loc, type, scalar);
  }
  Value add(Value x, Value y) { return AddOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return SubOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return MulOp::create(b, loc, x, y); }
  Value neg(Value x) { return NegOp::create(b, loc, x); }
  Value sumAll(Value x) { return SumOp::create(b, loc, x, ArrayRef<int64_t>{}, false); }

  OpBuilder &b;
  Location loc;
  const Optimizer &opt;
  Value lr, step;
};

struct TrainStepPass : public kiln::impl::TrainStepBase<TrainStepPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<FunctionOpInterface> gradEntry = lookupEntry(module, Entry::LossGrad);
    FailureOr<FunctionOpInterface> existing = lookupEntry(module, Entry::TrainStep);
    if (failed(gradEntry) || failed(existing))
      return signalPassFailure();
    auto grad = dyn_cast_or_null<func::FuncOp>(gradEntry->getOperation());
    if (!grad)
      return; // no loss, no training
    if (*existing) {
      existing->emitError("already marked #kiln.entry<train_step>");
      return signalPassFailure();
    }
    Optimizer opt = Optimizer::from(module->getAttrOfType<TrainAttr>(kTrainAttrName));
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    Location loc = grad.getLoc();

    // Arguments: those of @loss_grad, then the optimizer state, lr and step.
    SmallVector<Type> argTypes(grad.getArgumentTypes());
    SmallVector<DictionaryAttr> argAttrs;
    grad.getAllArgAttrs(argAttrs);
    SmallVector<unsigned> params;
    for (unsigned i = 0; i < grad.getNumArguments(); ++i)
      if (getArgRole<ParamAttr>(grad, i))
        params.push_back(i);
    SmallVector<StringRef> stateNames = opt.stateNames();
    for (StringRef kind : stateNames)
      for (unsigned p : params) {
        argTypes.push_back(grad.getArgumentTypes()[p]);
        std::string name = (getArgRole<ParamAttr>(grad, p).getName() + "." + kind).str();
        argAttrs.push_back(roleDict(StateAttr::get(ctx, name)));
      }
    auto f64 = RankedTensorType::get({}, b.getF64Type());
    // A model with dropout also takes the step's random seed.
    bool random = false;
    grad.walk([&](DropoutOp) { random = true; });
    // Data parallelism: `share` weighs this process's batch means in the
    // global batch's mean; `offset` (with dropout) is its first sample there.
    SmallVector<Hyper> hypers{Hyper::Lr, Hyper::Step, Hyper::Share};
    if (random)
      hypers.append({Hyper::Seed, Hyper::Offset});
    for (Hyper hyper : hypers) {
      argTypes.push_back(f64);
      argAttrs.push_back(roleDict(HyperAttr::get(ctx, hyper)));
    }

    auto step = func::FuncOp::create(loc, "train_step", b.getFunctionType(argTypes, {}));
    setEntry(step, Entry::TrainStep);
    SymbolTable(module).insert(step, std::next(Block::iterator(grad)));
    Block *body = step.addEntryBlock();
    unsigned numGradArgs = grad.getNumArguments();
    for (unsigned i = 0; i < numGradArgs; ++i)
      body->getArgument(i).setLoc(grad.getArgument(i).getLoc());

    // Inline @loss_grad's body.
    b.setInsertionPointToStart(body);
    IRMapping map;
    for (unsigned i = 0; i < numGradArgs; ++i)
      map.map(grad.getArgument(i), body->getArgument(i));
    Block &gradBody = grad.getBody().front();
    for (Operation &op : gradBody.without_terminator())
      b.clone(op, map);
    auto gradReturn = cast<func::ReturnOp>(gradBody.getTerminator());
    SmallVector<Value> returned;
    for (Value v : gradReturn.getOperands())
      returned.push_back(map.lookup(v));
    unsigned numScalars = returned.size() - params.size();

    // Dropout in training: every dropout, forward and gradient, draws from
    // the step's seed (without one it is the identity), its element indices
    // counted in the global batch.
    unsigned firstHyper = argTypes.size() - hypers.size();
    Value share = body->getArgument(firstHyper + 2);
    if (random)
      step.walk([&](DropoutOp d) {
        d.getSeedMutable().assign(body->getArgument(firstHyper + 3));
        d.getOffsetMutable().assign(body->getArgument(firstHyper + 4));
      });

    // Buffers: the running statistics the batch norms of this step left
    // (each batch_norm_train maps its running operands to its results).
    llvm::DenseMap<Value, Value> nextOf;
    step.walk([&](BatchNormTrainOp bn) {
      for (unsigned k = 0; k < 3; ++k)
        nextOf[bn->getOperand(3 + k)] = bn->getResult(1 + k);
    });
    auto finalOf = [&](Value v) {
      while (nextOf.count(v))
        v = nextOf[v];
      return v;
    };

    // The reduction over the processes, between the backward and the
    // update: the gradients, loss and metrics (batch means) and the new
    // float running statistics become the global batch's means, weighted by
    // `share`, in one op (one flat buffer, one MPI_Allreduce per step).
    SmallVector<Value> reduced(returned.begin() + numScalars, returned.end());
    reduced.append(returned.begin(), returned.begin() + numScalars);
    SmallVector<Value> statistics;
    for (unsigned i = 0; i < numGradArgs; ++i)
      if (getArgRole<BufferAttr>(grad, i)) {
        Value v = finalOf(body->getArgument(i));
        if (v != body->getArgument(i) && isa<FloatType>(getElementTypeOrSelf(v.getType())))
          statistics.push_back(v);
      }
    reduced.append(statistics);
    auto allReduce = AllReduceMeanOp::create(b, loc, reduced, share);
    for (unsigned k = 0; k < params.size(); ++k)
      returned[numScalars + k] = allReduce.getResult(k);
    for (unsigned k = 0; k < numScalars; ++k)
      returned[k] = allReduce.getResult(params.size() + k);
    llvm::DenseMap<Value, Value> reducedOf;
    for (auto [k, v] : llvm::enumerate(statistics))
      reducedOf[v] = allReduce.getResult(params.size() + numScalars + k);

    // The optimizer update of each parameter.
    Value lr = body->getArgument(firstHyper), t = body->getArgument(firstHyper + 1);
    for (unsigned i = numGradArgs; i < argTypes.size(); ++i) {
      // State and hyperparameters print under their names.
      StringRef name = roleName(argAttrs[i].get(kRoleAttrName));
      body->getArgument(i).setLoc(NameLoc::get(b.getStringAttr(name), loc));
    }
    Updater updater(b, loc, opt, lr, t);
    MutableArrayRef<Value> grads(returned.data() + numScalars, params.size());
    if (opt.clipGradNorm > 0)
      updater.clip(grads);
    SmallVector<Value> newParams, newState;
    SmallVector<SmallVector<Value>> statePerKind(stateNames.size());
    for (auto [k, p] : llvm::enumerate(params)) {
      SmallVector<Value> state, updated;
      for (size_t s = 0; s < stateNames.size(); ++s)
        state.push_back(body->getArgument(numGradArgs + s * params.size() + k));
      Value param = body->getArgument(p);
      Value g = grads[k];
      StringRef name = getArgRole<ParamAttr>(grad, p).getName();
      Value next = updater.update(param, g, state, updated);
      next.getDefiningOp()->setLoc(NameLoc::get(b.getStringAttr(name + ".next"), loc));
      newParams.push_back(next);
      for (size_t s = 0; s < updated.size(); ++s)
        statePerKind[s].push_back(updated[s]);
    }
    for (auto &kind : statePerKind)
      newState.append(kind.begin(), kind.end());

    // A buffer no batch norm trains keeps its value.
    // New params and buffers in argument order: the manifest's "params".
    SmallVector<Value> newWeights;
    SmallVector<DictionaryAttr> weightAttrs;
    for (unsigned i = 0, k = 0; i < numGradArgs; ++i) {
      if (auto param = getArgRole<ParamAttr>(grad, i)) {
        newWeights.push_back(newParams[k++]);
        weightAttrs.push_back(roleDict(ParamAttr::get(ctx, param.getName())));
      } else if (auto buffer = getArgRole<BufferAttr>(grad, i)) {
        Value v = finalOf(body->getArgument(i));
        newWeights.push_back(reducedOf.lookup(v) ? reducedOf.lookup(v) : v);
        weightAttrs.push_back(roleDict(BufferAttr::get(ctx, buffer.getName())));
      }
    }

    // Results: new params and buffers, new state, then the loss and metrics.
    SmallVector<Value> results(newWeights);
    results.append(newState);
    results.append(returned.begin(), returned.begin() + numScalars);
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    func::ReturnOp::create(b, loc, results);
    step.setFunctionType(b.getFunctionType(argTypes, resultTypes));
    step.setAllArgAttrs(argAttrs);

    // The new values carry the names, no initializer.
    SmallVector<DictionaryAttr> resultAttrs(weightAttrs);
    for (unsigned i = numGradArgs; i < numGradArgs + newState.size(); ++i)
      resultAttrs.push_back(argAttrs[i]);
    SmallVector<DictionaryAttr> gradResults;
    grad.getAllResultAttrs(gradResults);
    for (unsigned i = 0; i < numScalars; ++i)
      resultAttrs.push_back(gradResults[i]);
    step.setAllResultAttrs(resultAttrs);
  }
};

} // namespace
