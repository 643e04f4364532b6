// Semantic analysis, inside: what the Sema*.cpp files share.
//
// One class, Sema, whose members are defined by concern:
//   Sema.cpp             entry points, nodes, message helpers
//   SemaBuiltins.cpp     the builtins table (Builtins.def), signatures, arguments
//   SemaExpressions.cpp  numbers, names, operators, literals, calls
//   SemaFunctions.cpp    the functions' rules
//   SemaLayers.cpp       the layers' rules: construction and application
//   SemaDeclarations.cpp the model's items: inputs, targets, params, named values
//   SemaTrain.cpp        the train block
//   SemaSpellings.cpp    PyTorch spellings: module prefixes (nn.Linear),
//                        methods and attributes (x.view, x.T), advice
// The typing rules are written down for users in docs/language.md; each rule
// is short and says which PyTorch behaviour it copies.
#pragma once

#include "frontend/AST.h"
#include "frontend/Frontend.h"
#include "common/ExecutableFlags.h"
#include "common/Shapes.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kiln::sema {

using shapes::Shape;

/// A name or text shortened for a message, and quoted: 'name'.
std::string clip(const std::string &s);
std::string quote(const std::string &s);
/// A number as a message shows it (%g).
std::string numberText(double v);
/// Whether the number `v` keeps its value as a `dtype` constant: integers
/// travel as doubles (exact up to 2^53), and a cast to an integer drops the
/// fraction, as torch's does.
bool fitsDType(double v, DType dtype);
/// "the number NUMBER does not fit in DTYPE ...".
std::string doesNotFit(const std::string &number, DType dtype);
/// "; did you mean 'NAME'?" for the closest candidate, or "".
std::string suggest(const std::string &name, const std::vector<std::string> &candidates);
/// "a, b or c".
std::string choiceList(const std::vector<std::string> &choices);
/// What to write in Kiln for a PyTorch name it does not have ("write x ** p"
/// for pow), or "".
std::string pytorchAdvice(const std::string &name);

//===--------------------------------------------------------------------===//
// The builtins table (Builtins.def).
//===--------------------------------------------------------------------===//

class Sema;
struct Value;
struct Layer;
struct Call;

/// One parameter of a builtin's signature: positional order, keyword name,
/// PyTorch's keyword name, default (as PyTorch's).
struct Param {
  const char *name;
  const char *dflt = nullptr;         // shown in messages; null: required
  bool tensor = false;                // a tensor operand, evaluated before the rule
  const char *pytorchAlias = nullptr; // a second accepted keyword, or null
  Param alias(const char *keyword) const {
    Param p = *this;
    p.pytorchAlias = keyword;
    return p;
  }
};

inline Param tensor(const char *name) { return {name, nullptr, true}; }
inline Param arg(const char *name, const char *dflt = nullptr) { return {name, dflt}; }

/// What a builtin needs of its first tensor's dtype.
enum class Needs { AnyDType, FloatTensor, FloatPredictions, FloatLogits };

enum class BuiltinKind { Function, Layer, Optimizer, Scheduler, Initializer };

using FunctionRule = Value (Sema::*)(const Call &);
using LayerBuild = bool (Sema::*)(Layer &, const Call &);
using LayerApply = int (Sema::*)(const Layer &, int x, const Span &at);
using InitRule = std::optional<Init> (Sema::*)(const Call &);

/// One row of Builtins.def.
struct Builtin {
  BuiltinKind kind;
  const char *name;
  const char *op = "";                // the kiln op it makes ("" for none)
  Needs needs = Needs::AnyDType;
  std::vector<Param> params;
  bool variadic = false;              // a container: layers...
  FunctionRule rule = nullptr;        // Function
  LayerBuild build = nullptr;         // Layer
  LayerApply apply = nullptr;         // Layer
  InitRule init = nullptr;            // Initializer
  OptimizerKind optimizer{};          // Optimizer
  SchedulerKind scheduler{};          // Scheduler
};

/// Every builtin of one kind, in the table's order.
const std::vector<Builtin> &builtins(BuiltinKind kind);
const Builtin *findBuiltin(BuiltinKind kind, const std::string &name);
std::vector<std::string> builtinNames(BuiltinKind kind);
/// As messages show a signature: "max(x, dim, keepdim=false)".
std::string signatureText(const Builtin &b);

//===--------------------------------------------------------------------===//
// Values during analysis.
//===--------------------------------------------------------------------===//

