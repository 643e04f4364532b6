// The builtins table (Builtins.def), signatures, and a call's arguments:
// binding them to a signature and reading them as numbers, sizes and shapes.
#include "frontend/SemaImpl.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace kiln::sema {

namespace {

Builtin function(const char *name, const char *op, FunctionRule rule, Needs needs,
                 std::vector<Param> params) {
  Builtin b{BuiltinKind::Function, name, op, needs, std::move(params)};
  b.rule = rule;
  return b;
}

Builtin layer(const char *name, const char *op, LayerBuild build, LayerApply apply, Needs needs,
              std::vector<Param> params) {
  Builtin b{BuiltinKind::Layer, name, op, needs, std::move(params)};
  b.build = build;
  b.apply = apply;
  return b;
}

Builtin container(const char *name, LayerBuild build, LayerApply apply) {
  Builtin b = layer(name, "", build, apply, Needs::AnyDType, {});
  b.variadic = true;
  return b;
}

Builtin optimizer(const char *name, OptimizerKind optimizer, std::vector<Param> params) {
  Builtin b{BuiltinKind::Optimizer, name, "", Needs::AnyDType, std::move(params)};
  b.optimizer = optimizer;
  return b;
}

Builtin scheduler(const char *name, SchedulerKind scheduler, std::vector<Param> params) {
  Builtin b{BuiltinKind::Scheduler, name, "", Needs::AnyDType, std::move(params)};
  b.scheduler = scheduler;
  return b;
}

Builtin initializer(const char *name, InitRule rule, std::vector<Param> params) {
  Builtin b{BuiltinKind::Initializer, name, "", Needs::AnyDType, std::move(params)};
  b.init = rule;
  return b;
}

std::vector<Builtin> table() {
  return {
#define KILN_FUNCTION(NAME, OP, RULE, NEEDS, ...)                                                \
  function(NAME, OP, &Sema::RULE, Needs::NEEDS, {__VA_ARGS__}),
#define KILN_LAYER(NAME, OP, BUILD, APPLY, NEEDS, ...)                                           \
  layer(NAME, OP, &Sema::BUILD, &Sema::APPLY, Needs::NEEDS, {__VA_ARGS__}),
#define KILN_CONTAINER(NAME, BUILD, APPLY) container(NAME, &Sema::BUILD, &Sema::APPLY),
#define KILN_OPTIMIZER(NAME, OPTIMIZER, ...)                                                     \
  optimizer(NAME, OptimizerKind::OPTIMIZER, {__VA_ARGS__}),
#define KILN_SCHEDULER(NAME, SCHEDULER, ...)                                                     \
  scheduler(NAME, SchedulerKind::SCHEDULER, {__VA_ARGS__}),
#define KILN_INITIALIZER(NAME, RULE, ...) initializer(NAME, &Sema::RULE, {__VA_ARGS__}),
#include "frontend/Builtins.def"
  };
}

} // namespace

const std::vector<Builtin> &builtins(BuiltinKind kind) {
  static const std::vector<std::vector<Builtin>> byKind = [] {
    std::vector<std::vector<Builtin>> lists(5);
    for (Builtin &b : table())
      lists[static_cast<size_t>(b.kind)].push_back(std::move(b));
    return lists;
  }();
  return byKind[static_cast<size_t>(kind)];
}

const Builtin *findBuiltin(BuiltinKind kind, const std::string &name) {
  for (const Builtin &b : builtins(kind))
    if (name == b.name)
      return &b;
  return nullptr;
}

std::vector<std::string> builtinNames(BuiltinKind kind) {
  std::vector<std::string> names;
  for (const Builtin &b : builtins(kind))
    names.push_back(b.name);
  return names;
}

std::string signatureText(const Builtin &b) {
  std::string s = std::string(b.name) + "(";
  for (size_t i = 0; i < b.params.size(); ++i) {
    s += i ? ", " : "";
    s += b.params[i].name;
    if (b.params[i].dflt)
      s += std::string("=") + b.params[i].dflt;
  }
  return s + (b.variadic ? "layers...)" : ")");
}

//===--------------------------------------------------------------------===//
// Binding and reading arguments
//===--------------------------------------------------------------------===//

