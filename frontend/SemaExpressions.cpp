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

/// Whether a number survives its trip as a double (constants' data): an
/// integer beyond 2^53 would silently become its neighbour.
static bool exactAsDouble(const Value &v) {
  constexpr int64_t limit = int64_t(1) << 53;
  return v.isFloat || (v.i >= -limit && v.i <= limit);
}

/// A number meeting a tensor of `dtype` becomes a scalar constant of that
/// dtype, as a Python scalar does in PyTorch; it must fit.
int Sema::numberFor(const Value &v, DType dtype, const Expr &e) {
  if (v.isFloat && !isFloat(dtype)) {
    error(e.span, "cannot mix the float number " + numberText(v.f) + " with a " +
                      dtypeName(dtype) + " tensor; cast the tensor first, e.g. f32(x)");
    return -1;
  }
  if (!exactAsDouble(v) || !fitsDType(v.f, dtype)) {
    error(e.span, doesNotFit(v.isFloat ? numberText(v.f) : std::to_string(v.i), dtype));
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
  const char *kind = op == '+' ? "add" : op == '-' ? "sub" : op == '*' ? "mul"
                     : op == '/' ? "div" : "matmul";
  return Value::tensor(addOp(kind, {a, b}, {ta.dtype, *shape}, e.span));
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
  if (e.text.empty()) {
    // Only a named layer can be called: `Linear(3, 4)(x)` has no state_dict name.
    const Expr &callee = *e.callee;
    if (callee.kind == Expr::Call && findBuiltin(BuiltinKind::Layer, callee.text))
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
  error(e.callee->span, std::string("unknown ") + (layerLike ? "layer " : "function ") +
                            quote(name) + suggest(name, known));
  return {};
}

} // namespace kiln::sema
