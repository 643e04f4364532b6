// `kiln build --emit=ast`: the syntax tree, one node a line, for people and
// FileCheck. Each line is `Kind details <line:col>`, children indented by two.
#include "frontend/AST.h"
#include "frontend/Frontend.h"
#include "frontend/Parser.h"

namespace kiln {

namespace {

class Printer {
public:
  explicit Printer(std::ostream &out) : out(out) {}

  void line(int indent, const std::string &text, SourceLoc loc) {
    out << std::string(indent * 2, ' ') << text << " <" << loc.line << ":" << loc.col
        << ">\n";
  }

  static std::string type(const TypeExpr &t) {
    std::string s = t.dtype + "[";
    for (size_t i = 0; i < t.dims.size(); ++i) {
      if (i)
        s += ", ";
      s += t.dims[i].isSymbol ? t.dims[i].symbol : std::to_string(t.dims[i].value);
    }
    return s + "]";
  }

  void expr(int indent, const Expr &e) {
    switch (e.kind) {
    case Expr::Number:
      line(indent, "Number " + e.text, e.span.loc);
      break;
    case Expr::Bool:
      line(indent, std::string("Bool ") + (e.boolValue ? "true" : "false"), e.span.loc);
      break;
    case Expr::Name:
      line(indent, "Name " + e.text, e.span.loc);
      break;
    case Expr::Unary:
      line(indent, "Unary " + e.text, e.span.loc);
      break;
    case Expr::Binary:
      line(indent, "Binary " + e.text, e.span.loc);
      break;
    case Expr::List:
      line(indent, "List", e.span.loc);
      break;
    case Expr::Index:
      line(indent, "Index", e.span.loc);
      break;
    case Expr::Slice: {
      // Which parts are written: `Slice start:stop:step`, `Slice :stop`, ...
      std::string parts = std::string(e.slicePart(Expr::kStart) ? "start" : "") + ":" +
                          (e.slicePart(Expr::kStop) ? "stop" : "") +
                          (e.slicePart(Expr::kStep) ? ":step" : "");
      line(indent, "Slice " + parts, e.span.loc);
      break;
    }
    case Expr::Member:
      line(indent, "Member " + e.text, e.span.loc);
      break;
    case Expr::Call:
      // A call of a plain name shows the name; any other callee is the first child.
      line(indent, e.text.empty() ? "Call" : "Call " + e.text, e.span.loc);
      if (e.text.empty())
        expr(indent + 1, *e.callee);
      break;
    }
    for (const ExprPtr &a : e.args)
      expr(indent + 1, *a);
    for (const Kwarg &k : e.kwargs) {
      line(indent + 1, "Kwarg " + k.name, k.span.loc);
      expr(indent + 2, *k.value);
    }
  }

  void item(const Item &it) {
    static const char *const kinds[] = {"Input", "Target", "Param", "Let",
                                        "Output", "Loss", "Metric"};
    std::string text = kinds[it.kind];
    if (!it.name.empty() && it.kind != Item::Loss)
      text += " " + it.name;
    if (it.kind == Item::Input || it.kind == Item::Target || it.kind == Item::Param)
      text += " : " + type(it.type);
    line(1, text, it.span.loc);
    if (it.value)
      expr(2, *it.value);
  }

  std::ostream &out;
};

} // namespace

void printAST(const File &file, std::ostream &out) {
  Printer p(out);
  for (const ModelDecl &m : file.models) {
    p.line(0, "Model " + m.name, m.span.loc);
    for (const Item &it : m.items)
      p.item(it);
  }
  for (const TrainDecl &t : file.trains) {
    p.line(0, "Train " + t.name, t.span.loc);
    for (const Setting &s : t.settings) {
      p.line(1, "Setting " + s.key, s.span.loc);
      if (s.value)
        p.expr(2, *s.value);
    }
  }
}

bool dumpAST(Diagnostics &diags, std::ostream &out) {
  Parser parser(diags);
  File file = parser.parseFile();
  diags.finish();
  if (diags.errorCount() > 0)
    return false;
  printAST(file, out);
  return true;
}

} // namespace kiln
