// Layers: constructing one (`fc = Linear(4, 2)`: its arguments, and its
// parameters named `fc.*` in state_dict order with nn's default init) and
// applying it (`fc(x)`: the input's dtype and shape, then the node).
#include "frontend/SemaImpl.h"

#include <cmath>

namespace kiln::sema {

namespace {
/// A kernel, stride or padding as a user would write it: 3 or [3, 5].
std::string pairText(std::pair<int64_t, int64_t> p) {
  return p.first == p.second ? std::to_string(p.first)
                             : "[" + std::to_string(p.first) + ", " + std::to_string(p.second) +
                                   "]";
}

std::string sizeText(int64_t d) { return d == kBatch ? std::string("N") : std::to_string(d); }
} // namespace

/// Builds the layer that `call` constructs, naming its parameters `prefix.*`
/// now, in state_dict order.
int Sema::buildLayer(const Expr &call, const std::string &prefix) {
  const Builtin *b = findBuiltin(BuiltinKind::Layer, callName(call));
  if (!b)
    return -1;
  Call c{*b, call, {}, {}};
  if (!bind(call, *b, c.args))
    return -1;
  Layer L;
  L.builtin = b;
  L.name = prefix;
  L.span = call.span;
  if (!(this->*b->build)(L, c))
    return -1;
  for (int p : L.params)
    if (p < 0)
      return -1;
  layerTable.push_back(std::move(L));
  return static_cast<int>(layerTable.size()) - 1;
}

int Sema::applyLayer(int index, int x, const Span &at) {
  const Layer &L = layerTable[index];
  TensorType tx = typeOf(x);
  if (!L.params.empty() && tx.dtype != DType::F32) {
    error(at, L.label() + " has f32 parameters, so it needs an f32 input, got " + tx.str() +
                  "; cast it, e.g. f32(x)");
    return -1;
  }
  if (L.builtin->needs != Needs::AnyDType && !isFloat(tx.dtype)) {
    error(at, L.label() + " needs a float input, got " + tx.str() + "; cast it, e.g. f32(x)");
    return -1;
  }
  return (this->*L.builtin->apply)(L, x, at);
}

//===--------------------------------------------------------------------===//
// Construction
//===--------------------------------------------------------------------===//

/// The first two parameters (in and out sizes): positive integers.
bool Sema::layerSizes(const Call &c, int64_t &in, int64_t &out) {
  auto a = intParam(c, 0);
  auto b = intParam(c, 1);
  bool ok = true;
  for (size_t k : {0, 1}) {
    std::optional<int64_t> v = k == 0 ? a : b;
    if (v && *v < 1)
      error(c.args[k]->span, std::string("'") + c.builtin.params[k].name +
                                 "' must be positive, got " + std::to_string(*v));
    ok = ok && v && *v >= 1;
  }
  if (!ok)
    return false;
  in = *a;
  out = *b;
  return true;
}

/// Linear(in, out, bias=true): nn.Linear's init, U(-1/sqrt(in), 1/sqrt(in)).
bool Sema::buildLinear(Layer &L, const Call &c) {
  int64_t in, out;
  if (!layerSizes(c, in, out))
    return false;
  auto bias = boolParam(c, 2);
  if (!bias)
    return false;
  L.bias = *bias;
  L.ints = {in, out};
  L.desc = c.name() + "(" + std::to_string(in) + ", " + std::to_string(out) +
           (L.bias ? "" : ", bias=false") + ")";
  double k = 1.0 / std::sqrt(static_cast<double>(in));
  Init init{Init::Uniform, -k, k};
  L.params.push_back(makeParam(L.name + ".weight", {out, in}, init, c.span()));
  if (L.bias)
    L.params.push_back(makeParam(L.name + ".bias", {out}, init, c.span()));
  return true;
}

/// RNN(in, hidden): tanh, one layer; nn.RNN's init, U(-1/sqrt(hidden), ...).
bool Sema::buildRNN(Layer &L, const Call &c) {
  int64_t in, hidden;
  if (!layerSizes(c, in, hidden))
    return false;
  L.ints = {in, hidden};
  L.desc = c.name() + "(" + std::to_string(in) + ", " + std::to_string(hidden) + ")";
  double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  Init init{Init::Uniform, -k, k};
  L.params.push_back(makeParam(L.name + ".weight_ih_l0", {hidden, in}, init, c.span()));
  L.params.push_back(makeParam(L.name + ".weight_hh_l0", {hidden, hidden}, init, c.span()));
  L.params.push_back(makeParam(L.name + ".bias_ih_l0", {hidden}, init, c.span()));
  L.params.push_back(makeParam(L.name + ".bias_hh_l0", {hidden}, init, c.span()));
  return true;
}

/// Conv2d(in, out, kernel, stride=1, padding=0, bias=true), NCHW; nn.Conv2d's
/// init, U(-1/sqrt(fan_in), ...) with fan_in = in * kh * kw.
bool Sema::buildConv2d(Layer &L, const Call &c) {
  int64_t in, out;
  if (!layerSizes(c, in, out))
    return false;
  auto kernel = pairParam(c, 2, 1);
  auto stride = kernel ? pairParam(c, 3, 1) : std::nullopt;
  auto padding = stride ? pairParam(c, 4, 0) : std::nullopt;
  if (!padding)
    return false;
  auto bias = boolParam(c, 5);
  if (!bias)
    return false;
  L.bias = *bias;
  L.ints = {in, out, kernel->first, kernel->second, stride->first, stride->second,
            padding->first, padding->second};
  L.desc = c.name() + "(" + std::to_string(in) + ", " + std::to_string(out) + ", " +
           pairText(*kernel) + (c.args[3] ? ", stride=" + pairText(*stride) : std::string()) +
           (c.args[4] ? ", padding=" + pairText(*padding) : std::string()) +
           (L.bias ? "" : ", bias=false") + ")";
  int64_t fan = 0;
  if (__builtin_mul_overflow(in, kernel->first, &fan) ||
      __builtin_mul_overflow(fan, kernel->second, &fan)) {
    error(c.span(), "Conv2d weight has too many elements");
    return false;
  }
  double k = 1.0 / std::sqrt(static_cast<double>(fan));
  Init init{Init::Uniform, -k, k};
  L.params.push_back(
      makeParam(L.name + ".weight", {out, in, kernel->first, kernel->second}, init, c.span()));
  if (L.bias)
    L.params.push_back(makeParam(L.name + ".bias", {out}, init, c.span()));
  return true;
}

/// MaxPool2d(kernel, stride=kernel, padding=0), AvgPool2d(...).
bool Sema::buildPool2d(Layer &L, const Call &c) {
  auto kernel = pairParam(c, 0, 1);
  auto stride = kernel ? (c.args[1] ? pairParam(c, 1, 1) : kernel) : std::nullopt;
  auto padding = stride ? pairParam(c, 2, 0) : std::nullopt;
  if (!padding)
    return false;
  if (padding->first > kernel->first / 2 || padding->second > kernel->second / 2) {
    error(c.args[2]->span, "padding must be at most half the kernel, as in PyTorch");
    return false;
  }
  L.ints = {kernel->first, kernel->second, stride->first, stride->second, padding->first,
            padding->second};
  L.desc = c.name() + "(" + pairText(*kernel) +
           (c.args[1] ? ", stride=" + pairText(*stride) : std::string()) +
           (c.args[2] ? ", padding=" + pairText(*padding) : std::string()) + ")";
  return true;
}

/// Flatten(start_dim=1, end_dim=-1).
bool Sema::buildFlatten(Layer &L, const Call &c) {
  auto start = intParam(c, 0);
  auto end = start ? intParam(c, 1) : std::nullopt;
  if (!end)
    return false;
  L.ints = {*start, *end};
  L.desc = c.name() + "()";
  return true;
}

/// ReLU(), Sigmoid(), Tanh().
bool Sema::buildNoArgs(Layer &L, const Call &c) {
  L.desc = c.name() + "()";
  return true;
}

/// Softmax(dim=-1).
bool Sema::buildSoftmax(Layer &L, const Call &c) {
  auto dim = intParam(c, 0);
  if (!dim)
    return false;
  L.ints = {*dim};
  L.desc = c.name() + "(dim=" + std::to_string(*dim) + ")";
  return true;
}

/// Dropout(p=0.5), p in [0, 1).
bool Sema::buildDropout(Layer &L, const Call &c) {
  auto p = realParam(c, 0);
  if (!p)
    return false;
  if (!(*p >= 0 && *p < 1)) {
    error(c.args[0]->span, "Dropout probability must be in [0, 1), got " + numberText(*p));
    return false;
  }
  L.p = *p;
  L.desc = c.name() + "(" + numberText(*p) + ")";
  return true;
}

/// BatchNorm1d/2d(num_features, eps=1e-5, momentum=0.1): nn.BatchNorm's
/// weight (ones) and bias (zeros), and its buffers running_mean (zeros),
/// running_var (ones) and num_batches_tracked (an i64 0).
bool Sema::buildBatchNorm(Layer &L, const Call &c) {
  auto features = intParam(c, 0);
  auto eps = features ? realParam(c, 1) : std::nullopt;
  auto momentum = eps ? realParam(c, 2) : std::nullopt;
  if (!momentum)
    return false;
  const Span &at = c.span();
  if (*features < 1) {
    error(c.args[0]->span, "num_features must be >= 1, got " + std::to_string(*features));
    return false;
  }
  if (!(*eps > 0)) {
    error(c.args[1] ? c.args[1]->span : at, "eps must be > 0, got " + numberText(*eps));
    return false;
  }
  if (!(*momentum >= 0 && *momentum <= 1)) {
    error(c.args[2] ? c.args[2]->span : at, "momentum must be in [0, 1], got " + numberText(*momentum));
    return false;
  }
  L.ints = {*features};
  L.reals = {*eps, *momentum};
  L.desc = c.name() + "(" + std::to_string(*features) + ")";
  Init zeros{Init::Zeros}, ones{Init::Ones};
  L.params.push_back(makeParam(L.name + ".weight", {*features}, ones, at));
  L.params.push_back(makeParam(L.name + ".bias", {*features}, zeros, at));
  L.params.push_back(makeBuffer(L.name + ".running_mean", {DType::F32, {*features}}, zeros, at));
  L.params.push_back(makeBuffer(L.name + ".running_var", {DType::F32, {*features}}, ones, at));
  L.params.push_back(makeBuffer(L.name + ".num_batches_tracked", {DType::I64, {}}, zeros, at));
  return true;
}

/// Sequential(l1, l2, ...): layers written in place, named prefix.0, prefix.1, ...
/// Every child is checked, so independent mistakes are all reported.
bool Sema::buildSequential(Layer &L, const Call &c) {
  L.desc = c.name() + "(...)";
  const std::vector<ExprPtr> &items = c.expr.args;
  bool ok = true;
  for (size_t i = 0; i < items.size(); ++i) {
    const Expr &a = *items[i];
    std::string name = a.kind == Expr::Call ? callName(a) : "";
    bool isLayer = findBuiltin(BuiltinKind::Layer, name) != nullptr;
    if (a.kind == Expr::Call && !name.empty() && !isLayer &&
        !findBuiltin(BuiltinKind::Function, name)) {
      std::string advice = pytorchAdvice(name);
      error(a.callee->span, "unknown layer " + quote(calleeText(a)) +
                                (advice.empty() ? suggest(name, builtinNames(BuiltinKind::Layer))
                                                : "; " + advice));
      ok = false;
      continue;
    }
    if (!isLayer) {
      error(a.span, "Sequential takes layers written in place, such as Linear(3, 4) "
                    "or ReLU()");
      ok = false;
      continue;
    }
    int child = buildLayer(a, L.name + "." + std::to_string(i));
    if (child < 0)
      ok = false;
    else
      L.children.push_back(child);
  }
  return ok;
}

/// A layer whose settings are numbers (LeakyReLU(negative_slope=0.01)): each
/// becomes the op's attribute of its name; the description shows those given.
bool Sema::buildNumbers(Layer &L, const Call &c) {
  std::string given;
  bool ok = true;
  for (size_t k = 0; k < c.builtin.params.size(); ++k) {
    auto v = realParam(c, k);
    if (!v) {
      ok = false;
      continue;
    }
    L.reals.push_back(*v);
    if (c.args[k])
      given += (given.empty() ? "" : ", ") + std::string(c.builtin.params[k].name) + "=" +
               numberText(*v);
  }
  L.desc = c.name() + "(" + given + ")";
  return ok;
}

//===--------------------------------------------------------------------===//
// Application
//===--------------------------------------------------------------------===//

int Sema::applyLinear(const Layer &L, int x, const Span &at) {
  TensorType tx = typeOf(x);
  if (tx.shape.empty() || tx.shape.back() != L.ints[0]) {
    error(at, L.label() + " expects " + std::to_string(L.ints[0]) +
                  " input features (the last dimension), but its input is " + tx.str() +
                  (tx.shape.empty() ? "" : ": " + sizeText(tx.shape.back()) + " vs " +
                                               std::to_string(L.ints[0])));
    return -1;
  }
  std::vector<int> operands = {x, L.params[0]};
  if (L.bias)
    operands.push_back(L.params[1]);
  Shape bias = {L.ints[1]};
  std::string err;
  auto shape =
      shapes::linear(tx.shape, typeOf(L.params[0]).shape, L.bias ? &bias : nullptr, err);
  if (!shape) {
    error(at, L.label() + ": " + err);
    return -1;
  }
  return addOp(L.builtin->op, operands, {tx.dtype, *shape}, at);
}

int Sema::applyConv2d(const Layer &L, int x, const Span &at) {
  TensorType tx = typeOf(x);
  if (tx.shape.size() != 4 || tx.shape[1] != L.ints[0]) {
    error(at, L.label() + " expects an input [N, " + std::to_string(L.ints[0]) +
                  ", H, W], but its input is " + tx.str() +
                  (tx.shape.size() == 4 ? ": " + sizeText(tx.shape[1]) + " vs " +
                                              std::to_string(L.ints[0]) + " channels"
                                        : ""));
    return -1;
  }
  Shape bias = {L.ints[1]};
  std::string err;
  auto shape = shapes::conv2d(tx.shape, typeOf(L.params[0]).shape, L.bias ? &bias : nullptr,
                              L.ints[4], L.ints[5], L.ints[6], L.ints[7], err);
  if (!shape) {
    error(at, L.label() + ": " + err);
    return -1;
  }
  std::vector<int> operands = {x, L.params[0]};
  if (L.bias)
    operands.push_back(L.params[1]);
  return addOp(L.builtin->op, operands, {tx.dtype, *shape}, at,
               {OpAttr::integers("stride", {L.ints[4], L.ints[5]}),
                OpAttr::integers("padding", {L.ints[6], L.ints[7]})});
}

int Sema::applyPool2d(const Layer &L, int x, const Span &at) {
  TensorType tx = typeOf(x);
  std::string err;
  auto shape = shapes::pool2d(tx.shape, L.ints[0], L.ints[1], L.ints[2], L.ints[3], L.ints[4],
                              L.ints[5], err);
  if (!shape) {
    error(at, L.label() + ": " + err);
    return -1;
  }
  return addOp(L.builtin->op, {x}, {tx.dtype, *shape}, at,
               {OpAttr::integers("kernel", {L.ints[0], L.ints[1]}),
                OpAttr::integers("stride", {L.ints[2], L.ints[3]}),
                OpAttr::integers("padding", {L.ints[4], L.ints[5]})});
}

int Sema::applyRNN(const Layer &L, int x, const Span &at) {
  TensorType tx = typeOf(x);
  // Batch first (batch_first=True): the time dim must be a known size.
  if (tx.shape.size() != 3 || tx.shape[2] != L.ints[0] || tx.shape[1] == kBatch) {
    error(at, L.label() + " expects an input [N, T, " + std::to_string(L.ints[0]) +
                  "] (batch, time, features), but its input is " + tx.str());
    return -1;
  }
  std::string err;
  auto shape = shapes::rnn(tx.shape, typeOf(L.params[0]).shape, typeOf(L.params[1]).shape,
                           typeOf(L.params[2]).shape, typeOf(L.params[3]).shape, err);
  if (!shape) {
    error(at, L.label() + ": " + err);
    return -1;
  }
  std::vector<int> operands = {x};
  operands.insert(operands.end(), L.params.begin(), L.params.end());
  return addOp(L.builtin->op, operands, {tx.dtype, *shape}, at);
}

int Sema::applyFlatten(const Layer &L, int x, const Span &at) {
  return flattenNode(x, L.ints[0], L.ints[1], at, nullptr, L.builtin->op);
}

int Sema::applySoftmax(const Layer &L, int x, const Span &at) {
  std::string err;
  auto dim = shapes::normalizeDim(L.ints[0], static_cast<int64_t>(typeOf(x).shape.size()), err);
  if (!dim) {
    error(at, L.label() + ": " + err);
    return -1;
  }
  return addOp(L.builtin->op, {x}, typeOf(x), at, {OpAttr::integer("dim", *dim)});
}

/// BatchNorm2d takes [N, C, H, W]; BatchNorm1d [N, C] or [N, C, L]; f32,
/// as its parameters.
int Sema::applyBatchNorm(const Layer &L, int x, const Span &at) {
  TensorType tx = typeOf(x);
  bool twoD = std::string(L.builtin->name) == "BatchNorm2d";
  int64_t c = L.ints[0];
  std::string want = twoD ? "[N, " + std::to_string(c) + ", H, W]"
                          : "[N, " + std::to_string(c) + "] or [N, " + std::to_string(c) + ", L]";
  bool rankOk = twoD ? tx.shape.size() == 4 : tx.shape.size() == 2 || tx.shape.size() == 3;
  if (!rankOk || tx.shape[1] != c) {
    error(at, L.label() + " expects an input " + want + ", but its input is " + tx.str() +
                  (rankOk ? ": " + sizeText(tx.shape[1]) + " vs " + std::to_string(c) +
                                " channels (dimension 1)"
                          : ""));
    return -1;
  }
  if (tx.dtype != DType::F32) {
    error(at, L.label() + "'s parameters are f32, but its input is " + tx.str() +
                  "; convert it with f32(...)");
    return -1;
  }
  std::vector<int> operands = {x};
  operands.insert(operands.end(), L.params.begin(), L.params.end());
  return addOp(L.builtin->op, operands, tx, at,
               {OpAttr::number("eps", L.reals[0]), OpAttr::number("momentum", L.reals[1])});
}

int Sema::applyDropout(const Layer &L, int x, const Span &at) {
  return addOp(L.builtin->op, {x}, typeOf(x), at, {OpAttr::number("p", L.p)});
}

int Sema::applyElementwise(const Layer &L, int x, const Span &at) {
  std::vector<OpAttr> attrs; // buildNumbers' settings, by their names
  for (size_t k = 0; k < L.reals.size(); ++k)
    attrs.push_back(OpAttr::number(L.builtin->params[k].name, L.reals[k]));
  return addOp(L.builtin->op, {x}, typeOf(x), at, std::move(attrs));
}

/// Each child's result but the last is named after the child (net.0, net.1,
/// ...); the last one is the Sequential's, named as any value is.
int Sema::applySequential(const Layer &L, int x, const Span &at) {
  for (size_t i = 0; i < L.children.size(); ++i) {
    int y = applyLayer(L.children[i], x, at);
    if (y < 0)
      return -1;
    if (y != x && i + 1 < L.children.size() && model.nodes[y].name.empty())
      model.nodes[y].name = layerTable[L.children[i]].name;
    x = y;
  }
  return x;
}

} // namespace kiln::sema
