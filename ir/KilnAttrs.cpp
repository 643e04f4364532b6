// The kiln dialect's attributes: assembly, verifiers, and where each one
// may appear (the dialect's operation, argument and result attribute hooks).
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace mlir;
using namespace kiln::ir;

#include "ir/KilnEnums.cpp.inc"

#include "ir/KilnAttrInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/KilnAttrs.cpp.inc"

void KilnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ir/KilnAttrs.cpp.inc"
      >();
}

namespace kiln::ir {

//===----------------------------------------------------------------------===//
// Numbers
//===----------------------------------------------------------------------===//

void printReal(AsmPrinter &printer, double value) {
  if (!std::isfinite(value)) {
    printer.printFloat(llvm::APFloat(value)); // hexadecimal, as MLIR does
    return;
  }
  // The shortest %g that reads back exactly, as Python's repr; MLIR's lexer
  // needs a '.' in a float, so 1e-08 prints as 1.0e-08 and 42 as 42.0.
  char text[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  std::string s = text;
  if (s.find_first_of(".en") == std::string::npos)
    s += ".0";
  else if (s.find('.') == std::string::npos && s.find('e') != std::string::npos)
    s.insert(s.find('e'), ".0");
  printer << s;
}

void printReal(AsmPrinter &printer, const llvm::APFloat &value) {
  printReal(printer, value.convertToDouble());
}

ParseResult parseReal(AsmParser &parser, double &value) {
  return parser.parseFloat(value); // also 1, -2 and hexadecimal bits
}

ParseResult parseReal(AsmParser &parser, FailureOr<llvm::APFloat> &value) {
  double real;
  if (parseReal(parser, real))
    return failure();
  value = llvm::APFloat(real);
  return success();
}

//===----------------------------------------------------------------------===//
// Initializers
//===----------------------------------------------------------------------===//

LogicalResult UniformAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  llvm::APFloat lowValue, llvm::APFloat highValue) {
  double low = lowValue.convertToDouble(), high = highValue.convertToDouble();
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high))
    return emitError() << "#kiln.uniform needs finite low <= high, got " << low << " and " << high;
  return success();
}

LogicalResult NormalAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 llvm::APFloat meanValue, llvm::APFloat stdValue) {
  double mean = meanValue.convertToDouble(), std = stdValue.convertToDouble();
  if (!std::isfinite(mean) || !(std >= 0) || !std::isfinite(std))
    return emitError() << "#kiln.normal needs a finite mean and std >= 0, got " << mean
                       << " and " << std;
  return success();
}

//===----------------------------------------------------------------------===//
// #kiln.param<"name"[, init]>: the initializer without its `#kiln.` prefix
//===----------------------------------------------------------------------===//

/// `<"name">` or `<"name", INIT>`: a parameter's or a buffer's.
template <typename NamedInitAttr>
static Attribute parseNamedInit(AsmParser &parser) {
  std::string name;
  if (parser.parseLess() || parser.parseString(&name))
    return {};
  InitAttrInterface init;
  if (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    StringRef mnemonic;
    Attribute attr;
    OptionalParseResult parsed = generatedAttributeParser(parser, &mnemonic, Type(), attr);
    if (!parsed.has_value())
      return (parser.emitError(loc, "expected an initializer: zeros, ones, uniform<low, high> "
                                    "or normal<mean, std>"),
              Attribute());
    if (failed(*parsed))
      return {};
    init = dyn_cast<InitAttrInterface>(attr);
    if (!init)
      return (parser.emitError(loc) << attr << " is not an initializer", Attribute());
  }
  if (parser.parseGreater())
    return {};
  return NamedInitAttr::get(parser.getContext(), name, init);
}

static void printNamedInit(AsmPrinter &printer, StringRef name, InitAttrInterface init) {
  printer << '<';
  printer.printString(name);
  if (init) {
    printer << ", ";
    (void)generatedAttributePrinter(init, printer);
  }
  printer << '>';
}

Attribute ParamAttr::parse(AsmParser &parser, Type) { return parseNamedInit<ParamAttr>(parser); }
void ParamAttr::print(AsmPrinter &printer) const { printNamedInit(printer, getName(), getInit()); }
Attribute BufferAttr::parse(AsmParser &parser, Type) { return parseNamedInit<BufferAttr>(parser); }
void BufferAttr::print(AsmPrinter &printer) const { printNamedInit(printer, getName(), getInit()); }

