// Function calls: the generic part (bind, evaluate the tensor operands, check
// the dtype the table asks for), then the rule the table names, which reads
// the other arguments, types the result and sets the op's attributes.
#include "frontend/SemaImpl.h"

#include <algorithm>

namespace kiln::sema {

Value Sema::evalFunction(const Expr &e, const Builtin &fn) {
  Call call{fn, e, {}, {}};
  if (!bind(e, fn, call.args))
    return {};
  bool ok = true; // every operand is checked: independent errors all show
  for (size_t k = 0; k < fn.params.size(); ++k) {
    if (!fn.params[k].tensor)
      continue;
    int t = tensorArg(call.args[k]);
    ok = ok && t >= 0;
    call.tensors.push_back(t);
  }
  if (!ok)
    return {};
  if (!call.tensors.empty() && !hasNeededDType(call))
    return {};
  return (this->*fn.rule)(call);
}

/// The first tensor's dtype against the row's `needs`.
bool Sema::hasNeededDType(const Call &c) {
  const TensorType &t = typeOf(c.tensors[0]);
  Needs needs = c.builtin.needs;
  if (needs == Needs::AnyDType || isFloat(t.dtype))
    return true;
  size_t k = 0;
  while (!c.builtin.params[k].tensor)
    ++k;
  bool logProbs = std::string(c.builtin.params[k].name) == "log_probs";
  const char *what = needs == Needs::FloatPredictions ? "float predictions"
                     : needs == Needs::FloatLogits
                         ? (logProbs ? "float log-probabilities" : "float logits")
                         : "a float tensor";
  error(c.args[k]->span, c.name() + " needs " + what + ", got " + t.str() + "; cast " +
                             (needs == Needs::FloatTensor ? "it" : "them") +
                             " first, e.g. f32(x)");
  return false;
}

//===--------------------------------------------------------------------===//
// Element-wise
//===--------------------------------------------------------------------===//

/// x's type; each other parameter is a number and becomes the op's attribute
/// of the same name (leaky_relu(x, negative_slope=0.01) would be one row).
Value Sema::unary(const Call &c) {
  int x = c.tensors[0];
  std::vector<OpAttr> attrs;
  for (size_t k = 0; k < c.builtin.params.size(); ++k) {
    if (c.builtin.params[k].tensor)
      continue;
    auto v = realParam(c, k);
    if (!v)
      return {};
    attrs.push_back(OpAttr::number(c.builtin.params[k].name, *v));
  }
  return Value::tensor(addOp(c.builtin.op, {x}, typeOf(x), c.span(), std::move(attrs)));
}

/// f32(x), ...: the dtype is the function's name; a cast to x's own dtype is x.
Value Sema::cast(const Call &c) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  DType dtype = *parseDType(c.builtin.name);
  if (tx.dtype == dtype)
    return Value::tensor(x);
  // A constant must keep its value (i32(1e10) or u8(1000.0) would silently
  // be something else); a tensor's values are known only at run time.
  if (model.nodes[x].kind == OpKind::Constant)
    for (double v : model.nodes[x].data)
      if (!fitsDType(v, dtype)) {
        error(c.span(), doesNotFit(numberText(v), dtype));
        return {};
      }
  return Value::tensor(addOp(c.builtin.op, {x}, {dtype, tx.shape}, c.span()));
}

//===--------------------------------------------------------------------===//
// Along a dimension, and reductions
//===--------------------------------------------------------------------===//

/// softmax(x, dim=-1), log_softmax(x, dim=-1).
Value Sema::softmaxLike(const Call &c) {
  int x = c.tensors[0];
  int64_t rank = static_cast<int64_t>(typeOf(x).shape.size());
  std::optional<int64_t> dim;
  if (c.args[1]) {
    dim = dimArg(c.args[1], rank, "dim");
  } else {
    std::string err;
    dim = shapes::normalizeDim(*intParam(c, 1), rank, err);
    if (!dim)
      error(c.args[0]->span, c.name() + ": " + err);
  }
  if (!dim)
    return {};
  return Value::tensor(
      addOp(c.builtin.op, {x}, typeOf(x), c.span(), {OpAttr::integer("dim", *dim)}));
}

