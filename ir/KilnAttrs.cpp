// The kiln dialect's attributes: assembly, verifiers, and where each one
// may appear (the dialect's operation, argument and result attribute hooks).
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"

#include "mlir/IR/Builders.h"
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

Attribute ParamAttr::parse(AsmParser &parser, Type) {
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
  return ParamAttr::get(parser.getContext(), name, init);
}

void ParamAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printer.printString(getName());
  if (getInit()) {
    printer << ", ";
    (void)generatedAttributePrinter(getInit(), printer);
  }
  printer << '>';
}

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
    return (parser.emitError(start, "expected the optimizer, SGD or Adam, got '")
                << optimizerName << "'",
            Attribute());
  std::optional<double> lr;
  double momentum = 0, weightDecay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t batch = 64, epochs = 1;
  uint64_t seed = 0;
  bool shuffle = true;
  llvm::StringSet<> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second)
      return (parser.emitError(loc, "'") << key << "' is given twice", Attribute());
    auto real = [&](double &value) { return parseReal(parser, value); };
    ParseResult result = failure();
    if (key == "lr") {
      lr = 0;
      result = real(*lr);
    } else if (key == "momentum") {
      result = real(momentum);
    } else if (key == "weight_decay") {
      result = real(weightDecay);
    } else if (key == "beta1") {
      result = real(beta1);
    } else if (key == "beta2") {
      result = real(beta2);
    } else if (key == "eps") {
      result = real(eps);
    } else if (key == "batch") {
      result = parser.parseInteger(batch);
    } else if (key == "epochs") {
      result = parser.parseInteger(epochs);
    } else if (key == "seed") {
      result = parser.parseInteger(seed);
    } else if (key == "shuffle") {
      StringRef flag;
      SMLoc flagLoc = parser.getCurrentLocation();
      result = parser.parseKeyword(&flag);
      if (succeeded(result) && flag != "true" && flag != "false")
        return (parser.emitError(flagLoc, "expected true or false"), Attribute());
      shuffle = flag == "true";
    } else {
      return (parser.emitError(loc, "unknown train setting '")
                  << key << "'; expected lr, momentum, weight_decay, beta1, beta2, eps, "
                            "batch, epochs, seed or shuffle",
              Attribute());
    }
    if (failed(result))
      return {};
  }
  if (parser.parseGreater())
    return {};
  if (!lr)
    return (parser.emitError(start, "#kiln.train needs lr"), Attribute());
  using llvm::APFloat;
  return parser.getChecked<TrainAttr>(start, parser.getContext(), *optimizer, APFloat(*lr),
                                      APFloat(momentum), APFloat(weightDecay), APFloat(beta1),
                                      APFloat(beta2), APFloat(eps), batch, epochs, seed, shuffle);
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
  printer << ", batch = " << getBatch() << ", epochs = " << getEpochs() << ", seed = " << getSeed()
          << ", shuffle = " << (getShuffle() ? "true" : "false") << '>';
}

LogicalResult TrainAttr::verify(function_ref<InFlightDiagnostic()> emitError, Optimizer,
                                llvm::APFloat lrValue, llvm::APFloat momentumValue,
                                llvm::APFloat weightDecayValue,
                                llvm::APFloat beta1Value, llvm::APFloat beta2Value,
                                llvm::APFloat epsValue, int64_t batch, int64_t epochs,
                                uint64_t, bool) {
  double lr = lrValue.convertToDouble(), momentum = momentumValue.convertToDouble(),
         weightDecay = weightDecayValue.convertToDouble(), beta1 = beta1Value.convertToDouble(),
         beta2 = beta2Value.convertToDouble(), eps = epsValue.convertToDouble();
  // The train block's rules (frontend/Sema.cpp), so IR written by hand
  // cannot ask the runtime for what a model file cannot.
  for (auto [key, value] : {std::pair<const char *, double>{"lr", lr},
                            {"momentum", momentum},
                            {"weight_decay", weightDecay},
                            {"eps", eps}})
    if (!(value >= 0) || !std::isfinite(value))
      return emitError() << "#kiln.train's " << key << " must be >= 0, got " << value;
  for (auto [key, value] :
       {std::pair<const char *, double>{"beta1", beta1}, {"beta2", beta2}})
    if (!(value >= 0 && value < 1))
      return emitError() << "#kiln.train's " << key << " must be in [0, 1), got " << value;
  if (batch < 1 || epochs < 1)
    return emitError() << "#kiln.train's batch and epochs must be >= 1, got " << batch << " and "
                       << epochs;
  return success();
}

//===----------------------------------------------------------------------===//
// Where each attribute may appear
//===----------------------------------------------------------------------===//

static bool isArgRole(Attribute role) {
  return isa<InputAttr, TargetAttr, ParamAttr, StateAttr, HyperAttr>(role);
}

static bool isResultRole(Attribute role) {
  return isa<OutputAttr, LossAttr, MetricAttr, GradAttr, ParamAttr, StateAttr>(role);
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
  auto param = dyn_cast<ParamAttr>(role);
  if (param && isa_and_present<UniformAttr, NormalAttr>(param.getInit()) &&
      !isa<FloatType>(tensor.getElementType()))
    return op->emitOpError() << what << ": a " << tensor << " parameter cannot start from "
                             << param.getInit();
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
  if (name == kEntryAttrName) {
    if (!isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << name << "' belongs on a function";
    if (!isa<EntryAttr>(value))
      return op->emitOpError() << "'" << name
                               << "' is #kiln.entry<forward|loss|loss_grad|train_step>, not "
                               << value;
    return success();
  }
  if (name == kRoleAttrName)
    return op->emitOpError() << "'" << name
                             << "' belongs on a function's arguments and results, not on an "
                                "operation";
  return op->emitOpError() << "has the unknown attribute '" << name << "'; the kiln dialect's are '"
                           << kModelAttrName << "', '" << kTrainAttrName << "' (on the module) and '"
                           << kEntryAttrName << "' (on a function)";
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

DictionaryAttr roleDict(Attribute role) {
  Builder b(role.getContext());
  return b.getDictionaryAttr(b.getNamedAttr(kRoleAttrName, role));
}

StringRef roleName(Attribute role) {
  return llvm::TypeSwitch<Attribute, StringRef>(role)
      .Case<InputAttr, TargetAttr, ParamAttr, StateAttr, OutputAttr, MetricAttr, GradAttr>(
          [](auto named) { return named.getName(); })
      .Case([](HyperAttr hyper) { return stringifyHyper(hyper.getValue()); })
      .Default([](Attribute) { return StringRef(); });
}

} // namespace kiln::ir