//===----------------------------------------------------------------------===//
// #kiln.train<OPTIMIZER, key = value, ...>
//===----------------------------------------------------------------------===//

Attribute TrainAttr::parse(AsmParser &parser, Type) {
  SMLoc start = parser.getCurrentLocation();
  StringRef optimizerName;
  if (parser.parseLess() || parser.parseKeyword(&optimizerName))
    return {};
  std::optional<Optimizer> optimizer = symbolizeOptimizer(optimizerName);
  if (!optimizer)
    return (parser.emitError(start, "expected the optimizer, SGD, Adam, AdamW or RMSprop, got '")
                << optimizerName << "'",
            Attribute());
  kiln::TrainSettings s;
  s.optimizer = kiln::OptimizerKind(*optimizer);
  bool hasLr = false;
  llvm::StringSet<> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second)
      return (parser.emitError(loc, "'") << key << "' is given twice", Attribute());
    auto real = [&](double &value) { return parseReal(parser, value); };
    auto flag = [&](bool &value) -> ParseResult {
      StringRef word;
      SMLoc flagLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&word))
        return failure();
      if (word != "true" && word != "false")
        return parser.emitError(flagLoc, "expected true or false");
      value = word == "true";
      return success();
    };
    static const llvm::StringMap<double kiln::TrainSettings::*> reals = {
        {"lr", &kiln::TrainSettings::lr},           {"momentum", &kiln::TrainSettings::momentum},
        {"weight_decay", &kiln::TrainSettings::weightDecay}, {"beta1", &kiln::TrainSettings::beta1},
        {"beta2", &kiln::TrainSettings::beta2},     {"eps", &kiln::TrainSettings::eps},
        {"alpha", &kiln::TrainSettings::alpha},     {"clip_grad_norm", &kiln::TrainSettings::clipGradNorm},
        {"gamma", &kiln::TrainSettings::gamma},     {"eta_min", &kiln::TrainSettings::etaMin}};
    static const llvm::StringMap<int64_t kiln::TrainSettings::*> integers = {
        {"step_size", &kiln::TrainSettings::stepSize}, {"t_max", &kiln::TrainSettings::tMax},
        {"batch", &kiln::TrainSettings::batch},       {"epochs", &kiln::TrainSettings::epochs}};
    ParseResult result = failure();
    if (auto it = reals.find(key); it != reals.end()) {
      hasLr |= key == "lr";
      result = real(s.*it->second);
    } else if (auto it = integers.find(key); it != integers.end()) {
      result = parser.parseInteger(s.*it->second);
    } else if (key == "seed") {
      result = parser.parseInteger(s.seed);
    } else if (key == "shuffle") {
      result = flag(s.shuffle);
    } else if (key == "nesterov") {
      result = flag(s.nesterov);
    } else if (key == "scheduler") {
      StringRef name;
      SMLoc nameLoc = parser.getCurrentLocation();
      result = parser.parseKeyword(&name);
      std::optional<Scheduler> scheduler = symbolizeScheduler(name);
      if (succeeded(result) && (!scheduler || *scheduler == Scheduler::None))
        return (parser.emitError(nameLoc, "expected the scheduler, StepLR or CosineAnnealingLR"),
                Attribute());
      if (succeeded(result))
        s.scheduler = kiln::SchedulerKind(*scheduler);
    } else {
      return (parser.emitError(loc, "unknown train setting '")
                  << key << "'; expected lr, momentum, weight_decay, beta1, beta2, eps, "
                            "nesterov, alpha, clip_grad_norm, scheduler, step_size, gamma, "
                            "t_max, eta_min, batch, epochs, seed or shuffle",
              Attribute());
    }
    if (failed(result))
      return {};
  }
  if (parser.parseGreater())
    return {};
  if (!hasLr)
    return (parser.emitError(start, "#kiln.train needs lr"), Attribute());
  using llvm::APFloat;
  return parser.getChecked<TrainAttr>(
      start, parser.getContext(), Optimizer(s.optimizer), APFloat(s.lr), APFloat(s.momentum),
      APFloat(s.weightDecay), APFloat(s.beta1), APFloat(s.beta2), APFloat(s.eps), s.nesterov,
      APFloat(s.alpha), APFloat(s.clipGradNorm), Scheduler(s.scheduler), s.stepSize, APFloat(s.gamma),
      s.tMax, APFloat(s.etaMin), s.batch, s.epochs, s.seed, s.shuffle);
}

