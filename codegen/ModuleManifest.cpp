#include "codegen/ModuleManifest.h"

#include "ir/DTypes.h"
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"
#include "runtime/Manifest.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln {

static DType manifestDType(Type element) {
  // The dialect's verifiers admit only the language's element types.
  std::optional<DType> dtype = ir::dtypeOf(element);
  if (!dtype)
    llvm::report_fatal_error("kiln: the manifest met an element type no model file can name");
  return *dtype;
}

static std::vector<int64_t> manifestShape(RankedTensorType type) {
  std::vector<int64_t> shape;
  for (int64_t size : type.getShape())
    shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return shape;
}

static runtime::TensorSpec tensorSpec(StringRef name, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return {name.str(), manifestDType(tensor.getElementType()), manifestShape(tensor)};
}

static runtime::InitSpec initSpec(ir::InitAttrInterface init) {
  using Kind = runtime::InitSpec::Kind;
  runtime::InitSpec spec; // zeros without one
  if (!init)
    return spec;
  llvm::TypeSwitch<Attribute>(init)
      .Case([&](ir::ZerosAttr) { spec.kind = Kind::Zeros; })
      .Case([&](ir::OnesAttr) { spec.kind = Kind::Ones; })
      .Case([&](ir::UniformAttr u) {
        spec = {Kind::Uniform, u.getLow().convertToDouble(), u.getHigh().convertToDouble()};
      })
      .Case([&](ir::NormalAttr n) {
        spec = {Kind::Normal, n.getMean().convertToDouble(), n.getStd().convertToDouble()};
      });
  return spec;
}


/// FLOPs of one op for one sample (the batch dimension taken as 1): two per
/// multiply-add in products, one per element elsewhere.
static int64_t flopsPerSample(Operation *op) {
  auto count = [](Value v) {
    int64_t n = 1;
    for (int64_t size : cast<RankedTensorType>(v.getType()).getShape())
      n *= ShapedType::isDynamic(size) ? 1 : size;
    return n;
  };
  if (op->getNumResults() != 1 || !isa<RankedTensorType>(op->getResult(0).getType()))
    return 0;
  int64_t out = count(op->getResult(0));
  if (auto linear = dyn_cast<ir::LinearOp>(op))
    return 2 * out * linear.getWeight().getType().getDimSize(1);
  if (auto matmul = dyn_cast<ir::MatMulOp>(op)) {
    auto lhs = matmul.getLhs().getType();
    return 2 * out * lhs.getDimSize(lhs.getRank() - 1);
  }
  if (isa<ir::RNNOp, ir::LSTMOp, ir::GRUOp>(op)) {
    // Every step: the input and the previous state times G*H gate rows,
    // and about one element-wise op per gate element.
    auto x = cast<RankedTensorType>(op->getOperand(0).getType());
    auto wih = cast<RankedTensorType>(op->getOperand(1).getType());
    int64_t steps = x.getDimSize(1), rows = wih.getDimSize(0);
    int64_t hidden = cast<RankedTensorType>(op->getOperand(2).getType()).getDimSize(1);
    return steps * rows * (2 * (wih.getDimSize(1) + hidden) + 1);
  }
  if (auto conv = dyn_cast<ir::Conv2dOp>(op)) {
    auto w = conv.getWeight().getType();
    return 2 * out * w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3);
  }
  if (op->getNumOperands() > 0 && isa<RankedTensorType>(op->getOperand(0).getType()))
    return std::max(out, count(op->getOperand(0)));
  return out;
}

/// The class count of a value used as the class indices of a loss or metric
/// (its logits' width), or as an embedding's indices (the table's rows); the
/// smallest, if used more than once; or 0. The runtime then refuses labels
/// and indices out of range before running the model (exit 2). Only direct
/// uses count: indices computed from an input are not checked there, and an
/// embedding gives NaN rows for those out of range.
static int64_t classesOf(Value indices) {
  int64_t classes = 0;
  for (OpOperand &use : indices.getUses()) {
    Value logits;
    if (auto op = dyn_cast<ir::CrossEntropyOp>(use.getOwner()))
      logits = use.get() == op.getTarget() ? op.getInput() : Value();
    else if (auto op = dyn_cast<ir::NllLossOp>(use.getOwner()))
      logits = use.get() == op.getTarget() ? op.getInput() : Value();
    else if (auto op = dyn_cast<ir::AccuracyOp>(use.getOwner()))
      logits = use.get() == op.getTarget() ? op.getInput() : Value();
    int64_t width = 0;
    if (logits)
      width = cast<RankedTensorType>(logits.getType()).getDimSize(1);
    else if (auto op = dyn_cast<ir::EmbeddingOp>(use.getOwner()))
      width = op.getWeight().getType().getDimSize(0); // the table's rows
    if (width <= 0)
      continue;
    classes = classes == 0 ? width : std::min(classes, width);
  }
  return classes;
}

