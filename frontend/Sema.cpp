// Semantic analysis: the entry points, the nodes it makes, message helpers.
// frontend/SemaImpl.h says which file holds which concern.
#include "frontend/Sema.h"

#include "frontend/Parser.h"
#include "frontend/SemaImpl.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cctype>
#include <cstdio>

namespace kiln {

namespace sema {

std::string clip(const std::string &s) { return s.size() <= 40 ? s : s.substr(0, 37) + "..."; }
std::string quote(const std::string &s) { return "'" + clip(s) + "'"; }

/// Integer constants travel as doubles (Node::data): exact up to 2^53.
constexpr double kLargestExactInteger = 9007199254740992.0;

std::string numberText(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

namespace {
/// Edit distance with adjacent transpositions counted once (optimal string
/// alignment), for "did you mean" (short names only).
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
} // namespace

/// The candidate a typo most likely meant: the same name in other case, or
/// one edit away (two for names of five letters or more). A farther name is
/// a different word (cat is not max), so nothing is suggested.
std::string suggest(const std::string &name, const std::vector<std::string> &candidates) {
  if (name.size() > 64)
    return "";
  for (const std::string &c : candidates)
    if (lower(c) == lower(name) && c != name)
      return "; did you mean '" + c + "'?";
  std::string best;
  size_t bestDist = name.size() <= 4 ? 2 : 3;
  for (const std::string &c : candidates) {
    size_t d = editDistance(name, c);
    if (d < bestDist && d < c.size()) {
      bestDist = d;
      best = c;
    }
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

std::string choiceList(const std::vector<std::string> &choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i)
    text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return text;
}

int Sema::addNode(OpKind kind, std::vector<int> operands, TensorType type, const Span &at) {
  int64_t count = 1;
  for (int64_t d : type.shape)
    if (d != kBatch && (d < 0 || __builtin_mul_overflow(count, d, &count))) {
      error(at, "tensor " + type.str() + " has too many elements (more than 2^63)");
      return -1;
    }
  if (std::count(type.shape.begin(), type.shape.end(), kBatch) > 1) {
    // One row per sample is what batching means; [N, N] has no such rows.
    error(at, "this gives " + type.str() + ": the batch dimension N may appear only once");
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

int Sema::addOp(const std::string &op, std::vector<int> operands, TensorType type,
                const Span &at, std::vector<OpAttr> attrs) {
  int n = addNode(OpKind::Operation, std::move(operands), std::move(type), at);
  if (n >= 0) {
    model.nodes[n].op = op;
    model.nodes[n].attrs = std::move(attrs);
  }
  return n;
}

bool fitsDType(double v, DType dtype) {
  double whole = std::trunc(v); // a cast to an integer drops the fraction, as torch's
  switch (dtype) {
  case DType::U8: return whole >= 0 && whole <= 255;
  case DType::I32: return whole >= INT32_MIN && whole <= INT32_MAX;
  case DType::I64: return std::fabs(whole) <= kLargestExactInteger;
  case DType::F32: return std::fabs(v) <= FLT_MAX;
  case DType::F64: return true;
  }
  return false;
}

std::string doesNotFit(const std::string &number, DType dtype) {
  return "the number " + number + " does not fit in " + dtypeName(dtype) +
         (dtype == DType::I64 ? " (integer constants are exact up to 2^53)" : "");
}

int Sema::constant(double v, DType dtype, const Span &at) {
  int n = addNode(OpKind::Constant, {}, {dtype, {}}, at);
  if (n >= 0) {
    model.nodes[n].op = "constant";
    model.nodes[n].data = {v};
  }
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

int Sema::makeBuffer(const std::string &name, TensorType type, Init init, const Span &at) {
  int n = addNode(OpKind::Param, {}, std::move(type), at);
  if (n < 0)
    return -1;
  model.nodes[n].name = name;
  model.nodes[n].init = init;
  model.nodes[n].buffer = true;
  model.params.push_back(n);
  return n;
}

} // namespace sema

std::optional<Model> analyze(const File &file, Diagnostics &diags) {
  return sema::Sema(diags).run(file);
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