kiln::TrainSettings TrainAttr::getSettings() const {
  kiln::TrainSettings s;
  s.optimizer = kiln::OptimizerKind(getOptimizer());
  s.lr = getLr().convertToDouble();
  s.momentum = getMomentum().convertToDouble();
  s.weightDecay = getWeightDecay().convertToDouble();
  s.beta1 = getBeta1().convertToDouble();
  s.beta2 = getBeta2().convertToDouble();
  s.eps = getEps().convertToDouble();
  s.nesterov = getNesterov();
  s.alpha = getAlpha().convertToDouble();
  s.clipGradNorm = getClipGradNorm().convertToDouble();
  s.scheduler = kiln::SchedulerKind(getScheduler());
  s.stepSize = getStepSize();
  s.gamma = getGamma().convertToDouble();
  s.tMax = getTMax();
  s.etaMin = getEtaMin().convertToDouble();
  s.batch = getBatch();
  s.epochs = getEpochs();
  s.seed = getSeed();
  s.shuffle = getShuffle();
  return s;
}

void TrainAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyOptimizer(getOptimizer());
  auto real = [&](StringRef key, const llvm::APFloat &value) {
    printer << ", " << key << " = ";
    printReal(printer, value);
  };
  real("lr", getLr());
  real("momentum", getMomentum());
  real("weight_decay", getWeightDecay());
  real("beta1", getBeta1());
  real("beta2", getBeta2());
  real("eps", getEps());
  // The settings most models leave alone print only where they are set.
  if (getNesterov())
    printer << ", nesterov = true";
  if (getOptimizer() == Optimizer::RMSprop)
    real("alpha", getAlpha());
  if (!getClipGradNorm().isZero())
    real("clip_grad_norm", getClipGradNorm());
  switch (getScheduler()) {
  case Scheduler::None:
    break;
  case Scheduler::StepLR:
    printer << ", scheduler = StepLR, step_size = " << getStepSize();
    real("gamma", getGamma());
    break;
  case Scheduler::CosineAnnealingLR:
    printer << ", scheduler = CosineAnnealingLR, t_max = " << getTMax();
    real("eta_min", getEtaMin());
    break;
  }
  printer << ", batch = " << getBatch() << ", epochs = " << getEpochs() << ", seed = " << getSeed()
          << ", shuffle = " << (getShuffle() ? "true" : "false") << '>';
}

LogicalResult TrainAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                Optimizer optimizer, llvm::APFloat lrValue,
                                llvm::APFloat momentumValue, llvm::APFloat weightDecayValue,
                                llvm::APFloat beta1Value, llvm::APFloat beta2Value,
                                llvm::APFloat epsValue, bool nesterov, llvm::APFloat alphaValue,
                                llvm::APFloat clipValue, Scheduler, int64_t stepSize,
                                llvm::APFloat gammaValue, int64_t tMax,
                                llvm::APFloat etaMinValue, int64_t batch, int64_t epochs,
                                uint64_t, bool) {
  // The train block's rules (frontend/SemaTrain.cpp), so IR written by hand
  // cannot ask the runtime for what a model file cannot.
  for (auto [key, value] : {std::pair<const char *, const llvm::APFloat &>{"lr", lrValue},
                            {"momentum", momentumValue},
                            {"weight_decay", weightDecayValue},
                            {"eps", epsValue},
                            {"clip_grad_norm", clipValue},
                            {"gamma", gammaValue},
                            {"eta_min", etaMinValue}}) {
    double v = value.convertToDouble();
    if (!(v >= 0) || !std::isfinite(v))
      return emitError() << "#kiln.train's " << key << " must be >= 0, got " << v;
  }
  for (auto [key, value] : {std::pair<const char *, const llvm::APFloat &>{"beta1", beta1Value},
                            {"beta2", beta2Value},
                            {"alpha", alphaValue}}) {
    double v = value.convertToDouble();
    if (!(v >= 0 && v < 1))
      return emitError() << "#kiln.train's " << key << " must be in [0, 1), got " << v;
  }
  if (nesterov && (optimizer != Optimizer::SGD || momentumValue.isZero()))
    return emitError() << "#kiln.train's nesterov needs SGD with a momentum above 0";
  if (batch < 1 || epochs < 1 || stepSize < 1 || tMax < 1)
    return emitError() << "#kiln.train's batch, epochs, step_size and t_max must be >= 1, got "
                       << batch << ", " << epochs << ", " << stepSize << " and " << tMax;
  return success();
}

//===----------------------------------------------------------------------===//
// Where each attribute may appear
//===----------------------------------------------------------------------===//

