// Semantic analysis: names, dtypes, shapes, layer expansion, diagnostics.
//
// The typing rules are written down for users in docs/language.md; each rule
// here is short and says which PyTorch behaviour it copies.
#include "frontend/Sema.h"

#include "frontend/Parser.h"
#include "common/Shapes.h"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace kiln {

namespace {

using shapes::Shape;

std::string clip(const std::string &s) { return s.size() <= 40 ? s : s.substr(0, 37) + "..."; }
std::string quote(const std::string &s) { return "'" + clip(s) + "'"; }

std::string numberText(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Levenshtein distance, for "did you mean" (short names only).
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggest(const std::string &name, const std::vector<std::string> &candidates) {
  if (name.size() > 64)
    return "";
  std::string best;
  size_t bestDist = 3;
  for (const std::string &c : candidates) {
    size_t d = editDistance(name, c);
    if (d < bestDist && d < c.size()) {
      bestDist = d;
      best = c;
    }
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

//===--------------------------------------------------------------------===//
// Signatures: positional order, keyword names, defaults (as PyTorch's).
//===--------------------------------------------------------------------===//

struct ParamSpec {
  const char *name;  // keyword name
  const char *alias; // a second accepted keyword (PyTorch's own name), or null
  const char *dflt;  // shown in messages; null: required
};

struct Signature {
  const char *name;
  std::vector<ParamSpec> params;
  bool variadic = false; // Sequential
};

const std::vector<Signature> &functions() {
  static const std::vector<Signature> table = {
      {"relu", {{"x", nullptr, nullptr}}},
      {"sigmoid", {{"x", nullptr, nullptr}}},
      {"tanh", {{"x", nullptr, nullptr}}},
      {"exp", {{"x", nullptr, nullptr}}},
      {"log", {{"x", nullptr, nullptr}}},
      {"sqrt", {{"x", nullptr, nullptr}}},
      {"abs", {{"x", nullptr, nullptr}}},
      {"neg", {{"x", nullptr, nullptr}}},
      {"f32", {{"x", nullptr, nullptr}}},
      {"f64", {{"x", nullptr, nullptr}}},
      {"i32", {{"x", nullptr, nullptr}}},
      {"i64", {{"x", nullptr, nullptr}}},
      {"u8", {{"x", nullptr, nullptr}}},
      {"softmax", {{"x", nullptr, nullptr}, {"dim", nullptr, "-1"}}},
      {"log_softmax", {{"x", nullptr, nullptr}, {"dim", nullptr, "-1"}}},
      {"sum", {{"x", nullptr, nullptr}, {"dim", nullptr, "ALL"}, {"keepdim", nullptr, "false"}}},
      {"mean", {{"x", nullptr, nullptr}, {"dim", nullptr, "ALL"}, {"keepdim", nullptr, "false"}}},
      {"max", {{"x", nullptr, nullptr}, {"dim", nullptr, nullptr}, {"keepdim", nullptr, "false"}}},
      {"argmax",
       {{"x", nullptr, nullptr}, {"dim", nullptr, nullptr}, {"keepdim", nullptr, "false"}}},
      {"transpose", {{"x", nullptr, nullptr}, {"d0", "dim0", "-2"}, {"d1", "dim1", "-1"}}},
      {"reshape", {{"x", nullptr, nullptr}, {"shape", nullptr, nullptr}}},
      {"flatten",
       {{"x", nullptr, nullptr}, {"start_dim", nullptr, "1"}, {"end_dim", nullptr, "-1"}}},
      {"concat", {{"tensors", nullptr, nullptr}, {"dim", nullptr, "0"}}},
      {"zeros", {{"shape", nullptr, nullptr}}},
      {"ones", {{"shape", nullptr, nullptr}}},
      {"full", {{"shape", nullptr, nullptr}, {"value", "fill_value", nullptr}}},
      {"mse", {{"pred", "input", nullptr}, {"target", nullptr, nullptr}}},
      {"cross_entropy", {{"logits", "input", nullptr}, {"target", nullptr, nullptr}}},
      {"bce_with_logits", {{"logits", "input", nullptr}, {"target", nullptr, nullptr}}},
      {"accuracy", {{"logits", "input", nullptr}, {"target", nullptr, nullptr}}},
  };
  return table;
}

const std::vector<Signature> &layers() {
  static const std::vector<Signature> table = {
      {"Linear", {{"in", "in_features", nullptr}, {"out", "out_features", nullptr},
                  {"bias", nullptr, "true"}}},
      {"Conv2d", {{"in", "in_channels", nullptr}, {"out", "out_channels", nullptr},
                  {"kernel", "kernel_size", nullptr}, {"stride", nullptr, "1"},
                  {"padding", nullptr, "0"}, {"bias", nullptr, "true"}}},
      {"MaxPool2d", {{"kernel", "kernel_size", nullptr}, {"stride", nullptr, "kernel"},
                     {"padding", nullptr, "0"}}},
      {"AvgPool2d", {{"kernel", "kernel_size", nullptr}, {"stride", nullptr, "kernel"},
                     {"padding", nullptr, "0"}}},
      {"Flatten", {{"start_dim", nullptr, "1"}, {"end_dim", nullptr, "-1"}}},
      {"ReLU", {}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"Softmax", {{"dim", nullptr, "-1"}}},
      {"Dropout", {{"p", nullptr, "0.5"}}},
      {"RNN", {{"in", "input_size", nullptr}, {"hidden", "hidden_size", nullptr}}},
      {"Sequential", {}, true},
  };
  return table;
}

const std::vector<Signature> &others() {
  static const std::vector<Signature> table = {
      {"SGD", {{"lr", nullptr, nullptr}, {"momentum", nullptr, "0"},
               {"weight_decay", nullptr, "0"}}},
      {"Adam", {{"lr", nullptr, "0.001"}, {"beta1", nullptr, "0.9"}, {"beta2", nullptr, "0.999"},
                {"eps", nullptr, "1e-8"}, {"weight_decay", nullptr, "0"}}},
      {"uniform", {{"lo", "a", "0"}, {"hi", "b", "1"}}},
      {"normal", {{"mean", nullptr, "0"}, {"std", nullptr, "1"}}},
      {"zeros", {}},
      {"ones", {}},
  };
  return table;
}

const Signature *find(const std::vector<Signature> &table, const std::string &name) {
  for (const Signature &s : table)
    if (name == s.name)
      return &s;
  return nullptr;
}

std::string signatureText(const Signature &sig) {
  std::string s = std::string(sig.name) + "(";
  for (size_t i = 0; i < sig.params.size(); ++i) {
    s += i ? ", " : "";
    s += sig.params[i].name;
    if (sig.params[i].dflt)
      s += std::string("=") + sig.params[i].dflt;
  }
  return s + (sig.variadic ? "layers...)" : ")");
}

//===--------------------------------------------------------------------===//
// Values and layers during analysis.
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

struct Layer {
  std::string type; // "Linear", ...
  std::string name; // state_dict prefix: "net.2"
  std::string desc; // as a user would write it: "Linear(256, 10)"
  Span span;
  std::vector<int64_t> ints; // per type, see buildLayer
  double p = 0;
  bool bias = true;
  std::vector<int> params;   // node indices
  std::vector<int> children; // Sequential
  std::string label() const { return name + " = " + desc; }
};

struct Symbol {
  Value value;
  Span def;
};

class Sema {
public:
  // Errors already reported (by the parser) when analysis starts.
  Sema(Diagnostics &diags) : diags(diags), parseErrors(diags.errorCount()) {}
  std::optional<Model> run(const File &file);

private:
  // Diagnostics.
  void error(const Span &at, const std::string &message) {
    diags.error(at.loc, message, at.length());
  }

  // Nodes.
  int addNode(OpKind kind, std::vector<int> operands, TensorType type, const Span &at);
  const Node &node(int i) const { return model.nodes[i]; }
  const TensorType &typeOf(int i) const { return model.nodes[i].type; }
  int constant(double v, DType dtype, const Span &at);
  int makeParam(const std::string &name, Shape shape, Init init, const Span &at);

  // Expressions.
  Value eval(const Expr &e);
  Value evalName(const Expr &e);
  Value evalBinary(const Expr &e);
  Value evalCall(const Expr &e);
  Value evalFunction(const Expr &e, const Signature &sig);
  Value evalTensorLiteral(const Expr &e);
  Value foldNumbers(const Expr &e, const Value &l, const Value &r);
  int toTensor(const Value &v, const Expr &e);
  int tensorArg(const Expr *e);
  int numberFor(const Value &v, DType dtype, const Expr &e);

  // Arguments.
  bool bind(const Expr &call, const Signature &sig, std::vector<const Expr *> &args);
  std::optional<int64_t> intArg(const Expr *e, const char *what);
  std::optional<double> realArg(const Expr *e, const char *what);
  std::optional<bool> boolArg(const Expr *e, const char *what);
  std::optional<Shape> shapeArg(const Expr *e, bool allowInferred);
  std::optional<std::pair<int64_t, int64_t>> pairArg(const Expr *e, const char *what,
                                                     int64_t least);
  std::optional<int64_t> dimArg(const Expr *e, int64_t rank, const char *what);

  // Layers.
  int buildLayer(const Expr &call, const std::string &prefix);
  int applyLayer(int layer, int x, const Span &at);
  int flattenNode(int x, int64_t start, int64_t end, const Span &at, const Expr *startE);

  // Items.
  void declare(const std::string &name, const Span &at, Value v);
  bool checkNewName(const std::string &name, const Span &at);
  void declareData(const Item &item);
  void declareParam(const Item &item);
  void checkTrain(const File &file);
  std::optional<TensorType> declaredType(const TypeExpr &t, bool data, const char *what);

  Diagnostics &diags;
  int parseErrors;
  Model model;
  std::vector<bool> needsTarget; // per node: depends on a target
  std::vector<Layer> layerTable;
  std::map<std::string, Symbol> symbols;
  std::map<std::string, Span> laterNames; // every name the model defines
  std::string batchSymbol;
};

//===--------------------------------------------------------------------===//
// Nodes
//===--------------------------------------------------------------------===//

int Sema::addNode(OpKind kind, std::vector<int> operands, TensorType type, const Span &at) {
  int64_t count = 1;
  for (int64_t d : type.shape)
    if (d != kBatch && (d < 0 || __builtin_mul_overflow(count, d, &count))) {
      error(at, "tensor " + type.str() + " has too many elements (more than 2^63)");
      return -1;
    }
  Node n;
  n.kind = kind;
  n.operands = std::move(operands);
  n.type = std::move(type);
  n.loc = at.loc;
  bool target = kind == OpKind::Target;
  for (int o : n.operands)
    target = target || needsTarget[o];
  model.nodes.push_back(std::move(n));
  needsTarget.push_back(target);
  return static_cast<int>(model.nodes.size()) - 1;
}

int Sema::constant(double v, DType dtype, const Span &at) {
  int n = addNode(OpKind::Constant, {}, {dtype, {}}, at);
  if (n >= 0)
    model.nodes[n].data = {v};
  return n;
}

int Sema::makeParam(const std::string &name, Shape shape, Init init, const Span &at) {
  int n = addNode(OpKind::Param, {}, {DType::F32, std::move(shape)}, at);
  if (n < 0)
    return -1;
  model.nodes[n].name = name;
  model.nodes[n].init = init;
  model.params.push_back(n);
  return n;
}

//===--------------------------------------------------------------------===//
// Arguments
//===--------------------------------------------------------------------===//

bool Sema::bind(const Expr &call, const Signature &sig, std::vector<const Expr *> &args) {
  args.assign(sig.params.size(), nullptr);
  if (!sig.variadic && call.args.size() > sig.params.size()) {
    const Expr &extra = *call.args[sig.params.size()];
    error(extra.span, "too many arguments to " + std::string(sig.name) + ": it takes " +
                          std::to_string(sig.params.size()) + ", got " +
                          std::to_string(call.args.size()) + " (" + signatureText(sig) + ")");
    return false;
  }
  for (size_t i = 0; i < call.args.size() && i < sig.params.size(); ++i)
    args[i] = call.args[i].get();
  for (const Kwarg &kw : call.kwargs) {
    size_t k = 0;
    while (k < sig.params.size() && kw.name != sig.params[k].name &&
           !(sig.params[k].alias && kw.name == sig.params[k].alias))
      ++k;
    if (k == sig.params.size()) {
      std::string accepted;
      for (const ParamSpec &p : sig.params) {
        accepted += (accepted.empty() ? "" : ", ") + std::string(p.name);
        if (p.alias)
          accepted += std::string(" (or ") + p.alias + ")";
      }
      error(kw.span, "unknown keyword argument " + quote(kw.name) + " for " + sig.name +
                         (accepted.empty() ? "; it takes no keyword arguments"
                                           : "; accepted: " + accepted));
      return false;
    }
    if (args[k]) {
      bool positional = k < call.args.size();
      error(kw.span, "argument '" + std::string(sig.params[k].name) + "' of " + sig.name +
                         " is given twice" + (positional ? " (by position and by keyword)" : ""));
      return false;
    }
    args[k] = kw.value.get();
  }
  for (size_t k = 0; k < sig.params.size(); ++k)
    if (!args[k] && !sig.params[k].dflt) {
      error(call.span, "missing argument '" + std::string(sig.params[k].name) + "' in call to " +
                           signatureText(sig));
      return false;
    }
  return true;
}

std::optional<int64_t> Sema::intArg(const Expr *e, const char *what) {
  Value v = eval(*e);
  if (v.kind == Value::Poison)
    return std::nullopt;
  if (v.kind == Value::Number && !v.isFloat)
    return v.i;
  error(e->span, std::string("expected an integer for '") + what + "'");
  return std::nullopt;
}

std::optional<double> Sema::realArg(const Expr *e, const char *what) {
  Value v = eval(*e);
  if (v.kind == Value::Poison)
    return std::nullopt;
  if (v.kind == Value::Number)
    return v.f;
  error(e->span, std::string("expected a number for '") + what + "'");
  return std::nullopt;
}

std::optional<bool> Sema::boolArg(const Expr *e, const char *what) {
  Value v = eval(*e);
  if (v.kind == Value::Poison)
    return std::nullopt;
  if (v.kind == Value::Bool)
    return v.b;
  error(e->span, std::string("expected true or false for '") + what + "'");
  return std::nullopt;
}

std::optional<int64_t> Sema::dimArg(const Expr *e, int64_t rank, const char *what) {
  auto d = intArg(e, what);
  if (!d)
    return std::nullopt;
  std::string err;
  auto n = shapes::normalizeDim(*d, rank, err);
  if (!n)
    error(e->span, err);
  return n;
}

std::optional<Shape> Sema::shapeArg(const Expr *e, bool allowInferred) {
  std::vector<const Expr *> elements;
  if (e->kind == Expr::List)
    for (const ExprPtr &a : e->args)
      elements.push_back(a.get());
  else
    elements.push_back(e); // zeros(3) is zeros([3]), as in PyTorch
  Shape shape;
  bool inferred = false;
  for (const Expr *d : elements) {
    if (d->kind == Expr::Name && !batchSymbol.empty() && d->text == batchSymbol) {
      shape.push_back(kBatch);
      continue;
    }
    if (d->kind == Expr::Name && !symbols.count(d->text) && d->text.size() <= 3 &&
        std::isupper(static_cast<unsigned char>(d->text[0]))) {
      error(d->span, "unknown size " + quote(d->text) +
                         (batchSymbol.empty() ? "; there is no batch symbol (declare an input first)"
                                              : "; the only size symbol is the batch, '" +
                                                    batchSymbol + "'"));
      return std::nullopt;
    }
    auto v = intArg(d, "size");
    if (!v)
      return std::nullopt;
    if (*v == -1 && allowInferred && !inferred) {
      inferred = true;
      shape.push_back(shapes::kInferred);
    } else if (*v <= 0) {
      error(d->span, "size " + std::to_string(*v) + " must be positive" +
                         (allowInferred ? " (or a single -1, inferred)" : ""));
      return std::nullopt;
    } else {
      shape.push_back(*v);
    }
  }
  return shape;
}

std::optional<std::pair<int64_t, int64_t>> Sema::pairArg(const Expr *e, const char *what,
                                                         int64_t least) {
  std::vector<int64_t> v;
  if (e->kind == Expr::List) {
    if (e->args.size() != 2) {
      error(e->span, std::string("'") + what + "' must be an integer or a list of two");
      return std::nullopt;
    }
    for (const ExprPtr &a : e->args) {
      auto x = intArg(a.get(), what);
      if (!x)
        return std::nullopt;
      v.push_back(*x);
    }
  } else {
    auto x = intArg(e, what);
    if (!x)
      return std::nullopt;
    v = {*x, *x};
  }
  if (v[0] < least || v[1] < least) {
    error(e->span, std::string("'") + what + "' must be >= " + std::to_string(least));
    return std::nullopt;
  }
  return std::make_pair(v[0], v[1]);
}

//===--------------------------------------------------------------------===//
// Expressions
//===--------------------------------------------------------------------===//

Value Sema::eval(const Expr &e) {
  switch (e.kind) {
  case Expr::Number:
    return e.isFloat ? Value::real(e.floatValue) : Value::number(e.intValue);
  case Expr::Bool: {
    Value v;
    v.kind = Value::Bool;
    v.b = e.boolValue;
    return v;
  }
  case Expr::Name:
    return evalName(e);
  case Expr::Unary: {
    Value v = eval(*e.args[0]);
    if (v.kind == Value::Poison)
      return v;
    if (v.kind == Value::Number) {
      if (v.isFloat)
        return Value::real(-v.f);
      if (v.i == INT64_MIN) {
        error(e.span, "integer overflow in a constant expression");
        return {};
      }
      return Value::number(-v.i);
    }
    int x = toTensor(v, *e.args[0]);
    if (x < 0)
      return {};
    return Value::tensor(addNode(OpKind::Neg, {x}, typeOf(x), e.span));
  }
  case Expr::Binary:
    return evalBinary(e);
  case Expr::Call:
    return evalCall(e);
  case Expr::List:
    return evalTensorLiteral(e);
  }
  return {};
}

Value Sema::evalName(const Expr &e) {
  auto it = symbols.find(e.text);
  if (it != symbols.end())
    return it->second.value;
  if (!batchSymbol.empty() && e.text == batchSymbol) {
    error(e.span, "the batch size " + quote(e.text) +
                      " can be used only in shapes (reshape, zeros, ones, full)");
    return {};
  }
  auto later = laterNames.find(e.text);
  if (later != laterNames.end()) {
    error(e.span, quote(e.text) + " is used before its definition");
    diags.note(later->second.loc, quote(e.text) + " is defined here",
               later->second.length());
    return {};
  }
  std::vector<std::string> names;
  for (const auto &s : symbols)
    names.push_back(s.first);
  error(e.span, "undefined name " + quote(e.text) + suggest(e.text, names));
  return {};
}

Value Sema::foldNumbers(const Expr &e, const Value &l, const Value &r) {
  char op = e.text[0];
  if (op == '@') {
    error(e.span, "'@' needs two tensors, got two numbers");
    return {};
  }
  if (!l.isFloat && !r.isFloat && op != '/') {
    int64_t v = 0;
    bool overflow = op == '+'   ? __builtin_add_overflow(l.i, r.i, &v)
                    : op == '-' ? __builtin_sub_overflow(l.i, r.i, &v)
                                : __builtin_mul_overflow(l.i, r.i, &v);
    if (overflow) {
      error(e.span, "integer overflow in a constant expression");
      return {};
    }
    return Value::number(v);
  }
  if (op == '/' && r.f == 0) {
    error(e.span, "division by zero in a constant expression");
    return {};
  }
  // Python's rules: int / int and anything with a float give a float.
  double v = op == '+' ? l.f + r.f : op == '-' ? l.f - r.f : op == '*' ? l.f * r.f : l.f / r.f;
  if (!std::isfinite(v)) {
    error(e.span, "a constant expression overflows a double");
    return {};
  }
  return Value::real(v);
}

/// A number meeting a tensor of `dtype` becomes a scalar constant of that
/// dtype, as a Python scalar does in PyTorch; it must fit.
int Sema::numberFor(const Value &v, DType dtype, const Expr &e) {
  if (v.isFloat && !isFloat(dtype)) {
    error(e.span, "cannot mix the float number " + numberText(v.f) + " with a " +
                      dtypeName(dtype) + " tensor; cast the tensor first, e.g. f32(x)");
    return -1;
  }
  bool fits = dtype == DType::U8    ? v.i >= 0 && v.i <= 255
              : dtype == DType::I32 ? v.i >= INT32_MIN && v.i <= INT32_MAX
              : dtype == DType::F32 ? std::fabs(v.f) <= FLT_MAX
                                    : true;
  if (!fits) {
    error(e.span, "the number " + (v.isFloat ? numberText(v.f) : std::to_string(v.i)) +
                      " does not fit in " + dtypeName(dtype));
    return -1;
  }
  return constant(v.f, dtype, e.span);
}

/// Any value used where a tensor is needed.
int Sema::toTensor(const Value &v, const Expr &e) {
  switch (v.kind) {
  case Value::Poison:
    return -1;
  case Value::Tensor:
    return v.node;
  case Value::Number:
    // torch.tensor rules: a float literal is f32, an integer i64.
    if (v.isFloat && std::fabs(v.f) > FLT_MAX) {
      error(e.span, "the number " + numberText(v.f) + " does not fit in f32");
      return -1;
    }
    return constant(v.f, v.isFloat ? DType::F32 : DType::I64, e.span);
  case Value::Bool:
    error(e.span, "expected a tensor, got " + std::string(v.b ? "true" : "false"));
    return -1;
  case Value::Layer:
    error(e.span, "'" + clip(layerTable[v.layer].name) +
                      "' is a layer, not a tensor; call it on a tensor, e.g. " +
                      clip(layerTable[v.layer].name) + "(x)");
    return -1;
  }
  return -1;
}

int Sema::tensorArg(const Expr *e) { return toTensor(eval(*e), *e); }

Value Sema::evalBinary(const Expr &e) {
  Value l = eval(*e.args[0]), r = eval(*e.args[1]);
  if (l.kind == Value::Poison || r.kind == Value::Poison)
    return {};
  if (l.kind == Value::Number && r.kind == Value::Number)
    return foldNumbers(e, l, r);
  char op = e.text[0];
  int a, b;
  if (op != '@' && l.kind == Value::Number && r.kind == Value::Tensor) {
    b = r.node;
    a = numberFor(l, typeOf(b).dtype, *e.args[0]);
  } else if (op != '@' && r.kind == Value::Number && l.kind == Value::Tensor) {
    a = l.node;
    b = numberFor(r, typeOf(a).dtype, *e.args[1]);
  } else {
    a = toTensor(l, *e.args[0]);
    b = a < 0 ? -1 : toTensor(r, *e.args[1]);
  }
  if (a < 0 || b < 0)
    return {};
  const TensorType &ta = typeOf(a), &tb = typeOf(b);
  const char *verb = op == '+' ? "add" : op == '-' ? "subtract" : op == '*' ? "multiply"
                     : op == '/' ? "divide" : "matrix-multiply";
  if (ta.dtype != tb.dtype) {
    error(e.span, std::string("cannot ") + verb + " " + ta.str() + " and " + tb.str() +
                      ": dtypes differ (" + dtypeName(ta.dtype) + " vs " +
                      dtypeName(tb.dtype) + "); cast one, e.g. " +
                      dtypeName(isFloat(ta.dtype) ? ta.dtype : tb.dtype) + "(...)");
    return {};
  }
  if (op == '/' && !isFloat(ta.dtype)) {
    error(e.span, std::string("'/' needs float tensors, got ") + ta.str() +
                      "; cast first, e.g. f32(x) / ...");
    return {};
  }
  std::string err;
  auto shape = op == '@' ? shapes::matmul(ta.shape, tb.shape, err)
                         : shapes::broadcast(ta.shape, tb.shape, err);
  if (!shape) {
    error(e.span, err);
    return {};
  }
  OpKind kind = op == '+' ? OpKind::Add : op == '-' ? OpKind::Sub : op == '*' ? OpKind::Mul
                : op == '/' ? OpKind::Div : OpKind::MatMul;
  return Value::tensor(addNode(kind, {a, b}, {ta.dtype, *shape}, e.span));
}

Value Sema::evalTensorLiteral(const Expr &e) {
  // Walk the nested lists (depth bounded by the parser), checking that every
  // list at one depth has the same length.
  Shape shape;
  std::vector<double> data;
  bool anyFloat = false, ok = true;
  auto walk = [&](auto &self, const Expr &list, size_t depth) -> void {
    if (!ok)
      return;
    if (list.args.empty()) {
      error(list.span, "empty tensor literal; sizes must be positive");
      ok = false;
      return;
    }
    int64_t n = static_cast<int64_t>(list.args.size());
    bool nested = list.args[0]->kind == Expr::List;
    if (depth == shape.size()) {
      shape.push_back(n);
    } else if (depth > shape.size() || shape[depth] != n) {
      error(list.span, "ragged tensor literal: a list at depth " + std::to_string(depth) +
                           " has " + std::to_string(n) + " elements, an earlier one " +
                           std::to_string(depth < shape.size() ? shape[depth] : 0));
      ok = false;
      return;
    }
    for (const ExprPtr &a : list.args) {
      if ((a->kind == Expr::List) != nested ||
          (!nested && depth + 1 < shape.size())) {
        error(a->span, "ragged tensor literal: elements mix lists and numbers");
        ok = false;
        return;
      }
      if (nested) {
        self(self, *a, depth + 1);
        if (!ok)
          return;
        continue;
      }
      if (depth + 1 != shape.size()) {
        error(a->span, "ragged tensor literal");
        ok = false;
        return;
      }
      Value v = eval(*a);
      if (v.kind == Value::Poison) {
        ok = false;
        return;
      }
      if (v.kind != Value::Number) {
        error(a->span, "tensor literal elements must be numbers; to join tensors, use "
                       "concat([a, b], dim)");
        ok = false;
        return;
      }
      anyFloat = anyFloat || v.isFloat;
      data.push_back(v.f);
    }
  };
  walk(walk, e, 0);
  if (!ok)
    return {};
  DType dtype = anyFloat ? DType::F32 : DType::I64;
  if (anyFloat)
    for (double v : data)
      if (std::fabs(v) > FLT_MAX) {
        error(e.span, "the number " + numberText(v) + " does not fit in f32");
        return {};
      }
  int n = addNode(OpKind::Constant, {}, {dtype, shape}, e.span);
  if (n >= 0)
    model.nodes[n].data = std::move(data);
  return Value::tensor(n);
}

Value Sema::evalCall(const Expr &e) {
  if (e.text.empty()) {
    // Only a named layer can be called: `Linear(3, 4)(x)` has no state_dict name.
    const Expr &callee = *e.callee;
    if (callee.kind == Expr::Call && find(layers(), callee.text))
      error(callee.span, "a layer must be bound to a name before it is called (its "
                         "parameters are named after it): write `fc = " +
                             clip(callee.text) + "(...)`, then `fc(x)`");
    else if (eval(callee).kind != Value::Poison)
      error(callee.span, "only a layer bound to a name can be called");
    return {};
  }
  const std::string &name = e.text;
  auto sym = symbols.find(name);
  if (sym != symbols.end() && sym->second.value.kind == Value::Layer) {
    if (e.args.size() != 1 || !e.kwargs.empty()) {
      error(e.span, "layer '" + clip(name) + "' takes one tensor argument, got " +
                        std::to_string(e.args.size() + e.kwargs.size()));
      return {};
    }
    int x = tensorArg(e.args[0].get());
    if (x < 0)
      return {};
    return Value::tensor(applyLayer(sym->second.value.layer, x, e.span));
  }
  if (const Signature *sig = find(functions(), name))
    return evalFunction(e, *sig);
  if (find(layers(), name)) {
    error(e.span, "a layer must be bound to a name, e.g. `fc = " + clip(name) +
                      "(...)`, and then called: `fc(x)`");
    return {};
  }
  if (sym != symbols.end()) {
    if (sym->second.value.kind != Value::Poison)
      error(e.callee->span, quote(name) + " is not a layer and cannot be called");
    return {};
  }
  std::vector<std::string> known;
  for (const auto *table : {&functions(), &layers()})
    for (const Signature &s : *table)
      known.push_back(s.name);
  bool layerLike = std::isupper(static_cast<unsigned char>(name[0]));
  error(e.callee->span, std::string("unknown ") + (layerLike ? "layer " : "function ") +
                            quote(name) + suggest(name, known));
  return {};
}

Value Sema::evalFunction(const Expr &e, const Signature &sig) {
  std::vector<const Expr *> args;
  if (!bind(e, sig, args))
    return {};
  const std::string name = sig.name;
  const Span &at = e.span;

  // creation: zeros, ones, full
  if (name == "zeros" || name == "ones" || name == "full") {
    auto shape = shapeArg(args[0], false);
    if (!shape)
      return {};
    double value = name == "ones" ? 1 : 0;
    DType dtype = DType::F32;
    if (name == "full") {
      Value v = eval(*args[1]);
      if (v.kind == Value::Poison)
        return {};
      if (v.kind != Value::Number) {
        error(args[1]->span, "expected a number for 'value'");
        return {};
      }
      value = v.f;
      dtype = v.isFloat ? DType::F32 : DType::I64; // torch.full's rule
    }
    int n = addNode(OpKind::Fill, {}, {dtype, *shape}, at);
    if (n >= 0) {
      model.nodes[n].dims = *shape;
      model.nodes[n].scalar = value;
    }
    return Value::tensor(n);
  }

  if (name == "concat") {
    if (args[0]->kind != Expr::List || args[0]->args.empty()) {
      error(args[0]->span, "concat takes a list of tensors: concat([a, b], dim)");
      return {};
    }
    std::vector<int> pieces;
    std::vector<Shape> shapesIn;
    for (const ExprPtr &p : args[0]->args) {
      int t = tensorArg(p.get());
      if (t < 0)
        return {};
      if (typeOf(t).dtype != typeOf(pieces.empty() ? t : pieces[0]).dtype) {
        error(p->span, "concat needs one dtype: " + typeOf(pieces[0]).str() + " and " +
                           typeOf(t).str() + "; cast one first");
        return {};
      }
      pieces.push_back(t);
      shapesIn.push_back(typeOf(t).shape);
    }
    auto dim = args[1] ? intArg(args[1], "dim") : std::optional<int64_t>(0);
    if (!dim)
      return {};
    std::string err;
    auto shape = shapes::concat(shapesIn, *dim, err);
    if (!shape) {
      error(args[1] && err.rfind("dim ", 0) == 0 ? args[1]->span : at, err);
      return {};
    }
    int n = addNode(OpKind::Concat, pieces, {typeOf(pieces[0]).dtype, *shape}, at);
    if (n >= 0)
      model.nodes[n].dims = {*dim < 0 ? *dim + static_cast<int64_t>(shape->size()) : *dim};
    return Value::tensor(n);
  }

  // Everything else takes a tensor first.
  int x = tensorArg(args[0]);
  if (x < 0)
    return {};
  TensorType tx = typeOf(x);
  int64_t rank = static_cast<int64_t>(tx.shape.size());
  auto needFloat = [&](const char *what) {
    if (isFloat(tx.dtype))
      return true;
    error(args[0]->span, std::string(what) + " needs a float tensor, got " + tx.str() +
                             "; cast it first, e.g. f32(x)");
    return false;
  };

  static const std::map<std::string, OpKind> unary = {
      {"relu", OpKind::Relu}, {"sigmoid", OpKind::Sigmoid}, {"tanh", OpKind::Tanh},
      {"exp", OpKind::Exp},   {"log", OpKind::Log},         {"sqrt", OpKind::Sqrt},
      {"abs", OpKind::Abs},   {"neg", OpKind::Neg}};
  if (auto u = unary.find(name); u != unary.end()) {
    bool floatOnly = name != "relu" && name != "abs" && name != "neg";
    if (floatOnly && !needFloat(sig.name))
      return {};
    return Value::tensor(addNode(u->second, {x}, tx, at));
  }

  if (auto dtype = parseDType(name)) {
    if (tx.dtype == *dtype)
      return Value::tensor(x);
    return Value::tensor(addNode(OpKind::Cast, {x}, {*dtype, tx.shape}, at));
  }

  if (name == "softmax" || name == "log_softmax") {
    if (!needFloat(sig.name))
      return {};
    std::optional<int64_t> dim = args[1] ? dimArg(args[1], rank, "dim") : std::nullopt;
    if (!args[1]) {
      std::string err;
      dim = shapes::normalizeDim(-1, rank, err);
      if (!dim)
        error(args[0]->span, name + ": " + err);
    }
    if (!dim)
      return {};
    int n = addNode(name == "softmax" ? OpKind::Softmax : OpKind::LogSoftmax, {x}, tx, at);
    if (n >= 0)
      model.nodes[n].dims = {*dim};
    return Value::tensor(n);
  }

  if (name == "sum" || name == "mean" || name == "max" || name == "argmax") {
    if (name == "mean" && !needFloat("mean"))
      return {};
    bool keepdim = false;
    if (args[2]) {
      auto k = boolArg(args[2], "keepdim");
      if (!k)
        return {};
      keepdim = *k;
    }
    std::vector<int64_t> dims;
    if (name == "max" || name == "argmax") {
      auto d = dimArg(args[1], rank, "dim");
      if (!d)
        return {};
      dims = {*d};
    } else if (args[1]) {
      std::vector<const Expr *> list;
      if (args[1]->kind == Expr::List)
        for (const ExprPtr &a : args[1]->args)
          list.push_back(a.get());
      else
        list.push_back(args[1]);
      for (const Expr *d : list) {
        auto n = dimArg(d, rank, "dim");
        if (!n)
          return {};
        if (std::find(dims.begin(), dims.end(), *n) != dims.end()) {
          error(d->span, "dim " + std::to_string(*n) + " is listed twice");
          return {};
        }
        dims.push_back(*n);
      }
      std::sort(dims.begin(), dims.end());
    }
    if (dims.empty()) // all dims, listed explicitly
      for (int64_t d = 0; d < rank; ++d)
        dims.push_back(d);
    OpKind kind = name == "sum" ? OpKind::Sum : name == "mean" ? OpKind::Mean
                  : name == "max" ? OpKind::Max : OpKind::ArgMax;
    DType dtype = kind == OpKind::ArgMax ? DType::I64 : tx.dtype;
    int n = addNode(kind, {x}, {dtype, shapes::reduce(tx.shape, dims, keepdim)}, at);
    if (n >= 0) {
      model.nodes[n].dims = dims;
      model.nodes[n].keepdim = keepdim;
    }
    return Value::tensor(n);
  }

  if (name == "transpose") {
    auto d0 = args[1] ? intArg(args[1], "d0") : std::optional<int64_t>(-2);
    auto d1 = args[2] ? intArg(args[2], "d1") : std::optional<int64_t>(-1);
    if (!d0 || !d1)
      return {};
    std::string err;
    auto shape = shapes::transpose(tx.shape, *d0, *d1, err);
    if (!shape) {
      error(at, "transpose of " + tx.str() + ": " + err);
      return {};
    }
    int n = addNode(OpKind::Transpose, {x}, {tx.dtype, *shape}, at);
    if (n >= 0)
      model.nodes[n].dims = {*d0 < 0 ? *d0 + rank : *d0, *d1 < 0 ? *d1 + rank : *d1};
    return Value::tensor(n);
  }

  if (name == "reshape") {
    auto target = shapeArg(args[1], true);
    if (!target)
      return {};
    std::string err;
    auto shape = shapes::reshape(tx.shape, *target, err);
    if (!shape) {
      error(at, err);
      return {};
    }
    int n = addNode(OpKind::Reshape, {x}, {tx.dtype, *shape}, at);
    if (n >= 0)
      model.nodes[n].dims = *shape;
    return Value::tensor(n);
  }

  if (name == "flatten") {
    auto s = args[1] ? intArg(args[1], "start_dim") : std::optional<int64_t>(1);
    auto t = args[2] ? intArg(args[2], "end_dim") : std::optional<int64_t>(-1);
    if (!s || !t)
      return {};
    return Value::tensor(flattenNode(x, *s, *t, at, args[1]));
  }

  // Losses and the metric.
  int y = tensorArg(args[1]);
  if (y < 0)
    return {};
  TensorType ty = typeOf(y);
  if (!isFloat(tx.dtype)) {
    error(args[0]->span, name + " needs float " + (name == "mse" ? "predictions" : "logits") +
                             ", got " + tx.str() + "; cast them first, e.g. f32(x)");
    return {};
  }
  OpKind kind;
  if (name == "mse" || name == "bce_with_logits") {
    kind = name == "mse" ? OpKind::Mse : OpKind::BceWithLogits;
    if (ty.dtype != tx.dtype) {
      error(args[1]->span, name + " needs a target of the same dtype as its input: " +
                               tx.str() + " and " + ty.str() + "; cast one, e.g. " +
                               dtypeName(tx.dtype) + "(target)");
      return {};
    }
    if (ty.shape != tx.shape) {
      error(at, name + " needs input and target of the same shape, got " + tx.str() +
                    " and " + ty.str());
      return {};
    }
  } else {
    kind = name == "accuracy" ? OpKind::Accuracy : OpKind::CrossEntropy;
    if (rank != 2) {
      error(args[0]->span, name + " needs logits [N, C], got " + tx.str());
      return {};
    }
    if (isFloat(ty.dtype) || ty.shape.size() != 1) {
      error(args[1]->span, name + " needs a class index target: an integer tensor [N] "
                                  "(i64, i32 or u8) of class numbers, got " + ty.str());
      return {};
    }
    if (ty.shape[0] != tx.shape[0]) {
      auto size = [](int64_t d) { return d == kBatch ? std::string("N") : std::to_string(d); };
      error(at, name + ": logits " + tx.str() + " and target " + ty.str() +
                    " have different sample counts (dimension 0 is " + size(tx.shape[0]) +
                    " vs " + size(ty.shape[0]) + ")");
      return {};
    }
  }
  return Value::tensor(addNode(kind, {x, y}, {tx.dtype, {}}, at));
}

int Sema::flattenNode(int x, int64_t start, int64_t end, const Span &at, const Expr *startE) {
  TensorType tx = typeOf(x);
  int64_t rank = static_cast<int64_t>(tx.shape.size());
  std::string err;
  auto s = shapes::normalizeDim(start, rank, err);
  auto t = s ? shapes::normalizeDim(end, rank, err) : std::nullopt;
  if (!s || !t) {
    error(startE ? startE->span : at, "flatten of " + tx.str() + ": " + err);
    return -1;
  }
  if (*s > *t) {
    error(at, "flatten of " + tx.str() + ": start_dim comes after end_dim");
    return -1;
  }
  Shape shape(tx.shape.begin(), tx.shape.begin() + *s);
  int64_t product = 1;
  for (int64_t d = *s; d <= *t; ++d) {
    if (tx.shape[d] == kBatch && *s != *t) {
      error(at, "flatten of " + tx.str() + " would merge the batch dimension N with others");
      return -1;
    }
    if (tx.shape[d] == kBatch)
      product = kBatch;
    else if (__builtin_mul_overflow(product, tx.shape[d], &product)) {
      error(at, "flatten of " + tx.str() + ": too many elements");
      return -1;
    }
  }
  shape.push_back(product);
  shape.insert(shape.end(), tx.shape.begin() + *t + 1, tx.shape.end());
  int n = addNode(OpKind::Reshape, {x}, {tx.dtype, shape}, at);
  if (n >= 0)
    model.nodes[n].dims = shape;
  return n;
}

//===--------------------------------------------------------------------===//
// Layers
//===--------------------------------------------------------------------===//

/// Builds the layer that `call` constructs, naming its parameters `prefix.*`
/// now, in state_dict order.
int Sema::buildLayer(const Expr &call, const std::string &prefix) {
  const Signature *sig = find(layers(), call.text);
  std::vector<const Expr *> args;
  if (!sig || !bind(call, *sig, args))
    return -1;
  Layer L;
  L.type = sig->name;
  L.name = prefix;
  L.span = call.span;
  auto intOr = [&](size_t k, int64_t dflt, const char *what) {
    return args[k] ? intArg(args[k], what) : std::optional<int64_t>(dflt);
  };
  auto positive = [&](size_t k, std::optional<int64_t> v, const char *what) {
    if (v && *v < 1) {
      error(args[k]->span, std::string("'") + what + "' must be positive, got " +
                               std::to_string(*v));
      return false;
    }
    return v.has_value();
  };
  auto pairText = [](std::pair<int64_t, int64_t> p) {
    return p.first == p.second ? std::to_string(p.first)
                               : "[" + std::to_string(p.first) + ", " +
                                     std::to_string(p.second) + "]";
  };
  const std::string &t = L.type;
  if (t == "Linear" || t == "RNN") {
    auto in = intArg(args[0], "in"), out = in ? intArg(args[1], t == "RNN" ? "hidden" : "out")
                                              : std::nullopt;
    if (!positive(0, in, "in") || !positive(1, out, t == "RNN" ? "hidden" : "out"))
      return -1;
    if (args.size() > 2 && args[2]) {
      auto b = boolArg(args[2], "bias");
      if (!b)
        return -1;
      L.bias = *b;
    }
    L.ints = {*in, *out};
    L.desc = t + "(" + std::to_string(*in) + ", " + std::to_string(*out) +
             (L.bias ? "" : ", bias=false") + ")";
    if (t == "Linear") {
      // nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for both.
      double k = 1.0 / std::sqrt(static_cast<double>(*in));
      Init init{Init::Uniform, -k, k};
      L.params.push_back(makeParam(prefix + ".weight", {*out, *in}, init, call.span));
      if (L.bias)
        L.params.push_back(makeParam(prefix + ".bias", {*out}, init, call.span));
    } else {
      double k = 1.0 / std::sqrt(static_cast<double>(*out));
      Init init{Init::Uniform, -k, k};
      L.params.push_back(makeParam(prefix + ".weight_ih_l0", {*out, *in}, init, call.span));
      L.params.push_back(makeParam(prefix + ".weight_hh_l0", {*out, *out}, init, call.span));
      L.params.push_back(makeParam(prefix + ".bias_ih_l0", {*out}, init, call.span));
      L.params.push_back(makeParam(prefix + ".bias_hh_l0", {*out}, init, call.span));
    }
  } else if (t == "Conv2d") {
    auto in = intArg(args[0], "in"), out = in ? intArg(args[1], "out") : std::nullopt;
    if (!positive(0, in, "in") || !positive(1, out, "out"))
      return -1;
    auto kernel = pairArg(args[2], "kernel", 1);
    auto stride = kernel ? (args[3] ? pairArg(args[3], "stride", 1)
                                    : std::make_optional(std::make_pair<int64_t, int64_t>(1, 1)))
                         : std::nullopt;
    auto padding = stride ? (args[4] ? pairArg(args[4], "padding", 0)
                                     : std::make_optional(std::make_pair<int64_t, int64_t>(0, 0)))
                          : std::nullopt;
    if (!padding)
      return -1;
    if (args[5]) {
      auto b = boolArg(args[5], "bias");
      if (!b)
        return -1;
      L.bias = *b;
    }
    L.ints = {*in, *out, kernel->first, kernel->second, stride->first, stride->second,
              padding->first, padding->second};
    L.desc = "Conv2d(" + std::to_string(*in) + ", " + std::to_string(*out) + ", " +
             pairText(*kernel) +
             (args[3] ? ", stride=" + pairText(*stride) : std::string()) +
             (args[4] ? ", padding=" + pairText(*padding) : std::string()) +
             (L.bias ? "" : ", bias=false") + ")";
    // nn.Conv2d's default init: U(-1/sqrt(fan_in), ...), fan_in = in * kh * kw.
    int64_t fan = 0;
    if (__builtin_mul_overflow(*in, kernel->first, &fan) ||
        __builtin_mul_overflow(fan, kernel->second, &fan)) {
      error(call.span, "Conv2d weight has too many elements");
      return -1;
    }
    double k = 1.0 / std::sqrt(static_cast<double>(fan));
    Init init{Init::Uniform, -k, k};
    L.params.push_back(makeParam(prefix + ".weight", {*out, *in, kernel->first, kernel->second},
                                 init, call.span));
    if (L.bias)
      L.params.push_back(makeParam(prefix + ".bias", {*out}, init, call.span));
  } else if (t == "MaxPool2d" || t == "AvgPool2d") {
    auto kernel = pairArg(args[0], "kernel", 1);
    auto stride = kernel ? (args[1] ? pairArg(args[1], "stride", 1) : kernel) : std::nullopt;
    auto padding = stride ? (args[2] ? pairArg(args[2], "padding", 0)
                                     : std::make_optional(std::make_pair<int64_t, int64_t>(0, 0)))
                          : std::nullopt;
    if (!padding)
      return -1;
    if (padding->first > kernel->first / 2 || padding->second > kernel->second / 2) {
      error(args[2]->span, "padding must be at most half the kernel, as in PyTorch");
      return -1;
    }
    L.ints = {kernel->first, kernel->second, stride->first, stride->second, padding->first,
              padding->second};
    L.desc = t + "(" + pairText(*kernel) +
             (args[1] ? ", stride=" + pairText(*stride) : std::string()) +
             (args[2] ? ", padding=" + pairText(*padding) : std::string()) + ")";
  } else if (t == "Flatten") {
    auto s = intOr(0, 1, "start_dim"), e = s ? intOr(1, -1, "end_dim") : std::nullopt;
    if (!e)
      return -1;
    L.ints = {*s, *e};
    L.desc = "Flatten()";
  } else if (t == "Softmax") {
    auto d = intOr(0, -1, "dim");
    if (!d)
      return -1;
    L.ints = {*d};
    L.desc = "Softmax(dim=" + std::to_string(*d) + ")";
  } else if (t == "Dropout") {
    auto p = args[0] ? realArg(args[0], "p") : std::optional<double>(0.5);
    if (!p)
      return -1;
    if (!(*p >= 0 && *p < 1)) {
      error(args[0]->span, "Dropout probability must be in [0, 1), got " + numberText(*p));
      return -1;
    }
    L.p = *p;
    L.desc = "Dropout(" + numberText(*p) + ")";
  } else if (t == "Sequential") {
    if (!call.kwargs.empty()) {
      error(call.kwargs[0].span, "Sequential takes no keyword arguments");
      return -1;
    }
    L.desc = "Sequential(...)";
    for (size_t i = 0; i < call.args.size(); ++i) {
      const Expr &a = *call.args[i];
      if (a.kind == Expr::Call && !a.text.empty() && !find(layers(), a.text) &&
          !find(functions(), a.text)) {
        std::vector<std::string> known;
        for (const Signature &l : layers())
          known.push_back(l.name);
        error(a.callee->span, "unknown layer " + quote(a.text) + suggest(a.text, known));
        return -1;
      }
      if (a.kind != Expr::Call || !find(layers(), a.text)) {
        error(a.span, "Sequential takes layers written in place, such as Linear(3, 4) "
                      "or ReLU()");
        return -1;
      }
      int child = buildLayer(a, prefix + "." + std::to_string(i));
      if (child < 0)
        return -1;
      L.children.push_back(child);
    }
  } else {
    L.desc = t + "()";
  }
  for (int p : L.params)
    if (p < 0)
      return -1;
  layerTable.push_back(std::move(L));
  return static_cast<int>(layerTable.size()) - 1;
}

int Sema::applyLayer(int index, int x, const Span &at) {
  const Layer &L = layerTable[index];
  const std::string &t = L.type;
  TensorType tx = typeOf(x);
  if (t == "Sequential") {
    for (int child : L.children)
      if ((x = applyLayer(child, x, at)) < 0)
        return -1;
    return x;
  }
  bool hasParams = !L.params.empty();
  if (hasParams && tx.dtype != DType::F32) {
    error(at, L.label() + " has f32 parameters, so it needs an f32 input, got " + tx.str() +
                  "; cast it, e.g. f32(x)");
    return -1;
  }
  bool floatOnly = t != "ReLU" && t != "Flatten";
  if (floatOnly && !isFloat(tx.dtype)) {
    error(at, L.label() + " needs a float input, got " + tx.str() + "; cast it, e.g. f32(x)");
    return -1;
  }
  auto sizeText = [](int64_t d) { return d == kBatch ? std::string("N") : std::to_string(d); };
  std::string err;
  if (t == "Linear") {
    if (tx.shape.empty() || tx.shape.back() != L.ints[0]) {
      error(at, L.label() + " expects " + std::to_string(L.ints[0]) +
                    " input features (the last dimension), but its input is " + tx.str() +
                    (tx.shape.empty() ? "" : ": " + sizeText(tx.shape.back()) + " vs " +
                                                 std::to_string(L.ints[0])));
      return -1;
    }
    std::vector<int> ops = {x, L.params[0]};
    if (L.bias)
      ops.push_back(L.params[1]);
    Shape wb = {L.ints[1]};
    auto shape = shapes::linear(tx.shape, typeOf(L.params[0]).shape, L.bias ? &wb : nullptr, err);
    if (!shape) {
      error(at, L.label() + ": " + err);
      return -1;
    }
    return addNode(OpKind::Linear, ops, {tx.dtype, *shape}, at);
  }
  if (t == "Conv2d") {
    if (tx.shape.size() != 4 || tx.shape[1] != L.ints[0]) {
      error(at, L.label() + " expects an input [N, " + std::to_string(L.ints[0]) +
                    ", H, W], but its input is " + tx.str() +
                    (tx.shape.size() == 4 ? ": " + sizeText(tx.shape[1]) + " vs " +
                                                std::to_string(L.ints[0]) + " channels"
                                          : ""));
      return -1;
    }
    Shape b = {L.ints[1]};
    auto shape = shapes::conv2d(tx.shape, typeOf(L.params[0]).shape, L.bias ? &b : nullptr,
                                L.ints[4], L.ints[5], L.ints[6], L.ints[7], err);
    if (!shape) {
      error(at, L.label() + ": " + err);
      return -1;
    }
    std::vector<int> ops = {x, L.params[0]};
    if (L.bias)
      ops.push_back(L.params[1]);
    int n = addNode(OpKind::Conv2d, ops, {tx.dtype, *shape}, at);
    if (n >= 0)
      model.nodes[n].dims = {L.ints[4], L.ints[5], L.ints[6], L.ints[7]};
    return n;
  }
  if (t == "MaxPool2d" || t == "AvgPool2d") {
    auto shape = shapes::pool2d(tx.shape, L.ints[0], L.ints[1], L.ints[2], L.ints[3],
                                L.ints[4], L.ints[5], err);
    if (!shape) {
      error(at, L.label() + ": " + err);
      return -1;
    }
    int n = addNode(t == "MaxPool2d" ? OpKind::MaxPool2d : OpKind::AvgPool2d, {x},
                    {tx.dtype, *shape}, at);
    if (n >= 0)
      model.nodes[n].dims = L.ints;
    return n;
  }
  if (t == "RNN") {
    if (tx.shape.size() != 3 || tx.shape[2] != L.ints[0]) {
      error(at, L.label() + " expects an input [N, T, " + std::to_string(L.ints[0]) +
                    "] (batch, time, features), but its input is " + tx.str());
      return -1;
    }
    auto shape = shapes::rnn(tx.shape, typeOf(L.params[0]).shape, typeOf(L.params[1]).shape,
                             typeOf(L.params[2]).shape, typeOf(L.params[3]).shape, err);
    if (!shape) {
      error(at, L.label() + ": " + err);
      return -1;
    }
    std::vector<int> ops = {x};
    ops.insert(ops.end(), L.params.begin(), L.params.end());
    return addNode(OpKind::RNN, ops, {tx.dtype, *shape}, at);
  }
  if (t == "Flatten")
    return flattenNode(x, L.ints[0], L.ints[1], at, nullptr);
  if (t == "Softmax") {
    auto d = shapes::normalizeDim(L.ints[0], static_cast<int64_t>(tx.shape.size()), err);
    if (!d) {
      error(at, L.label() + ": " + err);
      return -1;
    }
    int n = addNode(OpKind::Softmax, {x}, tx, at);
    if (n >= 0)
      model.nodes[n].dims = {*d};
    return n;
  }
  if (t == "Dropout") {
    int n = addNode(OpKind::Dropout, {x}, tx, at);
    if (n >= 0)
      model.nodes[n].scalar = L.p;
    return n;
  }
  OpKind kind = t == "ReLU" ? OpKind::Relu : t == "Sigmoid" ? OpKind::Sigmoid : OpKind::Tanh;
  return addNode(kind, {x}, tx, at);
}

//===--------------------------------------------------------------------===//
// Model items
//===--------------------------------------------------------------------===//

bool Sema::checkNewName(const std::string &name, const Span &at) {
  auto it = symbols.find(name);
  if (it == symbols.end())
    return true;
  error(at, "redefinition of " + quote(name));
  diags.note(it->second.def.loc, quote(name) + " was first defined here",
             it->second.def.length());
  return false;
}

void Sema::declare(const std::string &name, const Span &at, Value v) {
  symbols[name] = Symbol{v, at};
}

std::optional<TensorType> Sema::declaredType(const TypeExpr &t, bool data, const char *what) {
  auto dtype = parseDType(t.dtype);
  if (!dtype) {
    error(t.span, "unknown dtype " + quote(t.dtype) +
                      "; expected f32, f64, i32, i64 or u8" +
                      suggest(t.dtype, {"f32", "f64", "i32", "i64", "u8"}));
    return std::nullopt;
  }
  TensorType type{*dtype, {}};
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const Dim &d = t.dims[i];
    if (d.isSymbol) {
      if (!data) {
        error(d.span, std::string("a ") + what + "'s shape must be fixed; the size " +
                          quote(d.symbol) + " is known only at run time");
        return std::nullopt;
      }
      if (i != 0) {
        error(d.span, "only the leading dimension can be a symbol (the batch); got " +
                          quote(d.symbol) + " at dimension " + std::to_string(i));
        return std::nullopt;
      }
      if (batchSymbol.empty())
        batchSymbol = d.symbol;
      if (d.symbol != batchSymbol) {
        error(d.span, "all inputs and targets share one batch symbol: expected '" +
                          batchSymbol + "', got " + quote(d.symbol));
        return std::nullopt;
      }
      type.shape.push_back(kBatch);
      continue;
    }
    if (data && i == 0) {
      error(d.span, std::string("the ") + what + "'s first dimension must be the batch " +
                        "symbol, e.g. [" + (batchSymbol.empty() ? "N" : batchSymbol) +
                        ", ...]");
      return std::nullopt;
    }
    if (d.value <= 0) {
      error(d.span, "dimension " + std::to_string(i) + " must be positive, got " +
                        std::to_string(d.value));
      return std::nullopt;
    }
    type.shape.push_back(d.value);
  }
  int64_t count = 1;
  for (int64_t d : type.shape)
    if (d != kBatch && __builtin_mul_overflow(count, d, &count)) {
      error(t.span, "type " + type.str() + " has too many elements (more than 2^63)");
      return std::nullopt;
    }
  if (data && t.dims.empty()) {
    error(t.span, std::string("a ") + what + " needs the batch dimension first, e.g. " +
                      t.dtype + "[" + (batchSymbol.empty() ? "N" : batchSymbol) + "]");
    return std::nullopt;
  }
  return type;
}

void Sema::declareData(const Item &item) {
  const char *what = item.kind == Item::Input ? "input" : "target";
  auto type = declaredType(item.type, true, what);
  int n = type ? addNode(item.kind == Item::Input ? OpKind::Input : OpKind::Target, {}, *type,
                         item.span)
               : -1;
  if (n >= 0) {
    model.nodes[n].name = item.name;
    (item.kind == Item::Input ? model.inputs : model.targets).push_back(n);
  }
  declare(item.name, item.nameSpan, Value::tensor(n));
}

void Sema::declareParam(const Item &item) {
  auto type = declaredType(item.type, false, "param");
  if (type && !isFloat(type->dtype)) {
    error(item.type.span, "a param is learned, so it must be f32 or f64, got " + type->str());
    type.reset();
  }
  std::optional<Init> init;
  const Expr &e = *item.value;
  std::string initName = e.kind == Expr::Name ? e.text : e.kind == Expr::Call ? e.text : "";
  const Signature *sig = find(others(), initName);
  if (!sig || (sig->name != std::string("zeros") && sig->name != std::string("ones") &&
               sig->name != std::string("uniform") && sig->name != std::string("normal"))) {
    error(e.span, "a param's initializer is zeros, ones, uniform(lo, hi) or normal(mean, std)" +
                      (initName.empty() ? std::string()
                                        : suggest(initName, {"zeros", "ones", "uniform", "normal"})));
  } else if (e.kind == Expr::Name && (initName == "uniform" || initName == "normal")) {
    error(e.span, initName + " needs its arguments: " + signatureText(*sig));
  } else {
    std::vector<const Expr *> args;
    if (e.kind == Expr::Name || bind(e, *sig, args)) {
      if (initName == "zeros" || initName == "ones") {
        init = Init{initName == "zeros" ? Init::Zeros : Init::Ones, 0, 0};
      } else {
        bool uniform = initName == "uniform";
        auto a = args[0] ? realArg(args[0], sig->params[0].name) : std::optional<double>(0);
        auto b = a ? (args[1] ? realArg(args[1], sig->params[1].name) : std::optional<double>(1))
                   : std::nullopt;
        if (b) {
          if (uniform && !(*a <= *b))
            error(e.span, "uniform needs lo <= hi, got " + numberText(*a) + " and " +
                              numberText(*b));
          else if (!uniform && !(*b >= 0))
            error(e.span, "normal needs std >= 0, got " + numberText(*b));
          else
            init = Init{uniform ? Init::Uniform : Init::Normal, *a, *b};
        }
      }
    }
  }
  int n = -1;
  if (type && init) {
    n = addNode(OpKind::Param, {}, *type, item.span);
    if (n >= 0) {
      model.nodes[n].name = item.name;
      model.nodes[n].init = *init;
      model.params.push_back(n);
    }
  }
  declare(item.name, item.nameSpan, Value::tensor(n));
}

std::optional<Model> Sema::run(const File &file) {
  if (file.models.empty())
    return std::nullopt; // the parser has said so
  const ModelDecl &m = file.models[0];
  for (size_t i = 1; i < file.models.size(); ++i) {
    error(file.models[i].nameSpan, "only one model is allowed per file");
    diags.note(m.nameSpan.loc, "the first model is here", m.nameSpan.length());
  }
  model.name = m.name;
  model.file = diags.file();

  for (const Item &item : m.items)
    if (!item.name.empty() && item.kind != Item::Loss && !laterNames.count(item.name))
      laterNames[item.name] = item.nameSpan;

  bool sawOutput = false, sawInput = false;
  const Item *lossItem = nullptr;
  for (const Item &item : m.items) {
    if (diags.limitReached())
      return std::nullopt;
    sawOutput = sawOutput || item.kind == Item::Output;
    sawInput = sawInput || item.kind == Item::Input;
    if (item.kind != Item::Loss && !checkNewName(item.name, item.nameSpan))
      continue;
    if (item.kind == Item::Loss && lossItem) {
      error(item.span, "a model has at most one loss");
      diags.note(lossItem->span.loc, "the first loss is here", lossItem->span.length());
      continue;
    }
    if (item.broken) { // a syntax error, already reported: poison the name
      declare(item.name, item.nameSpan, Value());
      if (item.kind == Item::Loss)
        lossItem = &item;
      continue;
    }
    switch (item.kind) {
    case Item::Input:
    case Item::Target:
      declareData(item);
      break;
    case Item::Param:
      declareParam(item);
      break;
    case Item::Let: {
      const Expr &e = *item.value;
      Value v;
      if (e.kind == Expr::Call && find(layers(), e.text) &&
          !(symbols.count(e.text) && symbols[e.text].value.kind == Value::Layer)) {
        int L = buildLayer(e, item.name);
        if (L >= 0) {
          v.kind = Value::Layer;
          v.layer = L;
        }
      } else {
        v = eval(e);
      }
      if (v.kind == Value::Tensor && model.nodes[v.node].name.empty())
        model.nodes[v.node].name = item.name;
      declare(item.name, item.nameSpan, v);
      break;
    }
    case Item::Output:
    case Item::Loss:
    case Item::Metric: {
      const Expr &e = *item.value;
      int n = toTensor(eval(e), e);
      if (n >= 0) {
        const TensorType &t = typeOf(n);
        std::string label = item.kind == Item::Output ? "output " + quote(item.name)
                            : item.kind == Item::Metric ? "metric " + quote(item.name)
                                                        : "loss";
        if (item.kind == Item::Output) {
          if (t.shape.empty() || t.shape[0] != kBatch) {
            error(e.span, label + " must have the batch dimension first (predict writes one "
                                  "row per sample), got " + t.str());
            n = -1;
          } else if (needsTarget[n]) {
            error(e.span, label + " depends on a target, but predict has no targets");
            n = -1;
          }
        } else if (!t.shape.empty()) {
          error(e.span, label + " must be a scalar, got " + t.str() +
                            "; reduce it, e.g. with mean(...)");
          n = -1;
        } else if (item.kind == Item::Loss && !isFloat(t.dtype)) {
          error(e.span, "loss must be a float scalar, got " + t.str());
          n = -1;
        }
      }
      if (n >= 0 && model.nodes[n].name.empty() && item.kind != Item::Loss)
        model.nodes[n].name = item.name;
      if (n >= 0 && item.kind == Item::Output)
        model.outputs.push_back({item.name, n});
      if (n >= 0 && item.kind == Item::Metric)
        model.metrics.push_back({item.name, n});
      if (item.kind == Item::Loss) {
        lossItem = &item;
        model.loss = n;
      } else {
        declare(item.name, item.nameSpan, Value::tensor(n));
      }
      break;
    }
    }
  }
  // After a syntax error the missing item may be the broken one: say nothing.
  if (!sawInput && parseErrors == 0)
    error(m.nameSpan, "model " + quote(m.name) + " has no input; declare one, e.g. "
                      "`input x: f32[N, 10]`");
  if (!sawOutput && parseErrors == 0)
    error(m.nameSpan, "model " + quote(m.name) + " has no output; add one, e.g. "
                      "`output logits = ...`");
  checkTrain(file);
  if (diags.errorCount() > 0)
    return std::nullopt;
  return std::move(model);
}

void Sema::checkTrain(const File &file) {
  TrainConfig &cfg = model.train;
  for (size_t i = 0; i < file.trains.size(); ++i) {
    const TrainDecl &t = file.trains[i];
    if (i > 0) {
      error(t.span, "only one train block is allowed");
      diags.note(file.trains[0].span.loc, "the first train block is here");
      continue;
    }
    cfg.present = true;
    if (t.name != model.name)
      error(t.nameSpan, "train block names " + quote(t.name) + " but the model is " +
                            quote(model.name));
    std::map<std::string, Span> seen;
    for (const Setting &s : t.settings) {
      if (seen.count(s.key)) {
        error(s.span, "setting " + quote(s.key) + " is given twice");
        diags.note(seen[s.key].loc, "first given here", seen[s.key].length());
        continue;
      }
      seen[s.key] = s.span;
      if (!s.value)
        continue;
      const Expr *e = s.value.get();
      if (s.key == "batch" || s.key == "epochs" || s.key == "seed") {
        auto v = intArg(e, s.key.c_str());
        if (!v)
          continue;
        if (*v < (s.key == "seed" ? 0 : 1)) {
          error(e->span, quote(s.key) + " must be " + (s.key == "seed" ? ">= 0" : ">= 1") +
                             ", got " + std::to_string(*v));
          continue;
        }
        (s.key == "batch" ? cfg.batch : s.key == "epochs" ? cfg.epochs : cfg.seed) = *v;
      } else if (s.key == "shuffle") {
        if (auto v = boolArg(e, "shuffle"))
          cfg.shuffle = *v;
      } else if (s.key == "optimizer") {
        const Signature *sig = e->kind == Expr::Call ? find(others(), e->text) : nullptr;
        bool isSGD = sig && e->text == "SGD", isAdam = sig && e->text == "Adam";
        if (!isSGD && !isAdam) {
          std::string name = e->kind == Expr::Call ? e->text : e->kind == Expr::Name ? e->text : "";
          error(e->span, "the optimizer is SGD(lr, momentum=0, weight_decay=0) or "
                         "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0)" +
                             (name.empty() ? std::string() : suggest(name, {"SGD", "Adam"})));
          continue;
        }
        std::vector<const Expr *> args;
        if (!bind(*e, *sig, args))
          continue;
        std::vector<double> values;
        bool ok = true;
        for (size_t k = 0; k < args.size() && ok; ++k) {
          if (!args[k]) {
            values.push_back(std::strtod(sig->params[k].dflt, nullptr));
            continue;
          }
          auto v = realArg(args[k], sig->params[k].name);
          ok = v.has_value();
          std::string pname = sig->params[k].name;
          bool beta = pname == "beta1" || pname == "beta2";
          if (ok && (!(*v >= 0) || (beta && !(*v < 1)))) {
            error(args[k]->span, quote(pname) + " must be " + (beta ? "in [0, 1)" : ">= 0") +
                                     ", got " + numberText(*v));
            ok = false;
          }
          if (ok)
            values.push_back(*v);
        }
        if (!ok)
          continue;
        cfg.optimizer = isSGD ? TrainConfig::SGD : TrainConfig::Adam;
        cfg.lr = values[0];
        if (isSGD) {
          cfg.momentum = values[1];
          cfg.weightDecay = values[2];
        } else {
          cfg.beta1 = values[1];
          cfg.beta2 = values[2];
          cfg.eps = values[3];
          cfg.weightDecay = values[4];
        }
      } else {
        error(s.span, "unknown train setting " + quote(s.key) +
                          "; accepted: optimizer, batch, epochs, seed, shuffle" +
                          suggest(s.key, {"optimizer", "batch", "epochs", "seed", "shuffle"}));
      }
    }
  }
}

} // namespace

std::optional<Model> analyze(const File &file, Diagnostics &diags) {
  return Sema(diags).run(file);
}

std::optional<Model> checkModel(Diagnostics &diags) {
  Parser parser(diags);
  File file = parser.parseFile();
  if (diags.limitReached()) {
    diags.finish();
    return std::nullopt;
  }
  std::optional<Model> model = analyze(file, diags);
  diags.finish();
  if (diags.errorCount() > 0)
    return std::nullopt;
  return model;
}

} // namespace kiln
