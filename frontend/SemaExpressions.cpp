// Expressions: numbers (folded as Python does), names, operators, tensor
// literals, and calls (of a bound layer or a builtin function).
#include "frontend/SemaImpl.h"

#include <cctype>
#include <cfloat>
#include <climits>
#include <cmath>

namespace kiln::sema {

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
    return Value::tensor(addOp("neg", {x}, typeOf(x), e.span));
  }
  case Expr::Binary:
    return evalBinary(e);
  case Expr::Call:
    return evalCall(e);
  case Expr::List:
    return evalTensorLiteral(e);
  case Expr::Index:
    return evalIndex(e);
  case Expr::Slice: // the parser makes slices only inside an index
    error(e.span, "a slice a:b is allowed only inside an index, x[a:b]");
    return {};
  case Expr::Member:
    return evalMember(e);
  }
  return {};
}

Value Sema::evalName(const Expr &e) {
  auto it = symbols.find(e.text);
  if (it != symbols.end())
    return it->second.value;
  if (e.text == "True" || e.text == "False" || e.text == "None") {
    error(e.span, e.text == "None" ? std::string("there is no None in Kiln; leave the argument out")
                                   : "Kiln's booleans are written " +
                                         std::string(e.text == "True" ? "true" : "false"));
    return {};
  }
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

/// Whether a number survives its trip as a double (constants' data): an
/// integer beyond 2^53 would silently become its neighbour.
static bool exactAsDouble(const Value &v) {
  constexpr int64_t limit = int64_t(1) << 53;
  return v.isFloat || (v.i >= -limit && v.i <= limit);
}

/// A number meeting a tensor of `dtype` becomes a scalar constant of that
/// dtype, as a Python scalar does in PyTorch; it must fit.
int Sema::numberFor(const Value &v, DType dtype, const Expr &e) {
  return numberFits(v, dtype, e) ? constant(v.f, dtype, e.span) : -1;
}

bool Sema::numberFits(const Value &v, DType dtype, const Expr &e) {
  if (v.isFloat && !isFloat(dtype)) {
    error(e.span, "cannot mix the float number " + numberText(v.f) + " with a " +
                      dtypeName(dtype) + " tensor; cast the tensor first, e.g. f32(x)");
    return false;
  }
  if (!exactAsDouble(v) || !fitsDType(v.f, dtype)) {
    error(e.span, doesNotFit(v.isFloat ? numberText(v.f) : std::to_string(v.i), dtype));
    return false;
  }
  return true;
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
    return numberFor(v, v.isFloat ? DType::F32 : DType::I64, e);
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
  if (e.text == "**")
    return evalPower(e);
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
  return applyBinary(op, a, b, e.span);
}

Value Sema::applyBinary(char op, int a, int b, const Span &at) {
  const TensorType &ta = typeOf(a), &tb = typeOf(b);
  const char *verb = op == '+' ? "add" : op == '-' ? "subtract" : op == '*' ? "multiply"
                     : op == '/' ? "divide" : "matrix-multiply";
  if (ta.dtype != tb.dtype) {
    error(at, std::string("cannot ") + verb + " " + ta.str() + " and " + tb.str() +
                      ": dtypes differ (" + dtypeName(ta.dtype) + " vs " +
                      dtypeName(tb.dtype) + "); cast one, e.g. " +
                      dtypeName(isFloat(ta.dtype) ? ta.dtype : tb.dtype) + "(...)");
    return {};
  }
  if (op == '/' && !isFloat(ta.dtype)) {
    error(at, std::string("'/' needs float tensors, got ") + ta.str() +
                      "; cast first, e.g. f32(x) / ...");
    return {};
  }
  std::string err;
  auto shape = op == '@' ? shapes::matmul(ta.shape, tb.shape, err)
                         : shapes::broadcast(ta.shape, tb.shape, err);
  if (!shape) {
    error(at, err);
    return {};
  }
  const char *kind = op == '+' ? "add" : op == '-' ? "sub" : op == '*' ? "mul"
                     : op == '/' ? "div" : "matmul";
  return Value::tensor(addOp(kind, {a, b}, {ta.dtype, *shape}, at));
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
      if (!exactAsDouble(v)) {
        error(a->span, doesNotFit(std::to_string(v.i), DType::I64));
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
  for (double v : data)
    if (!fitsDType(v, dtype)) {
      error(e.span, doesNotFit(numberText(v), dtype));
      return {};
    }
  int n = addNode(OpKind::Constant, {}, {dtype, shape}, e.span);
  if (n >= 0) {
    model.nodes[n].op = "constant";
    model.nodes[n].data = std::move(data);
  }
  return Value::tensor(n);
}

Value Sema::evalCall(const Expr &e) {
  // nn.Linear(...), torch.cat(...): the builtin, its prefix reported.
  const std::string name = e.text.empty() ? callName(e) : e.text;
  if (name.empty()) {
    // Only a named layer can be called: `Linear(3, 4)(x)` has no state_dict name.
    const Expr &callee = *e.callee;
    if (callee.kind == Expr::Member)
      return evalMethodCall(e);
    if (callee.kind == Expr::Call && findBuiltin(BuiltinKind::Layer, callName(callee)))
      error(callee.span, "a layer must be bound to a name before it is called (its "
                         "parameters are named after it): write `fc = " +
                             clip(callName(callee)) + "(...)`, then `fc(x)`");
    else if (eval(callee).kind != Value::Poison)
      error(callee.span, "only a layer bound to a name can be called");
    return {};
  }
  // A module path never names a model's layer.
  auto sym = e.text.empty() ? symbols.end() : symbols.find(name);
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
  if (const Builtin *fn = findBuiltin(BuiltinKind::Function, name))
    return evalFunction(e, *fn);
  if (findBuiltin(BuiltinKind::Layer, name)) {
    error(e.span, "a layer must be bound to a name, e.g. `fc = " + clip(name) +
                      "(...)`, and then called: `fc(x)`");
    return {};
  }
  if (sym != symbols.end()) {
    if (sym->second.value.kind != Value::Poison)
      error(e.callee->span, quote(name) + " is not a layer and cannot be called");
    return {};
  }
  std::vector<std::string> known = builtinNames(BuiltinKind::Function);
  for (const std::string &layer : builtinNames(BuiltinKind::Layer))
    known.push_back(layer);
  bool layerLike = std::isupper(static_cast<unsigned char>(name[0]));
  std::string advice = pytorchAdvice(name);
  error(e.callee->span, std::string("unknown ") + (layerLike ? "layer " : "function ") +
                            quote(calleeText(e)) +
                            (advice.empty() ? suggest(name, known) : "; " + advice));
  return {};
}

//===--------------------------------------------------------------------===//
// Powers and indexing
//===--------------------------------------------------------------------===//

/// `x ** p`: a tensor to a number's power (kiln.pow), or two numbers folded.
Value Sema::evalPower(const Expr &e) {
  Value l = eval(*e.args[0]), r = eval(*e.args[1]);
  if (r.kind == Value::Tensor || r.kind == Value::Layer || r.kind == Value::Bool) {
    error(e.args[1]->span, "the exponent of '**' must be a number, as in x ** 2");
    return {};
  }
  if (l.kind == Value::Poison || r.kind == Value::Poison)
    return {};
  if (l.kind == Value::Number)
    return foldPower(e, l, r);
  int x = toTensor(l, *e.args[0]);
  if (x < 0)
    return {};
  TensorType t = typeOf(x);
  if (!isFloat(t.dtype)) {
    if (r.isFloat) {
      std::string p = sourceText(e.args[1]->span);
      error(e.span, "cannot raise a " + t.str() + " tensor to the float power " + p +
                        "; cast it first, e.g. f32(x) ** " + p);
      return {};
    }
    if (r.i < 0) {
      error(e.span, "an integer tensor cannot take a negative power (as in PyTorch); cast it "
                    "first, e.g. f32(x) ** " + std::to_string(r.i));
      return {};
    }
  }
  return Value::tensor(addOp("pow", {x}, t, e.span, {OpAttr::number("exponent", r.f)}));
}

/// Python's `**` on numbers: an int to a non-negative int is an int (it
/// must fit), anything else a float.
Value Sema::foldPower(const Expr &e, const Value &l, const Value &r) {
  if (!l.isFloat && !r.isFloat && r.i >= 0) {
    int64_t result = 1, base = l.i;
    for (int64_t k = r.i; k > 0; k >>= 1) {
      if ((k & 1) && __builtin_mul_overflow(result, base, &result)) {
        error(e.span, "integer overflow in a constant expression");
        return {};
      }
      if (k > 1 && __builtin_mul_overflow(base, base, &base)) {
        error(e.span, "integer overflow in a constant expression");
        return {};
      }
    }
    return Value::number(result);
  }
  if (l.f == 0 && r.f < 0) {
    error(e.span, "division by zero in a constant expression (0 to a negative power)");
    return {};
  }
  if (l.f < 0 && r.f != std::trunc(r.f)) {
    error(e.span, "a negative number to a fractional power is not a real number");
    return {};
  }
  double v = std::pow(l.f, r.f);
  if (!std::isfinite(v)) {
    error(e.span, "a constant expression overflows a double");
    return {};
  }
  return Value::real(v);
}

/// `x[i, a:b:s, :]`, PyTorch's basic indexing: an integer picks one element
/// of its dimension and drops it (negative counts from the end), a slice
/// keeps a window (ends clamped, as Python's slices), `:` and missing
/// trailing entries keep the whole dimension; the batch takes only `:`.
Value Sema::evalIndex(const Expr &e) {
  Value base = eval(*e.args[0]);
  if (base.kind == Value::Number) {
    error(e.args[0]->span, "cannot index a number");
    return {};
  }
  int x = toTensor(base, *e.args[0]);
  size_t entries = e.args.size() - 1;
  if (x < 0)
    return {};
  TensorType t = typeOf(x);
  int64_t rank = static_cast<int64_t>(t.shape.size());
  if (entries == 0) {
    error(e.span, "an index needs at least one entry, as in x[:, 0]");
    return {};
  }
  if (static_cast<int64_t>(entries) > rank) {
    error(e.args[rank + 1]->span, "too many indices for " + t.str() + ": " +
                                      std::to_string(entries) + " for " +
                                      std::to_string(rank) + " dimensions");
    return {};
  }
  auto batchOnly = [&](const Expr &entry, int64_t d) {
    error(entry.span, "dimension " + std::to_string(d) + " of " + t.str() +
                          " is the batch, which takes only ':' (every sample)");
  };
  /// An integer index or slice part; nullopt (reported) otherwise.
  auto integer = [&](const Expr &part, const char *what) -> std::optional<int64_t> {
    Value v = eval(part);
    if (v.kind == Value::Poison)
      return std::nullopt;
    if (v.kind == Value::Tensor) {
      error(part.span, "indexing with a tensor is not supported: indices are integers and "
                       "slices a:b:s");
      return std::nullopt;
    }
    if (v.kind != Value::Number || v.isFloat) {
      error(part.span, std::string("expected an integer for the ") + what);
      return std::nullopt;
    }
    return v.i;
  };
  std::vector<int64_t> starts, sizes, steps, dropped;
  bool ok = true, whole = true;
  for (int64_t d = 0; d < rank; ++d) {
    const Expr *entry = d < static_cast<int64_t>(entries) ? e.args[d + 1].get() : nullptr;
    int64_t size = t.shape[d];
    auto keepWhole = [&] {
      starts.push_back(0);
      sizes.push_back(shapes::kWhole);
      steps.push_back(1);
    };
    if (!entry || (entry->kind == Expr::Slice && entry->sliceParts == 0)) {
      keepWhole();
      continue;
    }
    if (entry->kind != Expr::Slice) {
      auto i = integer(*entry, "index");
      if (!i) {
        ok = false;
        continue;
      }
      if (size == kBatch) {
        batchOnly(*entry, d);
        ok = false;
        continue;
      }
      if (*i < -size || *i >= size) {
        error(entry->span, "index " + std::to_string(*i) + " is out of range for dimension " +
                               std::to_string(d) + " of " + t.str() + " (size " +
                               std::to_string(size) + ")");
        ok = false;
        continue;
      }
      starts.push_back(*i < 0 ? *i + size : *i);
      sizes.push_back(1);
      steps.push_back(1);
      dropped.push_back(d);
      whole = false;
      continue;
    }
    std::optional<int64_t> part[3];
    bool partsOk = true;
    const int which[3] = {Expr::kStart, Expr::kStop, Expr::kStep};
    const char *names[3] = {"slice's start", "slice's stop", "slice's step"};
    for (int k = 0; k < 3; ++k)
      if (const Expr *p = entry->slicePart(which[k]))
        partsOk = (part[k] = integer(*p, names[k])).has_value() && partsOk;
    if (!partsOk) {
      ok = false;
      continue;
    }
    int64_t step = part[2].value_or(1);
    if (step < 1) {
      error(entry->slicePart(Expr::kStep)->span,
            step == 0 ? "a slice's step cannot be zero"
                      : "a slice's step must be positive, as in PyTorch (no negative steps)");
      ok = false;
      continue;
    }
    if (size == kBatch) {
      if (part[0] || part[1] || step != 1) {
        batchOnly(*entry, d);
        ok = false;
      } else {
        keepWhole();
      }
      continue;
    }
    // Python's slice.indices: negative ends count from the end, then clamp.
    auto end = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v)
        return dflt;
      int64_t p = *v < 0 ? (*v < -size ? 0 : *v + size) : *v;
      return p > size ? size : p;
    };
    int64_t start = end(part[0], 0), stop = end(part[1], size);
    int64_t count = stop > start ? (stop - start - 1) / step + 1 : 0; // no overflow
    if (count == 0) {
      error(entry->span, "the slice selects no elements of dimension " + std::to_string(d) +
                             " of " + t.str() + " (size " + std::to_string(size) +
                             "); a tensor needs at least one");
      ok = false;
      continue;
    }
    if (start == 0 && step == 1 && count == size) {
      keepWhole();
      continue;
    }
    starts.push_back(start);
    sizes.push_back(count);
    steps.push_back(step);
    whole = false;
  }
  if (!ok)
    return {};
  if (whole)
    return Value::tensor(x);
  std::string err;
  auto shape = shapes::index(t.shape, starts, sizes, steps, dropped, err);
  if (!shape) {
    error(e.span, err);
    return {};
  }
  return Value::tensor(addOp("index", {x}, {t.dtype, *shape}, e.span,
                             {OpAttr::integers("starts", starts), OpAttr::integers("sizes", sizes),
                              OpAttr::integers("steps", steps),
                              OpAttr::integers("dropped", dropped)}));
}

} // namespace kiln::sema
