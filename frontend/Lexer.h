// The lexer: model file bytes to tokens, one at a time.
//
// Newlines are tokens (they end statements); the parser ignores them inside
// ( ) and [ ], and still knows which token starts a line, so an unclosed
// parenthesis costs one statement, not the rest of the file. Bad bytes
// become one Error token per run, reported here; the parser then skips the
// statement without saying more.
#pragma once

#include "frontend/Frontend.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

enum class Tok {
  Eof, Newline, Error,
  Ident, Int, Float, // Int and Float hold their value; Float also covers 1e3
  LParen, RParen, LBracket, RBracket, LBrace, RBrace,
  Comma, Colon, Equal, Plus, Minus, Star, Slash, At,
  StarStar, Dot, // `**`, and `.` (only in what the parser reports: nn.Linear, x.T)
};

/// "')'", "identifier", ... for "expected X" messages.
const char *tokName(Tok kind);

struct Token {
  Tok kind = Tok::Eof;
  SourceLoc loc;
  size_t offset = 0, length = 0; // bytes in the source
  std::string_view text;
  int64_t intValue = 0; // Int; a literal of exactly 2^63 is allowed only after '-'
  bool intIsMinValue = false; // the literal was 9223372036854775808
  double floatValue = 0; // Float
  bool firstOnLine = false; // no token but newlines before it on its line
};

class Lexer {
public:
  explicit Lexer(Diagnostics &diags);
  Token next();
  /// While quiet, lexical errors are not reported (the parser is skipping).
  bool quiet = false;

private:
  Token make(Tok kind, size_t start, SourceLoc loc);
  Token number(size_t start, SourceLoc loc);
  Token bad(size_t start, SourceLoc loc);
  SourceLoc here() const { return {line, static_cast<int>(pos - lineBegin + 1)}; }

  Diagnostics &diags;
  const std::string &src;
  size_t pos = 0, lineBegin = 0;
  int line = 1;
  bool lineStart = true; // nothing but a newline emitted since the last newline
  size_t numberEnd = std::string::npos; // where the last number literal ended
};

} // namespace kiln