struct Value {
  enum Kind { Poison, Number, Bool, Tensor, Layer } kind = Poison;
  bool isFloat = false; // Number
  int64_t i = 0;        // Number, !isFloat
  double f = 0;         // Number (also set for ints)
  bool b = false;
  int node = -1;  // Tensor
  int layer = -1; // Layer

  static Value number(int64_t v) {
    Value x;
    x.kind = Number;
    x.i = v;
    x.f = static_cast<double>(v);
    return x;
  }
  static Value real(double v) {
    Value x;
    x.kind = Number;
    x.isFloat = true;
    x.f = v;
    return x;
  }
  static Value tensor(int n) {
    Value x;
    x.kind = n >= 0 ? Tensor : Poison;
    x.node = n;
    return x;
  }
};

/// A constructed layer; its parameters are nodes already.
struct Layer {
  const Builtin *builtin = nullptr; // its row: Linear, ...
  std::string name; // state_dict prefix: "net.2"
  std::string desc; // as a user would write it: "Linear(256, 10)"
  Span span;
  std::vector<int64_t> ints; // per layer, see its build rule
  std::vector<double> reals; // buildNumbers: each parameter, an attribute of the op
  double p = 0;
  bool bias = true;
  std::vector<int> params;   // node indices
  std::vector<int> children; // a container's layers
  std::string label() const { return name + " = " + desc; }
};

/// A call of a builtin, its arguments bound to the parameters.
struct Call {
  const Builtin &builtin;
  const Expr &expr;
  std::vector<const Expr *> args; // per parameter; null where left to its default
  std::vector<int> tensors;       // the tensor parameters' nodes, in order
  const Span &span() const { return expr.span; }
  std::string name() const { return builtin.name; }
};

struct Symbol {
  Value value;
  Span def;
};

class Sema {
public:
  // Errors already reported (by the parser) when analysis starts.
  explicit Sema(Diagnostics &diags) : diags(diags), parseErrors(diags.errorCount()) {}
  std::optional<Model> run(const File &file);

  // Sema.cpp: nodes.
  int addNode(OpKind kind, std::vector<int> operands, TensorType type, const Span &at);
  /// An Operation node making `kiln.<op>`.
  int addOp(const std::string &op, std::vector<int> operands, TensorType type, const Span &at,
            std::vector<OpAttr> attrs = {});
  const TensorType &typeOf(int i) const { return model.nodes[i].type; }
  int constant(double v, DType dtype, const Span &at);
  int makeParam(const std::string &name, Shape shape, Init init, const Span &at);
  /// A buffer: a param that is saved and loaded but never trained.
  int makeBuffer(const std::string &name, TensorType type, Init init, const Span &at);
  void error(const Span &at, const std::string &message) {
    diags.error(at.loc, message, at.length());
  }

  // SemaBuiltins.cpp: binding a call to a signature and reading its arguments.
  bool bind(const Expr &call, const Builtin &b, std::vector<const Expr *> &args);
  std::optional<Value> scalarArg(const Expr *e, bool (*accepted)(const Value &),
                                 const char *expected, const char *what);
  std::optional<int64_t> intArg(const Expr *e, const char *what);
  std::optional<double> realArg(const Expr *e, const char *what);
  std::optional<bool> boolArg(const Expr *e, const char *what);
  std::optional<Shape> shapeArg(const Expr *e, bool allowInferred);
  std::optional<std::pair<int64_t, int64_t>> pairArg(const Expr *e, const char *what,
                                                     int64_t least);
  std::optional<int64_t> dimArg(const Expr *e, int64_t rank, const char *what);
  // Parameter k of a call, or its default from the table.
  std::optional<int64_t> intParam(const Call &c, size_t k);
  std::optional<double> realParam(const Call &c, size_t k);
  std::optional<bool> boolParam(const Call &c, size_t k);
  std::optional<std::pair<int64_t, int64_t>> pairParam(const Call &c, size_t k, int64_t least);

  // SemaExpressions.cpp.
  Value eval(const Expr &e);
  Value evalName(const Expr &e);
  Value evalBinary(const Expr &e);
  Value evalCall(const Expr &e);
  Value evalTensorLiteral(const Expr &e);
  Value foldNumbers(const Expr &e, const Value &l, const Value &r);
  int toTensor(const Value &v, const Expr &e);
  int tensorArg(const Expr *e);
  int numberFor(const Value &v, DType dtype, const Expr &e);
  /// Whether the number `v` may meet a tensor of `dtype` (reported at `e`).
  bool numberFits(const Value &v, DType dtype, const Expr &e);
  /// `a OP b` for tensors a and b: + - * / and @ (also matmul(a, b)).
  Value applyBinary(char op, int a, int b, const Span &at);
  Value evalPower(const Expr &e);
  Value foldPower(const Expr &e, const Value &l, const Value &r);
  Value evalIndex(const Expr &e);

