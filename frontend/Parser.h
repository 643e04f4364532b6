// The parser: tokens to a syntax tree, with recovery at statement ends.
#pragma once

#include "frontend/AST.h"
#include "frontend/Lexer.h"

#include <deque>
#include <functional>
#include <initializer_list>

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

  /// `KEYWORD NAME {`: false (with the block skipped) when it does not parse.
  bool parseBlockHeader(std::string &name, Span &span, Span &nameSpan,
                        const std::string &nameWhat, Span &open);
  /// A block's statements up to its `}`, one a line; `statement` parses one
  /// and says whether it ended well (otherwise the rest of it is skipped).
  void parseBlockBody(const Span &open, const std::string &unclosed,
                      const std::string &startsHere, const std::function<bool()> &statement);
  /// True at the end of a statement; otherwise reports "expected WHAT".
  bool endOfStatement(const std::string &what);
  void parseModel(File &file);
  void parseTrain(File &file);
  bool parseItem(ModelDecl &model);
  bool parseType(TypeExpr &type);
  bool parseName(std::string &name, Span &span, const std::string &what);

  ExprPtr parseExpr();
  ExprPtr parseTerm();
  /// A left-associative chain of `operand`s joined by the operators `ops`.
  ExprPtr parseChain(std::initializer_list<Tok> ops, ExprPtr (Parser::*operand)());
  ExprPtr parseUnary();
  /// `base ** exponent`, right-associative; the exponent may carry a unary
  /// minus (`x ** -1`), as in Python.
  ExprPtr parsePower();
  ExprPtr parsePostfix();
  /// `base[entries]` (each an expression or a slice `a:b:s`), at the `[`.
  ExprPtr parseIndex(ExprPtr base);
  /// `base.name`, at the `.`.
  ExprPtr parseMember(ExprPtr base);
  /// Called right after the operator `op` when the line ends there (outside
  /// brackets a newline ends the statement): reports it with the advice to
  /// wrap the expression in parentheses. When the next line does not start
  /// a statement of its own, moves there so the operand still parses (the
  /// rest of the statement is checked too) and returns true.
  bool lineEndsAfter(const Token &op);
  ExprPtr parsePrimary();
  bool parseArgs(Expr &call);
  /// From an opening ( or [ to its match: `element`s separated by commas (a
  /// trailing one allowed); a missing comma or bracket is "expected
  /// CLOSEWHAT" with a note at the opening one.
  bool parseCommaList(Tok close, const std::string &closeWhat,
                      const std::function<bool()> &element);
  /// Reports "expected WHAT" and a note at the unmatched `open`; false.
  bool unmatched(const Token &open, const std::string &what);
  /// Reports nesting beyond kMaxDepth at `at`.
  bool tooDeep(SourceLoc at);
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