static bool isArgRole(Attribute role) {
  return isa<InputAttr, TargetAttr, ParamAttr, BufferAttr, StateAttr, HyperAttr>(role);
}

static bool isResultRole(Attribute role) {
  return isa<OutputAttr, LossAttr, MetricAttr, GradAttr, ParamAttr, BufferAttr, StateAttr>(role);
}

/// The type of argument or result `index` of `op` when it is a function
/// whose signature says so; null otherwise.
static Type signatureType(Operation *op, unsigned index, bool result) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return {};
  ArrayRef<Type> types = result ? func.getResultTypes() : func.getArgumentTypes();
  return index < types.size() ? types[index] : Type();
}

/// Checks the tensor a role names while it is still a tensor (lowering
/// turns arguments into buffers and descriptors; those keep their roles).
static LogicalResult verifyRoleType(Operation *op, Attribute role, Type type, const Twine &what) {
  auto tensor = dyn_cast_or_null<RankedTensorType>(type);
  if (!tensor)
    return success();
  InitAttrInterface init = isa<ParamAttr>(role)    ? cast<ParamAttr>(role).getInit()
                           : isa<BufferAttr>(role) ? cast<BufferAttr>(role).getInit()
                                                   : InitAttrInterface();
  if (isa_and_present<UniformAttr, NormalAttr>(init) && !isa<FloatType>(tensor.getElementType()))
    return op->emitOpError() << what << ": a " << tensor << " parameter cannot start from "
                             << init;
  if (isa<HyperAttr>(role) && tensor != RankedTensorType::get({}, Float64Type::get(op->getContext())))
    return op->emitOpError() << what << ": a hyperparameter is a tensor<f64>, not " << tensor;
  if (isa<LossAttr, MetricAttr>(role) && tensor.getRank() != 0)
    return op->emitOpError() << what << ": a loss or metric is a 0-d tensor, not " << tensor;
  return success();
}

static LogicalResult verifyRole(Operation *op, unsigned index, NamedAttribute attr, bool result) {
  std::string what = (llvm::Twine(result ? "result #" : "argument #") + Twine(index)).str();
  if (attr.getName() != kRoleAttrName)
    return op->emitOpError() << what << " has the unknown attribute '" << attr.getName().getValue()
                             << "'; the kiln dialect's argument and result attribute is '"
                             << kRoleAttrName << "'";
  if (!isa<FunctionOpInterface>(op))
    return op->emitOpError() << "'" << kRoleAttrName
                             << "' belongs on a function's arguments and results";
  Attribute role = attr.getValue();
  // buffer-results-to-out-params turns results into buffer arguments that
  // keep their roles: on an argument that is no longer a tensor, a result's
  // role says which result the caller's buffer receives.
  Type type = signatureType(op, index, result);
  bool outParam = !result && type && !isa<TensorType>(type) && isResultRole(role);
  if (outParam)
    return success();
  if (result ? !isResultRole(role) : !isArgRole(role))
    return op->emitOpError()
           << what << ": '" << kRoleAttrName << "' of "
           << (result ? "a result is #kiln.output, #kiln.loss, #kiln.metric, #kiln.grad, "
                        "#kiln.param or #kiln.state"
                      : "an argument is #kiln.input, #kiln.target, #kiln.param, #kiln.state "
                        "or #kiln.hyper")
           << ", not " << role;
  return verifyRoleType(op, role, type, what);
}

} // namespace kiln::ir

