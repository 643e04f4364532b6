// Clang-style diagnostics: a located message, the source line, a caret line.
//
// The echoed line is made safe and short: tabs expand to 8-column stops (the
// caret follows), bytes that are not printable or not UTF-8 print as \xNN,
// and a long line shows a window of about 120 columns around the caret.
#include "frontend/Frontend.h"

#include <cstdio>
#include <vector>

namespace kiln {

namespace {

constexpr size_t kWindow = 120;

/// Length of the valid UTF-8 sequence starting at s[i] (2 to 4), or 0.
size_t utf8Length(const std::string &s, size_t i, size_t end) {
  unsigned char c = s[i];
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > end)
    return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
      return 0;
  unsigned char c1 = s[i + 1];
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 > 0x8F))
    return 0; // overlong, surrogate or beyond U+10FFFF
  return n;
}

} // namespace

Diagnostics::Diagnostics(std::string file, std::string source, std::ostream &out)
    : fileName(std::move(file)), text(std::move(source)), out(out) {}

void Diagnostics::error(SourceLoc loc, const std::string &message, int length) {
  if (errors >= kMaxErrors) {
    lastDropped = true;
    finish();
    return;
  }
  lastDropped = false;
  ++errors;
  emit("error", loc, message, length);
}

void Diagnostics::finish() {
  if (errors >= kMaxErrors && !stopped) {
    out << fileName << ": fatal error: too many errors emitted, stopping now\n";
    stopped = true;
  }
}

void Diagnostics::note(SourceLoc loc, const std::string &message, int length) {
  if (!lastDropped)
    emit("note", loc, message, length);
}

void Diagnostics::emit(const char *kind, SourceLoc loc, const std::string &message,
                       int length) {
  if (loc.line <= 0) {
    out << fileName << ": " << kind << ": " << message << "\n";
    return;
  }
  out << fileName << ":" << loc.line << ":" << loc.col << ": " << kind << ": " << message
      << "\n";

  // Find the line.
  size_t begin = 0;
  for (int line = 1; line < loc.line; ++line) {
    size_t nl = text.find('\n', begin);
    if (nl == std::string::npos)
      return; // a location past the end: no line to show
    begin = nl + 1;
  }
  size_t end = text.find('\n', begin);
  if (end == std::string::npos)
    end = text.size();
  if (end > begin && text[end - 1] == '\r')
    --end;
  size_t len = end - begin;
  size_t col = loc.col > 0 ? static_cast<size_t>(loc.col - 1) : 0;
  if (col > len)
    col = len;

  // The window of bytes to show: about kWindow display columns, the caret
  // near the middle. Walking back estimates widths (a tab as 8, \xNN as 4).
  auto estimate = [&](size_t i) -> size_t {
    unsigned char c = text[begin + i];
    return c == '\t' ? 8 : (c >= 0x20 && c < 0x7F) ? 1 : c >= 0x80 ? 2 : 4;
  };
  size_t total = 0;
  for (size_t i = 0; i < len && total <= kWindow; ++i)
    total += estimate(i);
  size_t ws = 0, we = len;
  if (total > kWindow) {
    size_t back = 0, ahead = 0;
    ws = col;
    while (ws > 0 && back + estimate(ws - 1) <= kWindow / 2)
      back += estimate(--ws);
    while (ws < col && (static_cast<unsigned char>(text[begin + ws]) & 0xC0) == 0x80)
      ++ws; // do not start inside a UTF-8 sequence
    we = col;
    while (we < len && (we == col || back + ahead + estimate(we) <= kWindow))
      ahead += estimate(we++);
    while (we < len && (static_cast<unsigned char>(text[begin + we]) & 0xC0) == 0x80)
      ++we; // nor end inside one
  }

  // Render, remembering the display column of each byte.
  std::string shown = ws > 0 ? "..." : "";
  std::vector<size_t> column(we - ws + 1, 0);
  size_t width = shown.size();
  for (size_t i = ws; i < we;) {
    column[i - ws] = width;
    unsigned char c = text[begin + i];
    size_t n = 1;
    if (c == '\t') {
      size_t spaces = 8 - width % 8;
      shown.append(spaces, ' ');
      width += spaces;
    } else if (c >= 0x20 && c < 0x7F) {
      shown += static_cast<char>(c);
      ++width;
    } else if (c >= 0x80 && (n = utf8Length(text, begin + i, begin + we)) > 0) {
      shown.append(text, begin + i, n);
      ++width;
      for (size_t k = 1; k < n; ++k)
        column[i - ws + k] = width - 1;
    } else {
      n = 1;
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      shown += hex;
      width += 4;
    }
    i += n;
  }
  column[we - ws] = width;
  if (we < len)
    shown += "...";
  out << shown << "\n";

  // The caret line, clipped to the window.
  size_t from = col < ws ? ws : col;
  size_t to = from + (length > 1 ? static_cast<size_t>(length) : 1);
  if (to > we)
    to = we;
  size_t c0 = column[from - ws];
  size_t c1 = to > from ? column[to - ws] : c0 + 1;
  if (c1 <= c0)
    c1 = c0 + 1;
  std::string caret(c0, ' ');
  caret += '^';
  caret.append(c1 - c0 - 1, '~');
  out << caret << "\n";
}

} // namespace kiln
