// The parser: tokens to a syntax tree, with recovery at statement ends.
#pragma once

#include "frontend/AST.h"
#include "frontend/Lexer.h"

#include <deque>

namespace kiln {

class Parser {
public:
  explicit Parser(Diagnostics &diags);
  /// Parses the whole file; errors are reported to the Diagnostics.
  File parseFile();

  /// Bounds on nesting ( ( [ - and on a tree's height (long + chains), so
  /// that no later recursion can overflow the stack.
  static constexpr int kMaxDepth = 200;
  static constexpr int kMaxHeight = 1000;

private:
  void advance();
  const Token &peek();
  bool at(Tok kind) const { return tok.kind == kind; }
  bool atWord(const char *word) const { return tok.kind == Tok::Ident && tok.text == word; }
  /// Reports "expected WHAT" at the current token (unless it is a lexer error,
  /// already reported) and returns false.
  bool fail(const std::string &what);
  bool expect(Tok kind, const std::string &what);
  void skipStatement();
  void skipBlock();
  Span spanOf(const Token &t) const { return {t.loc, t.offset, t.offset + t.length}; }

  void parseModel(File &file);
  void parseTrain(File &file);
  bool parseItem(ModelDecl &model);
  bool parseType(TypeExpr &type);
  bool parseName(std::string &name, Span &span, const std::string &what);

  ExprPtr parseExpr();
  ExprPtr parseTerm();
  ExprPtr parseUnary();
  ExprPtr parsePostfix();
  ExprPtr parsePrimary();
  bool parseArgs(Expr &call);
  ExprPtr finish(ExprPtr e);

  Diagnostics &diags;
  Lexer lexer;
  Token tok, prev;
  std::deque<Token> ahead;
  int depth = 0;       // expression recursion, bounded by kMaxDepth
  int parenDepth = 0;  // open ( and [: newlines inside are not statement ends
  size_t stmtStart = 0; // offset of the statement being parsed
  friend struct Brackets;
};

} // namespace kiln