/// sum(x, dim=ALL, keepdim=false), mean(...): dim is one dim or a list.
Value Sema::reduce(const Call &c) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  int64_t rank = static_cast<int64_t>(tx.shape.size());
  auto keepdim = boolParam(c, 2);
  if (!keepdim)
    return {};
  std::vector<int64_t> dims;
  if (c.args[1]) {
    std::vector<const Expr *> list;
    if (c.args[1]->kind == Expr::List)
      for (const ExprPtr &a : c.args[1]->args)
        list.push_back(a.get());
    else
      list.push_back(c.args[1]);
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
  return Value::tensor(addOp(c.builtin.op, {x},
                             {tx.dtype, shapes::reduce(tx.shape, dims, *keepdim)}, c.span(),
                             {OpAttr::integers("dims", dims), OpAttr::boolean("keepdim", *keepdim)}));
}

/// max(x, dim, keepdim=false): the values.
Value Sema::reduceDim(const Call &c) { return reduceAlongDim(c, typeOf(c.tensors[0]).dtype); }

/// argmax(x, dim, keepdim=false): the index of the first largest value, i64.
Value Sema::argReduceDim(const Call &c) { return reduceAlongDim(c, DType::I64); }

Value Sema::reduceAlongDim(const Call &c, DType result) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  auto keepdim = boolParam(c, 2);
  auto dim = keepdim ? dimArg(c.args[1], static_cast<int64_t>(tx.shape.size()), "dim")
                     : std::nullopt;
  if (!dim)
    return {};
  return Value::tensor(addOp(c.builtin.op, {x},
                             {result, shapes::reduce(tx.shape, {*dim}, *keepdim)}, c.span(),
                             {OpAttr::integer("dim", *dim), OpAttr::boolean("keepdim", *keepdim)}));
}

//===--------------------------------------------------------------------===//
// Shape
//===--------------------------------------------------------------------===//

/// transpose(x, d0=-2, d1=-1): the op takes the whole permutation.
Value Sema::transpose(const Call &c) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  int64_t rank = static_cast<int64_t>(tx.shape.size());
  auto d0 = intParam(c, 1);
  auto d1 = intParam(c, 2);
  if (!d0 || !d1)
    return {};
  std::string err;
  auto shape = shapes::transpose(tx.shape, *d0, *d1, err);
  if (!shape) {
    error(c.span(), c.name() + " of " + tx.str() + ": " + err);
    return {};
  }
  int64_t a = *d0 < 0 ? *d0 + rank : *d0, b = *d1 < 0 ? *d1 + rank : *d1;
  std::vector<int64_t> permutation;
  for (int64_t d = 0; d < rank; ++d)
    permutation.push_back(d == a ? b : d == b ? a : d);
  return Value::tensor(addOp(c.builtin.op, {x}, {tx.dtype, *shape}, c.span(),
                             {OpAttr::integers("permutation", permutation)}));
}

/// reshape(x, shape): the result type is the whole story. A leading -1 in
/// front of sizes that multiply to one sample's size is the batch, as
/// x.reshape(-1, 1, 28, 28) is in PyTorch.
Value Sema::reshape(const Call &c) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  auto target = shapeArg(c.args[1], true);
  if (!target)
    return {};
  bool hasBatch = std::count(tx.shape.begin(), tx.shape.end(), kBatch) > 0;
  if (hasBatch && !target->empty() && (*target)[0] == shapes::kInferred &&
      std::count(target->begin(), target->end(), kBatch) == 0) {
    int64_t sample = 1, rest = 1;
    for (int64_t d : tx.shape)
      if (d != kBatch)
        sample *= d; // no overflow: the type's element count fits
    bool restOverflows = false;
    for (size_t i = 1; i < target->size(); ++i)
      restOverflows = restOverflows || (*target)[i] == shapes::kInferred ||
                      __builtin_mul_overflow(rest, (*target)[i], &rest);
    if (restOverflows || rest != sample) {
      error(c.span(), "cannot reshape " + tx.str() + " to " + sourceText(c.args[1]->span) +
                          ": a leading -1 stands for the batch only when the other sizes "
                          "multiply to one sample's " + std::to_string(sample) +
                          " elements" + (restOverflows ? "" : ", not " + std::to_string(rest)));
      return {};
    }
    (*target)[0] = kBatch;
  }
  std::string err;
  auto shape = shapes::reshape(tx.shape, *target, err);
  if (!shape) {
    error(c.span(), err);
    return {};
  }
  return Value::tensor(addOp(c.builtin.op, {x}, {tx.dtype, *shape}, c.span()));
}

