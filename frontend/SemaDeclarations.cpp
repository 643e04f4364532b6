// The model's items: inputs and targets (the batch symbol), params and their
// initializers, named values (tensors, numbers, layers), outputs, the loss and
// metrics; names are defined once, before use.
#include "frontend/SemaImpl.h"

namespace kiln::sema {

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
    case Item::Let:
      declareLet(item);
      break;
    case Item::Output:
    case Item::Loss:
    case Item::Metric:
      declareResult(item);
      break;
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
  // Each input and target is a flag of the executable: `--image FILE`.
  for (const char *flag : kExecutableFlags)
    if (item.name == flag) {
      error(item.nameSpan, std::string(item.kind == Item::Input ? "an " : "a ") + what +
                               " named " + quote(item.name) +
                               " would be the executable's flag --" + item.name +
                               ", which is taken; rename it");
      declare(item.name, item.nameSpan, Value());
      return;
    }
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
  if (item.name == "__metadata__") {
    error(item.nameSpan, "a param cannot be named '__metadata__': a safetensors file keeps "
                         "that name for itself; rename it");
    declare(item.name, item.nameSpan, Value());
    return;
  }
  auto type = declaredType(item.type, false, "param");
  if (type && !isFloat(type->dtype)) {
    error(item.type.span, "a param is learned, so it must be f32 or f64, got " + type->str());
    type.reset();
  }
  std::optional<Init> init = initializer(*item.value);
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

/// `zeros`, `ones`, `uniform(lo, hi)`, `normal(mean, std)`: a name alone when
/// it takes no arguments.
std::optional<Init> Sema::initializer(const Expr &e) {
  std::string name = e.kind == Expr::Name ? e.text : e.kind == Expr::Call ? callName(e) : "";
  const Builtin *b = findBuiltin(BuiltinKind::Initializer, name);
  if (!b) {
    std::vector<std::string> choices; // zeros, uniform(lo, hi): no defaults shown
    for (const Builtin &init : builtins(BuiltinKind::Initializer)) {
      std::string params;
      for (const Param &p : init.params)
        params += (params.empty() ? "" : ", ") + std::string(p.name);
      choices.push_back(init.name + (params.empty() ? "" : "(" + params + ")"));
    }
    error(e.span, "a param's initializer is " + choiceList(choices) +
                      (name.empty() ? "" : suggest(name, builtinNames(BuiltinKind::Initializer))));
    return std::nullopt;
  }
  if (e.kind == Expr::Name && !b->params.empty()) {
    error(e.span, name + " needs its arguments: " + signatureText(*b));
    return std::nullopt;
  }
  Call c{*b, e, std::vector<const Expr *>(b->params.size(), nullptr), {}};
  if (e.kind == Expr::Call && !bind(e, *b, c.args))
    return std::nullopt;
  return (this->*b->init)(c);
}

std::optional<Init> Sema::initZeros(const Call &) { return Init{Init::Zeros, 0, 0}; }

std::optional<Init> Sema::initOnes(const Call &) { return Init{Init::Ones, 0, 0}; }

/// uniform(lo=0, hi=1), lo <= hi.
std::optional<Init> Sema::initUniform(const Call &c) {
  auto lo = realParam(c, 0);
  auto hi = lo ? realParam(c, 1) : std::nullopt;
  if (!hi)
    return std::nullopt;
  if (!(*lo <= *hi)) {
    error(c.span(), c.name() + " needs lo <= hi, got " + numberText(*lo) + " and " +
                        numberText(*hi));
    return std::nullopt;
  }
  return Init{Init::Uniform, *lo, *hi};
}

/// normal(mean=0, std=1), std >= 0.
std::optional<Init> Sema::initNormal(const Call &c) {
  auto mean = realParam(c, 0);
  auto deviation = mean ? realParam(c, 1) : std::nullopt;
  if (!deviation)
    return std::nullopt;
  if (!(*deviation >= 0)) {
    error(c.span(), c.name() + " needs std >= 0, got " + numberText(*deviation));
    return std::nullopt;
  }
  return Init{Init::Normal, *mean, *deviation};
}

void Sema::declareLet(const Item &item) {
  const Expr &e = *item.value;
  Value v;
  if (e.kind == Expr::Call && findBuiltin(BuiltinKind::Layer, callName(e)) &&
      !(!e.text.empty() && symbols.count(e.text) && symbols[e.text].value.kind == Value::Layer)) {
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
}

/// The dtype of the loss and metrics declared so far, if any.
std::optional<DType> Sema::scalarDType() const {
  if (model.loss >= 0)
    return typeOf(model.loss).dtype;
  if (!model.metrics.empty())
    return typeOf(model.metrics.front().node).dtype;
  return std::nullopt;
}

/// An output (per sample, no targets), the loss (a float scalar) or a metric (a scalar).
void Sema::declareResult(const Item &item) {
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
    } else if (!isFloat(t.dtype)) {
      // The executable reports the loss and metrics as floats of one dtype.
      error(e.span, label + " must be a float scalar, got " + t.str() +
                        "; cast it, e.g. f32(...)");
      n = -1;
    } else if (std::optional<DType> other = scalarDType(); other && *other != t.dtype) {
      error(e.span, label + " is " + t.str() + " but the loss and metrics before it are " +
                        dtypeName(*other) + "; cast it, e.g. " + dtypeName(*other) + "(...)");
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
}

} // namespace kiln::sema