  // SemaSpellings.cpp: what a PyTorch user writes that Kiln spells otherwise.
  /// The builtin a call names: its callee's name, or the last name of a
  /// module path (nn.Linear: Linear, reported once as needing no prefix).
  std::string callName(const Expr &call);
  /// A call's callee as written ("nn.Linear", "relu").
  std::string calleeText(const Expr &call);
  std::string sourceText(const Span &s);
  Value evalMember(const Expr &e);
  Value evalMethodCall(const Expr &e);

  // SemaFunctions.cpp: a function call, and the rules Builtins.def names.
  Value evalFunction(const Expr &e, const Builtin &fn);
  bool hasNeededDType(const Call &c);
  int flattenNode(int x, int64_t start, int64_t end, const Span &at, const Expr *startE,
                  const std::string &op);
  Value unary(const Call &c);
  Value cast(const Call &c);
  Value softmaxLike(const Call &c);
  Value reduce(const Call &c);
  Value reduceDim(const Call &c);
  Value argReduceDim(const Call &c);
  Value reduceAlongDim(const Call &c, DType result);
  Value transpose(const Call &c);
  Value reshape(const Call &c);
  Value flatten(const Call &c);
  Value concat(const Call &c);
  Value fillWithZeros(const Call &c);
  Value fillWithOnes(const Call &c);
  Value fillWithValue(const Call &c);
  Value sameShapeLoss(const Call &c);
  Value classIndexLoss(const Call &c);
  Value matmul(const Call &c);
  Value clamp(const Call &c);

  // SemaLayers.cpp: constructing a layer, applying it, and the rules.
  int buildLayer(const Expr &call, const std::string &prefix);
  int applyLayer(int layer, int x, const Span &at);
  bool layerSizes(const Call &c, int64_t &in, int64_t &out);
  bool buildLinear(Layer &L, const Call &c);
  bool buildConv2d(Layer &L, const Call &c);
  bool buildPool2d(Layer &L, const Call &c);
  bool buildFlatten(Layer &L, const Call &c);
  bool buildNoArgs(Layer &L, const Call &c);
  bool buildSoftmax(Layer &L, const Call &c);
  bool buildDropout(Layer &L, const Call &c);
  bool buildBatchNorm(Layer &L, const Call &c);
  bool buildRNN(Layer &L, const Call &c);
  bool buildSequential(Layer &L, const Call &c);
  bool buildNumbers(Layer &L, const Call &c);
  int applyLinear(const Layer &L, int x, const Span &at);
  int applyConv2d(const Layer &L, int x, const Span &at);
  int applyPool2d(const Layer &L, int x, const Span &at);
  int applyFlatten(const Layer &L, int x, const Span &at);
  int applyElementwise(const Layer &L, int x, const Span &at);
  int applySoftmax(const Layer &L, int x, const Span &at);
  int applyDropout(const Layer &L, int x, const Span &at);
  int applyBatchNorm(const Layer &L, int x, const Span &at);
  int applyRNN(const Layer &L, int x, const Span &at);
  int applySequential(const Layer &L, int x, const Span &at);

  // SemaDeclarations.cpp: the model's items, and the initializers' rules.
  void declare(const std::string &name, const Span &at, Value v);
  bool checkNewName(const std::string &name, const Span &at);
  void declareData(const Item &item);
  void declareParam(const Item &item);
  void declareLet(const Item &item);
  void declareResult(const Item &item);
  std::optional<DType> scalarDType() const;
  std::optional<Init> initializer(const Expr &e);
  std::optional<TensorType> declaredType(const TypeExpr &t, bool data, const char *what);
  std::optional<Init> initZeros(const Call &c);
  std::optional<Init> initOnes(const Call &c);
  std::optional<Init> initUniform(const Call &c);
  std::optional<Init> initNormal(const Call &c);

  // SemaTrain.cpp.
  void checkTrain(const File &file);
  void checkOptimizer(const Expr &e);
  void checkScheduler(const Expr &e);

  Diagnostics &diags;
  int parseErrors;
  Model model;
  std::vector<bool> needsTarget; // per node: depends on a target
  std::vector<Layer> layerTable;
  std::map<std::string, Symbol> symbols;
  std::map<std::string, Span> laterNames; // every name the model defines
  std::string batchSymbol;
  const Item *lossItem = nullptr;         // the first loss item seen
  std::set<const Expr *> prefixReported;  // calls whose module prefix was reported
};

} // namespace kiln::sema