/// flatten(x, start_dim=1, end_dim=-1): a reshape.
Value Sema::flatten(const Call &c) {
  auto start = intParam(c, 1);
  auto end = intParam(c, 2);
  if (!start || !end)
    return {};
  return Value::tensor(flattenNode(c.tensors[0], *start, *end, c.span(), c.args[1], c.builtin.op));
}

int Sema::flattenNode(int x, int64_t start, int64_t end, const Span &at, const Expr *startE,
                      const std::string &op) {
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
  return addOp(op, {x}, {tx.dtype, shape}, at);
}

/// concat([a, b, ...], dim=0): one dtype, the same shape but along dim.
Value Sema::concat(const Call &c) {
  const Expr *list = c.args[0];
  if (list->kind != Expr::List || list->args.empty()) {
    error(list->span, c.name() + " takes a list of tensors: " + c.name() + "([a, b], dim)");
    return {};
  }
  std::vector<int> pieces;
  std::vector<Shape> shapesIn;
  std::vector<int> evaluated; // every piece first: independent errors all show
  for (const ExprPtr &p : list->args)
    evaluated.push_back(tensorArg(p.get()));
  if (std::find(evaluated.begin(), evaluated.end(), -1) != evaluated.end())
    return {};
  for (size_t i = 0; i < evaluated.size(); ++i) {
    const ExprPtr &p = list->args[i];
    int t = evaluated[i];
    if (typeOf(t).dtype != typeOf(pieces.empty() ? t : pieces[0]).dtype) {
      error(p->span, c.name() + " needs one dtype: " + typeOf(pieces[0]).str() + " and " +
                         typeOf(t).str() + "; cast one first");
      return {};
    }
    pieces.push_back(t);
    shapesIn.push_back(typeOf(t).shape);
  }
  auto dim = intParam(c, 1);
  if (!dim)
    return {};
  std::string err;
  auto shape = shapes::concat(shapesIn, *dim, err);
  if (!shape) {
    error(c.args[1] && err.rfind("dim ", 0) == 0 ? c.args[1]->span : c.span(), err);
    return {};
  }
  int64_t d = *dim < 0 ? *dim + static_cast<int64_t>(shape->size()) : *dim;
  return Value::tensor(addOp(c.builtin.op, pieces, {typeOf(pieces[0]).dtype, *shape}, c.span(),
                             {OpAttr::integer("dim", d)}));
}

//===--------------------------------------------------------------------===//
// Creation: zeros, ones, full
//===--------------------------------------------------------------------===//

namespace {
/// A fill of `shape` (which may hold the batch) with `value`.
int fill(Sema &S, const Call &c, const Shape &shape, double value, DType dtype) {
  int n = S.addNode(OpKind::Fill, {}, {dtype, shape}, c.span());
  if (n >= 0) {
    S.model.nodes[n].op = c.builtin.op;
    S.model.nodes[n].attrs = {OpAttr::number("value", value)};
  }
  return n;
}
} // namespace

Value Sema::fillWithZeros(const Call &c) {
  auto shape = shapeArg(c.args[0], false);
  return shape ? Value::tensor(fill(*this, c, *shape, 0, DType::F32)) : Value();
}

Value Sema::fillWithOnes(const Call &c) {
  auto shape = shapeArg(c.args[0], false);
  return shape ? Value::tensor(fill(*this, c, *shape, 1, DType::F32)) : Value();
}