std::string manifestJson(ModuleOp module) {
  using ir::Entry;
  runtime::Manifest m;
  if (auto name = module->getAttrOfType<StringAttr>(ir::kModelAttrName))
    m.model = name.str();
  if (auto train = module->getAttrOfType<ir::TrainAttr>(ir::kTrainAttrName)) {
    m.hasTrain = true;
    m.train = train.getSettings();
  }
  for (auto func : module.getOps<FunctionOpInterface>()) {
    std::optional<Entry> entry = ir::getEntry(func);
    if (!entry || *entry == Entry::LossGrad)
      continue; // not an entry point, or for tests (kiln_loss_grad), not the runtime
    m.entryPoints.push_back(ir::stringifyEntry(*entry).str());
    ArrayRef<Type> argTypes = func.getArgumentTypes();
    // Inputs and parameters as forward takes them, targets as the loss does.
    for (unsigned a = 0; a < func.getNumArguments(); ++a) {
      Attribute role = ir::getArgRole(func, a);
      if (!role)
        continue;
      if (*entry == Entry::Forward && isa<ir::InputAttr>(role)) {
        m.inputs.push_back(tensorSpec(ir::roleName(role), argTypes[a]));
        m.inputs.back().classes = classesOf(func.getFunctionBody().getArgument(a));
      } else if (*entry == Entry::Loss && isa<ir::TargetAttr>(role)) {
        m.targets.push_back(tensorSpec(ir::roleName(role), argTypes[a]));
        m.targets.back().classes = classesOf(func.getFunctionBody().getArgument(a));
      } else if (auto param = dyn_cast<ir::ParamAttr>(role); param && *entry == Entry::Forward) {
        runtime::TensorSpec spec = tensorSpec(param.getName(), argTypes[a]);
        m.params.push_back({spec.name, spec.dtype, spec.shape, initSpec(param.getInit())});
      } else if (auto buffer = dyn_cast<ir::BufferAttr>(role); buffer && *entry == Entry::Forward) {
        runtime::TensorSpec spec = tensorSpec(buffer.getName(), argTypes[a]);
        m.params.push_back(
            {spec.name, spec.dtype, spec.shape, initSpec(buffer.getInit()), /*buffer=*/true});
      } else if (*entry == Entry::TrainStep && isa<ir::StateAttr>(role)) {
        m.state.push_back(tensorSpec(ir::roleName(role), argTypes[a]));
      } else if (*entry == Entry::TrainStep && isa<ir::HyperAttr>(role)) {
        m.hyper.push_back(ir::roleName(role).str());
      }
    }
    // Outputs from forward, the loss and metrics from the loss.
    for (unsigned r = 0; r < func.getNumResults() && *entry != Entry::TrainStep; ++r) {
      Attribute role = ir::getResultRole(func, r);
      Type element = cast<RankedTensorType>(func.getResultTypes()[r]).getElementType();
      if (isa_and_present<ir::OutputAttr>(role)) {
        m.outputs.push_back(tensorSpec(ir::roleName(role), func.getResultTypes()[r]));
      } else if (isa_and_present<ir::LossAttr>(role)) {
        m.loss = true;
        m.scalarDType = manifestDType(element);
      } else if (isa_and_present<ir::MetricAttr>(role)) {
        m.metrics.push_back(ir::roleName(role).str());
        m.scalarDType = manifestDType(element);
      }
    }
    if (*entry == Entry::Forward)
      func->walk([&](Operation *op) { m.flopsPerSample += flopsPerSample(op); });
    // A batch norm with one value per channel and sample (x [N, C], or
    // [N, C, 1]) needs two samples in every training batch: the unbiased
    // variance divides by count - 1 (PyTorch refuses such a batch too).
    if (*entry == Entry::Loss)
      func->walk([&](ir::BatchNormOp bn) {
        auto shape = cast<RankedTensorType>(bn.getInput().getType()).getShape();
        int64_t perSample = 1;
        for (int64_t size : shape.drop_front(2))
          perSample *= size;
        if (perSample == 1)
          m.minTrainBatch = 2;
      });
  }
  return m.toJson();
}

std::string withMemoryPlan(const std::string &manifest, ModuleOp lowered) {
  auto plan = lowered->getAttrOfType<DictionaryAttr>(ir::kWorkspaceAttrName);
  if (!plan)
    return manifest;
  auto m = runtime::Manifest::fromJson(manifest);
  if (!m.ok())
    return manifest; // written by manifestJson above: cannot happen
  m.value.hasArena = true;
  m.value.arenaFixedBytes = plan.getAs<IntegerAttr>("fixed_bytes").getInt();
  m.value.arenaPerSampleBytes = plan.getAs<IntegerAttr>("per_sample_bytes").getInt();
  return m.value.toJson();
}

} // namespace kiln
