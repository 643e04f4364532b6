// PyTorch spellings Kiln writes otherwise: a module prefix (nn.Linear,
// torch.cat, F.relu, torch.optim.SGD) names the builtin without it, which is
// reported once and then used, so the rest of the statement is still
// checked; tensor methods and attributes (x.view(...), x.relu(), x.T) say
// which function to write, with the user's own operands; PyTorch names Kiln
// lacks (pow, mm, CrossEntropyLoss) say what to write instead of guessing a
// look-alike.
#include "frontend/SemaImpl.h"

#include <map>

namespace kiln::sema {

namespace {

/// The heads of PyTorch's module paths: torch.nn.functional.relu, nn.Linear,
/// F.relu, optim.SGD, init.zeros_.
bool isModuleHead(const std::string &name) {
  return name == "torch" || name == "nn" || name == "F" || name == "functional" ||
         name == "optim" || name == "init";
}

bool isBuiltin(const std::string &name) {
  for (BuiltinKind kind : {BuiltinKind::Function, BuiltinKind::Layer, BuiltinKind::Optimizer,
                           BuiltinKind::Initializer})
    if (findBuiltin(kind, name))
      return true;
  return false;
}

/// The dotted names of `e` when it is one (a.b.c), head first.
bool dottedNames(const Expr &e, std::vector<std::string> &names) {
  if (e.kind == Expr::Name) {
    names.push_back(e.text);
    return true;
  }
  if (e.kind != Expr::Member || !dottedNames(*e.args[0], names))
    return false;
  names.push_back(e.text);
  return true;
}

} // namespace

std::string pytorchAdvice(const std::string &name) {
  static const std::map<std::string, std::string> advice = {
      {"pow", "write x ** p"},
      {"square", "write x ** 2"},
      {"rsqrt", "write x ** -0.5"},
      {"reciprocal", "write 1.0 / x"},
      {"mm", "write a @ b or matmul(a, b)"},
      {"bmm", "write a @ b or matmul(a, b)"},
      {"view", "write reshape(x, [...])"},
      {"squeeze", "write reshape(x, [...]) with the sizes you want"},
      {"unsqueeze", "write reshape(x, [...]) with the sizes you want"},
      {"permute", "write transpose(x, d0, d1)"},
      {"clip", "write clamp(x, min, max)"},
      {"mse_loss", "write mse(pred, target)"},
      {"binary_cross_entropy_with_logits", "write bce_with_logits(logits, target)"},
      {"MSELoss", "losses are functions: write mse(pred, target)"},
      {"L1Loss", "losses are functions: write l1_loss(pred, target)"},
      {"CrossEntropyLoss", "losses are functions: write cross_entropy(logits, target)"},
      {"NLLLoss", "losses are functions: write nll_loss(log_probs, target)"},
      {"BCEWithLogitsLoss", "losses are functions: write bce_with_logits(logits, target)"},
      {"tensor", "write a tensor literal such as [[1.0, 2.0], [3.0, 4.0]]"},
      {"float", "write f32(x)"},
      {"double", "write f64(x)"},
      {"long", "write i64(x)"},
      {"int", "write i32(x)"},
      {"byte", "write u8(x)"},
  };
  auto it = advice.find(name);
  return it == advice.end() ? "" : it->second;
}

std::string Sema::sourceText(const Span &s) {
  const std::string &src = diags.source();
  if (s.begin >= src.size() || s.end <= s.begin)
    return "";
  return src.substr(s.begin, std::min(s.end, src.size()) - s.begin);
}

std::string Sema::calleeText(const Expr &call) {
  if (!call.callee || call.callee->kind == Expr::Name)
    return call.text;
  return sourceText(call.callee->span);
}

std::string Sema::callName(const Expr &call) {
  if (call.kind != Expr::Call || !call.text.empty() || !call.callee)
    return call.text;
  std::vector<std::string> names;
  if (!dottedNames(*call.callee, names) || names.size() < 2 || !isModuleHead(names[0]) ||
      symbols.count(names[0]) || laterNames.count(names[0]))
    return "";
  const std::string &name = names.back();
  if (isBuiltin(name) && prefixReported.insert(&call).second) {
    std::string prefix = sourceText(call.callee->span);
    prefix = prefix.substr(0, prefix.size() - name.size());
    error(call.callee->span, "write " + quote(name) + " without " + quote(prefix) +
                                 ": Kiln's functions and layers are not in modules");
  }
  return name;
}

/// `nn.Linear` or `x.T` not called: a module path, or an attribute of a value.
Value Sema::evalMember(const Expr &e) {
  std::vector<std::string> names;
  std::string text = clip(sourceText(e.span));
  if (dottedNames(e, names) && isModuleHead(names[0]) && !symbols.count(names[0]) &&
      !laterNames.count(names[0])) {
    const std::string &name = names.back();
    std::string advice = pytorchAdvice(name);
    if (isBuiltin(name))
      error(e.span, "write " + quote(name) + " without the module prefix: Kiln's functions "
                    "and layers are not in modules");
    else
      error(e.span, "unknown name " + quote(text) + (advice.empty() ? "" : "; " + advice));
    return {};
  }
  Value object = eval(*e.args[0]);
  std::string x = clip(sourceText(e.args[0]->span));
  const std::string &attr = e.text;
  if (object.kind == Value::Layer) {
    error(e.span, "'" + text + "': a layer's parameters and settings cannot be read in a "
                  "model file; call the layer, " + x + "(x), or declare a param");
    return {};
  }
  std::string advice;
  if (attr == "T" || attr == "mT")
    advice = "write transpose(" + x + ") (it swaps the last two dimensions)";
  else if (attr == "shape" || attr == "dtype" || attr == "ndim")
    advice = "shapes and dtypes are fixed when the file compiles: write the sizes as numbers "
             "(and the batch as its symbol in reshape, zeros, ones and full)";
  else if (findBuiltin(BuiltinKind::Function, attr))
    advice = "write " + attr + "(" + x + ")";
  error(e.span, "'" + text + "': tensors have no attributes in Kiln" +
                    (advice.empty() ? "" : "; " + advice));
  return {};
}

/// `x.view(...)`, `x.relu()`: tensors have no methods; the message writes
/// the function call with the user's operands.
Value Sema::evalMethodCall(const Expr &e) {
  const Expr &member = *e.callee;
  const std::string &method = member.text;
  eval(*member.args[0]); // its own errors, if any
  std::string x = clip(sourceText(member.args[0]->span));
  // What was inside the parentheses: "(dim=1)" -> "dim=1".
  std::string inner = sourceText({member.span.loc, member.span.end, e.span.end});
  size_t open = inner.find('('), close = inner.rfind(')');
  inner = open == std::string::npos || close == std::string::npos || close <= open
              ? ""
              : inner.substr(open + 1, close - open - 1);
  while (!inner.empty() && (inner.back() == ' ' || inner.back() == ','))
    inner.pop_back();
  while (!inner.empty() && inner.front() == ' ')
    inner.erase(0, 1);
  auto call = [&](const std::string &fn, const std::string &rest) {
    return "write " + fn + "(" + x + (rest.empty() ? "" : ", " + rest) + ")";
  };
  std::string advice;
  if (method == "view" || method == "reshape") {
    std::string sizes = inner.empty() || inner.front() == '[' || inner.front() == '('
                            ? inner
                            : "[" + inner + "]";
    advice = call("reshape", sizes.empty() ? "[...]" : sizes) +
             " (the sizes in a list; a leading -1 stands for the batch)";
  } else if (method == "t" || method == "transpose") {
    advice = call("transpose", method == "transpose" ? inner : "");
  } else if (method == "permute") {
    advice = call("transpose", "d0, d1") + " for each pair of dimensions to swap";
  } else if (method == "float" || method == "double" || method == "long" || method == "int" ||
             method == "byte") {
    const char *dtype = method == "float"    ? "f32"
                        : method == "double" ? "f64"
                        : method == "long"   ? "i64"
                        : method == "int"    ? "i32"
                                             : "u8";
    advice = call(dtype, "");
  } else if (method == "to" || method == "type") {
    advice = "cast with a dtype's name: f32(" + x + "), f64, i32, i64 or u8";
  } else if (method == "size" || method == "dim" || method == "numel") {
    advice = "shapes are fixed when the file compiles: write the sizes as numbers";
  } else if (method == "pow") {
    advice = "write " + x + " ** " + (inner.empty() ? "p" : inner);
  } else if (method == "matmul" || method == "mm" || method == "bmm") {
    advice = "write " + x + " @ " + (inner.empty() ? "b" : inner);
  } else if (method == "squeeze" || method == "unsqueeze") {
    advice = call("reshape", "[...]") + " with the sizes you want";
  } else if (method == "contiguous" || method == "clone" || method == "detach" ||
             method == "cpu" || method == "cuda") {
    advice = "a model file needs no ." + method + "(): drop it";
  } else if (method == "item" || method == "numpy" || method == "tolist") {
    advice = "values exist only when the model runs; report a scalar with `metric`";
  } else if (findBuiltin(BuiltinKind::Function, method)) {
    advice = call(method, inner);
  } else {
    std::string near = suggest(method, builtinNames(BuiltinKind::Function));
    advice = near.empty() ? "call a function on it instead" : near.substr(2);
  }
  error(member.span, "'" + clip(sourceText(e.span)) + "': tensors have no methods in Kiln; " +
                         advice);
  return {};
}

} // namespace kiln::sema