bool Sema::bind(const Expr &call, const Builtin &sig, std::vector<const Expr *> &args) {
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
  bool ok = true;
  for (const Kwarg &kw : call.kwargs) {
    size_t k = 0;
    while (k < sig.params.size() && kw.name != sig.params[k].name &&
           !(sig.params[k].pytorchAlias && kw.name == sig.params[k].pytorchAlias))
      ++k;
    if (k == sig.params.size() && kw.name == "inplace") {
      error(kw.span, "Kiln has no in-place operations: drop 'inplace'");
      ok = false;
      continue;
    }
    if (k == sig.params.size()) {
      std::string accepted;
      for (const Param &p : sig.params) {
        accepted += (accepted.empty() ? "" : ", ") + std::string(p.name);
        if (p.pytorchAlias)
          accepted += std::string(" (or ") + p.pytorchAlias + ")";
      }
      error(kw.span, "unknown keyword argument " + quote(kw.name) + " for " + sig.name +
                         (accepted.empty() ? "; it takes no keyword arguments"
                                           : "; accepted: " + accepted));
      ok = false; // the other keywords are checked too
      continue;
    }
    if (args[k]) {
      bool positional = k < call.args.size();
      error(kw.span, "argument '" + std::string(sig.params[k].name) + "' of " + sig.name +
                         " is given twice" + (positional ? " (by position and by keyword)" : ""));
      ok = false;
      continue;
    }
    args[k] = kw.value.get();
  }
  for (size_t k = 0; k < sig.params.size() && ok; ++k)
    if (!args[k] && !sig.params[k].dflt) {
      error(call.span, "missing argument '" + std::string(sig.params[k].name) + "' in call to " +
                           signatureText(sig));
      return false;
    }
  return ok;
}

/// `e`'s value if `accepted`; otherwise "expected EXPECTED for 'WHAT'" (nothing
/// more when it is poisoned) and nullopt.
std::optional<Value> Sema::scalarArg(const Expr *e, bool (*accepted)(const Value &),
                                     const char *expected, const char *what) {
  Value v = eval(*e);
  if (v.kind == Value::Poison)
    return std::nullopt;
  if (accepted(v))
    return v;
  error(e->span, std::string("expected ") + expected + " for '" + what + "'");
  return std::nullopt;
}

std::optional<int64_t> Sema::intArg(const Expr *e, const char *what) {
  auto v = scalarArg(
      e, [](const Value &x) { return x.kind == Value::Number && !x.isFloat; }, "an integer", what);
  return v ? std::optional<int64_t>(v->i) : std::nullopt;
}

std::optional<double> Sema::realArg(const Expr *e, const char *what) {
  auto v = scalarArg(e, [](const Value &x) { return x.kind == Value::Number; }, "a number", what);
  return v ? std::optional<double>(v->f) : std::nullopt;
}

std::optional<bool> Sema::boolArg(const Expr *e, const char *what) {
  auto v = scalarArg(e, [](const Value &x) { return x.kind == Value::Bool; }, "true or false",
                     what);
  return v ? std::optional<bool>(v->b) : std::nullopt;
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

std::optional<int64_t> Sema::intParam(const Call &c, size_t k) {
  const Param &p = c.builtin.params[k];
  return c.args[k] ? intArg(c.args[k], p.name) : std::strtoll(p.dflt, nullptr, 10);
}

std::optional<double> Sema::realParam(const Call &c, size_t k) {
  const Param &p = c.builtin.params[k];
  return c.args[k] ? realArg(c.args[k], p.name) : std::strtod(p.dflt, nullptr);
}

std::optional<bool> Sema::boolParam(const Call &c, size_t k) {
  const Param &p = c.builtin.params[k];
  return c.args[k] ? boolArg(c.args[k], p.name) : std::strcmp(p.dflt, "true") == 0;
}

std::optional<std::pair<int64_t, int64_t>> Sema::pairParam(const Call &c, size_t k,
                                                           int64_t least) {
  const Param &p = c.builtin.params[k];
  if (c.args[k])
    return pairArg(c.args[k], p.name, least);
  int64_t v = std::strtoll(p.dflt, nullptr, 10);
  return std::make_pair(v, v);
}

} // namespace kiln::sema