/// full(shape, value): f32 for a float value, else i64 (torch.full's rule).
Value Sema::fillWithValue(const Call &c) {
  auto shape = shapeArg(c.args[0], false);
  if (!shape)
    return {};
  Value v = eval(*c.args[1]);
  if (v.kind == Value::Poison)
    return {};
  if (v.kind != Value::Number) {
    error(c.args[1]->span, "expected a number for 'value'");
    return {};
  }
  return Value::tensor(fill(*this, c, *shape, v.f, v.isFloat ? DType::F32 : DType::I64));
}

//===--------------------------------------------------------------------===//
// Losses and the metric: scalars of the input's dtype
//===--------------------------------------------------------------------===//

/// mse, bce_with_logits: input and target of one dtype and one shape.
Value Sema::sameShapeLoss(const Call &c) {
  int x = c.tensors[0], y = c.tensors[1];
  TensorType tx = typeOf(x), ty = typeOf(y);
  if (ty.dtype != tx.dtype) {
    error(c.args[1]->span, c.name() + " needs a target of the same dtype as its input: " +
                               tx.str() + " and " + ty.str() + "; cast one, e.g. " +
                               dtypeName(tx.dtype) + "(target)");
    return {};
  }
  if (ty.shape != tx.shape) {
    error(c.span(), c.name() + " needs input and target of the same shape, got " + tx.str() +
                        " and " + ty.str());
    return {};
  }
  return Value::tensor(addOp(c.builtin.op, {x, y}, {tx.dtype, {}}, c.span()));
}

/// cross_entropy, accuracy: logits [N, C] and an integer class index [N].
Value Sema::classIndexLoss(const Call &c) {
  int x = c.tensors[0], y = c.tensors[1];
  TensorType tx = typeOf(x), ty = typeOf(y);
  std::string name = c.name();
  if (tx.shape.size() != 2) {
    bool logProbs = std::string(c.builtin.params[0].name) == "log_probs";
    error(c.args[0]->span, name + " needs " + (logProbs ? "log-probabilities" : "logits") +
                               " [N, C], got " + tx.str());
    return {};
  }
  if (isFloat(ty.dtype) || ty.shape.size() != 1) {
    error(c.args[1]->span, name + " needs a class index target: an integer tensor [N] "
                                  "(i64, i32 or u8) of class numbers, got " + ty.str());
    return {};
  }
  if (ty.shape[0] != tx.shape[0]) {
    auto size = [](int64_t d) { return d == kBatch ? std::string("N") : std::to_string(d); };
    error(c.span(), name + ": input " + tx.str() + " and target " + ty.str() +
                        " have different sample counts (dimension 0 is " + size(tx.shape[0]) +
                        " vs " + size(ty.shape[0]) + ")");
    return {};
  }
  return Value::tensor(addOp(c.builtin.op, {x, y}, {tx.dtype, {}}, c.span()));
}

//===--------------------------------------------------------------------===//
// matmul and clamp
//===--------------------------------------------------------------------===//

/// matmul(a, b): `a @ b`.
Value Sema::matmul(const Call &c) { return applyBinary('@', c.tensors[0], c.tensors[1], c.span()); }

/// clamp(x, min, max): either bound left out, not both; a bound is a number
/// that fits x's dtype (an integer for integer tensors).
Value Sema::clamp(const Call &c) {
  int x = c.tensors[0];
  TensorType tx = typeOf(x);
  std::vector<OpAttr> attrs;
  bool ok = true;
  for (size_t k : {1, 2}) {
    if (!c.args[k])
      continue;
    auto v = scalarArg(c.args[k], [](const Value &n) { return n.kind == Value::Number; },
                       "a number", c.builtin.params[k].name);
    if (!v || !numberFits(*v, tx.dtype, *c.args[k])) {
      ok = false;
      continue;
    }
    attrs.push_back(OpAttr::number(c.builtin.params[k].name, v->f));
  }
  if (!ok)
    return {};
  if (attrs.empty()) {
    error(c.span(), "clamp needs a min, a max or both: clamp(x, min, max), clamp(x, max=6.0)");
    return {};
  }
  return Value::tensor(addOp(c.builtin.op, {x}, tx, c.span(), std::move(attrs)));
}

} // namespace kiln::sema