LogicalResult KilnDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  if (name == kModelAttrName || name == kTrainAttrName) {
    if (!isa<ModuleOp>(op))
      return op->emitOpError() << "'" << name << "' belongs on the module";
    if (name == kModelAttrName && !isa<StringAttr>(value))
      return op->emitOpError() << "'" << name << "' is the model's name, a string, not " << value;
    if (name == kTrainAttrName && !isa<TrainAttr>(value))
      return op->emitOpError() << "'" << name << "' is a #kiln.train<...>, not " << value;
    return success();
  }
  if (name == kWorkspaceAttrName) {
    auto plan = dyn_cast<DictionaryAttr>(value);
    if (!isa<ModuleOp>(op))
      return op->emitOpError() << "'" << name << "' belongs on the module";
    if (!plan || plan.size() != 2 || !plan.getAs<IntegerAttr>("fixed_bytes") ||
        !plan.getAs<IntegerAttr>("per_sample_bytes"))
      return op->emitOpError() << "'" << name
                               << "' is {fixed_bytes = N : i64, per_sample_bytes = N : i64}, not "
                               << value;
    return success();
  }
  if (name == kEntryAttrName) {
    if (!isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << name << "' belongs on a function";
    if (!isa<EntryAttr>(value))
      return op->emitOpError() << "'" << name
                               << "' is #kiln.entry<forward|loss|loss_grad|train_step>, not "
                               << value;
    return success();
  }
  if (name == kWindowProductAttrName) {
    auto window = dyn_cast<DictionaryAttr>(value);
    if (op->getName().getStringRef() != "linalg.generic")
      return op->emitOpError() << "'" << name << "' belongs on a linalg.generic";
    auto pair = [&](StringRef field) {
      auto values = window ? window.getAs<DenseI64ArrayAttr>(field) : DenseI64ArrayAttr();
      return values && values.size() == 2;
    };
    size_t fields = window ? window.size() - (window.get("rows") ? 1 : 0) : 0;
    if (!pair("kernel") || !pair("stride") || !pair("padding") || fields != 3 ||
        (window.get("rows") && !window.getAs<UnitAttr>("rows")))
      return op->emitOpError() << "'" << name
                               << "' is {kernel, stride, padding = array<i64: a, b>, rows?}, not "
                               << value;
    return success();
  }
  if (name == kRoleAttrName)
    return op->emitOpError() << "'" << name
                             << "' belongs on a function's arguments and results, not on an "
                                "operation";
  return op->emitOpError() << "has the unknown attribute '" << name << "'; the kiln dialect's are '"
                           << kModelAttrName << "', '" << kTrainAttrName << "', '" << kWorkspaceAttrName
                           << "' (on the module), '" << kEntryAttrName << "' (on a function) and '"
                           << kWindowProductAttrName << "' (on a linalg.generic)";
}

LogicalResult KilnDialect::verifyRegionArgAttribute(Operation *op, unsigned, unsigned argIndex,
                                                    NamedAttribute attr) {
  return verifyRole(op, argIndex, attr, /*result=*/false);
}

LogicalResult KilnDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                       unsigned resultIndex, NamedAttribute attr) {
  return verifyRole(op, resultIndex, attr, /*result=*/true);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace kiln::ir {

std::optional<Entry> getEntry(Operation *op) {
  if (auto entry = op->getAttrOfType<EntryAttr>(kEntryAttrName))
    return entry.getValue();
  return std::nullopt;
}

void setEntry(Operation *op, Entry entry) {
  op->setAttr(kEntryAttrName, EntryAttr::get(op->getContext(), entry));
}

FailureOr<FunctionOpInterface> lookupEntry(ModuleOp module, Entry entry) {
  FunctionOpInterface found;
  for (auto func : module.getOps<FunctionOpInterface>()) {
    if (getEntry(func) != entry)
      continue;
    if (found)
      return func.emitError() << "a second function marked #kiln.entry<"
                              << stringifyEntry(entry) << "> (the first is @" << found.getName()
                              << ")";
    found = func;
  }
  return found;
}

Attribute getArgRole(FunctionOpInterface func, unsigned i) {
  return func.getArgAttr(i, kRoleAttrName);
}

Attribute getResultRole(FunctionOpInterface func, unsigned i) {
  return func.getResultAttr(i, kRoleAttrName);
}

bool isUpdateRole(Attribute role) { return isa_and_nonnull<ParamAttr, BufferAttr, StateAttr>(role); }

BlockArgument updatedArgument(FunctionOpInterface func, unsigned result) {
  Attribute role = getResultRole(func, result);
  if (!isUpdateRole(role))
    return nullptr;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    Attribute argRole = getArgRole(func, i);
    if (argRole && argRole.getTypeID() == role.getTypeID() && roleName(argRole) == roleName(role))
      return func.getArgument(i);
  }
  return nullptr;
}

DictionaryAttr roleDict(Attribute role) {
  Builder b(role.getContext());
  return b.getDictionaryAttr(b.getNamedAttr(kRoleAttrName, role));
}

StringRef roleName(Attribute role) {
  return llvm::TypeSwitch<Attribute, StringRef>(role)
      .Case<InputAttr, TargetAttr, ParamAttr, BufferAttr, StateAttr, OutputAttr, MetricAttr,
            GradAttr>(
          [](auto named) { return named.getName(); })
      .Case([](HyperAttr hyper) { return stringifyHyper(hyper.getValue()); })
      .Default([](Attribute) { return StringRef(); });
}

} // namespace kiln::ir
