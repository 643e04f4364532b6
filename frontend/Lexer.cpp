#include "frontend/Lexer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kiln {

namespace {

bool identStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool identChar(unsigned char c) { return identStart(c) || (c >= '0' && c <= '9'); }
bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

/// Bytes that can never start a token and are not whitespace: merged into
/// one error so that a run of garbage gives one message.
bool garbage(unsigned char c) {
  return c >= 0x80 || c == 0x7F || (c < 0x20 && c != '\n' && c != '\t' && c != '\r');
}

std::string hexByte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  return buf;
}

/// A long literal shortened for a message.
std::string clip(std::string_view text) {
  if (text.size() <= 40)
    return std::string(text);
  return std::string(text.substr(0, 37)) + "...";
}

} // namespace

const char *tokName(Tok kind) {
  switch (kind) {
  case Tok::Eof: return "end of file";
  case Tok::Newline: return "newline";
  case Tok::Error: return "invalid character";
  case Tok::Ident: return "identifier";
  case Tok::Int: return "integer";
  case Tok::Float: return "number";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Equal: return "'='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::At: return "'@'";
  case Tok::StarStar: return "'**'";
  case Tok::Dot: return "'.'";
  }
  return "token";
}

Lexer::Lexer(Diagnostics &diags) : diags(diags), src(diags.source()) {}

Token Lexer::make(Tok kind, size_t start, SourceLoc loc) {
  Token t;
  t.kind = kind;
  t.loc = loc;
  t.offset = start;
  t.length = pos - start;
  t.text = std::string_view(src).substr(start, pos - start);
  t.firstOnLine = lineStart;
  lineStart = kind == Tok::Newline;
  return t;
}

Token Lexer::next() {
  for (;;) {
    if (pos >= src.size())
      return make(Tok::Eof, pos, here());
    unsigned char c = src[pos];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++pos;
      continue;
    }
    if (c == '#') {
      while (pos < src.size() && src[pos] != '\n')
        ++pos;
      continue;
    }
    SourceLoc loc = here();
    size_t start = pos;
    if (c == '\n') {
      ++pos;
      ++line;
      lineBegin = pos;
      return make(Tok::Newline, start, loc);
    }
    if (identStart(c)) {
      while (pos < src.size() && identChar(src[pos]))
        ++pos;
      return make(Tok::Ident, start, loc);
    }
    if (digit(c))
      return number(start, loc);
    ++pos;
    switch (c) {
    case '(': return make(Tok::LParen, start, loc);
    case '[': return make(Tok::LBracket, start, loc);
    case ')': return make(Tok::RParen, start, loc);
    case ']': return make(Tok::RBracket, start, loc);
    case '{': return make(Tok::LBrace, start, loc);
    case '}': return make(Tok::RBrace, start, loc);
    case ',': return make(Tok::Comma, start, loc);
    case ':': return make(Tok::Colon, start, loc);
    case '=': return make(Tok::Equal, start, loc);
    case '+': return make(Tok::Plus, start, loc);
    case '-': return make(Tok::Minus, start, loc);
    case '*':
      if (pos < src.size() && src[pos] == '*') {
        ++pos;
        return make(Tok::StarStar, start, loc);
      }
      return make(Tok::Star, start, loc);
    case '.':
      if (start == numberEnd) // 2.5.3: a second point in a number
        break;
      return make(Tok::Dot, start, loc);
    case '/': return make(Tok::Slash, start, loc);
    case '@': return make(Tok::At, start, loc);
    default: break;
    }
    pos = start;
    return bad(start, loc);
  }
}

Token Lexer::bad(size_t start, SourceLoc loc) {
  unsigned char c = src[pos];
  std::string message;
  if (c >= 0x80) {
    // A valid UTF-8 character is named; anything else is shown as bytes.
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    bool valid = n > 0 && c <= 0xF4 && pos + n <= src.size();
    uint32_t cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; valid && k < n; ++k) {
      unsigned char b = src[pos + k];
      valid = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    valid = valid && !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
            !(cp >= 0xD800 && cp <= 0xDFFF);
    if (valid) {
      char u[16];
      std::snprintf(u, sizeof u, "U+%04X", static_cast<unsigned>(cp));
      message = "unexpected character '" + src.substr(pos, n) + "' (" + u +
                "); non-ASCII text is allowed only in comments";
    } else {
      message = "invalid UTF-8 byte " + hexByte(c);
    }
  } else if (c == 0) {
    message = "invalid character \\x00 (a NUL byte)";
  } else if (garbage(c)) {
    message = "invalid character " + hexByte(c);
  } else {
    message = std::string("unexpected character '") + static_cast<char>(c) + "'";
  }
  ++pos;
  if (garbage(c))
    while (pos < src.size() && garbage(src[pos]))
      ++pos;
  Token t = make(Tok::Error, start, loc);
  if (!quiet)
    diags.error(loc, message, static_cast<int>(t.length > 1000 ? 1000 : t.length));
  return t;
}

Token Lexer::number(size_t start, SourceLoc loc) {
  bool isFloat = false;
  while (pos < src.size() && digit(src[pos]))
    ++pos;
  if (pos < src.size() && src[pos] == '.') {
    isFloat = true;
    ++pos;
    while (pos < src.size() && digit(src[pos]))
      ++pos;
  }
  std::string problem;
  if (pos < src.size() && (src[pos] == 'e' || src[pos] == 'E')) {
    size_t e = pos + 1;
    if (e < src.size() && (src[e] == '+' || src[e] == '-'))
      ++e;
    if (e < src.size() && digit(src[e])) {
      isFloat = true;
      pos = e;
      while (pos < src.size() && digit(src[pos]))
        ++pos;
    } else {
      problem = "expected digits in the exponent of";
    }
  }
  if (problem.empty() && pos < src.size() && identChar(src[pos]))
    problem = "invalid suffix on";
  if (!problem.empty()) {
    while (pos < src.size() && identChar(src[pos]))
      ++pos;
    Token t = make(Tok::Error, start, loc);
    if (!quiet)
      diags.error(loc, problem + " number '" + clip(t.text) + "'",
                  static_cast<int>(t.length > 1000 ? 1000 : t.length));
    return t;
  }

  Token t = make(isFloat ? Tok::Float : Tok::Int, start, loc);
  numberEnd = pos;
  int length = static_cast<int>(t.length > 1000 ? 1000 : t.length);
  if (isFloat) {
    std::string copy(t.text); // strtod needs a terminated string
    errno = 0;
    char *end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (errno == ERANGE && (v > 1.0 || v < -1.0)) {
      t.kind = Tok::Error;
      if (!quiet)
        diags.error(loc, "number '" + clip(t.text) + "' is too large for a double", length);
      return t;
    }
    t.floatValue = v; // an underflow rounds to zero or a denormal, as in Python
    return t;
  }
  // Decimal integer with an explicit overflow check; 2^63 itself is kept for '-'.
  uint64_t v = 0;
  bool overflow = false;
  for (char ch : t.text) {
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) {
      overflow = true;
      break;
    }
    v = v * 10 + d;
  }
  if (overflow || v > static_cast<uint64_t>(INT64_MAX) + 1) {
    t.kind = Tok::Error;
    if (!quiet)
      diags.error(loc, "integer '" + clip(t.text) + "' is too large for 64 bits", length);
    return t;
  }
  if (v == static_cast<uint64_t>(INT64_MAX) + 1)
    t.intIsMinValue = true;
  else
    t.intValue = static_cast<int64_t>(v);
  return t;
}

} // namespace kiln
