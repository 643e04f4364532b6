// The frontend's entry points: model file text in, checked Model out.
#pragma once

#include "frontend/Model.h"

#include <optional>
#include <ostream>
#include <string>

namespace kiln {

/// Collects diagnostics and prints them in clang's form:
///   file:line:col: error: message
///     <the source line>
///           ^~~~~
class Diagnostics {
public:
  Diagnostics(std::string file, std::string source, std::ostream &out);
  void error(SourceLoc loc, const std::string &message, int length = 1);
  void note(SourceLoc loc, const std::string &message, int length = 1);
  int errorCount() const { return errors; }
  /// After this many errors the rest are dropped (with one line saying so);
  /// the parser and Sema stop early once it is reached.
  static constexpr int kMaxErrors = 20;
  bool limitReached() const { return errors >= kMaxErrors; }
  /// Says "too many errors emitted, stopping now" if the limit was reached
  /// (once); checkModel and dumpAST call it when they are done.
  void finish();
  const std::string &file() const { return fileName; }
  const std::string &source() const { return text; }

private:
  void emit(const char *kind, SourceLoc loc, const std::string &message, int length);
  std::string fileName, text;
  std::ostream &out;
  int errors = 0;
  bool stopped = false;     // "too many errors" was printed
  bool lastDropped = false; // the last error was dropped, so drop its notes
};

/// Parses and checks a model file. Prints every diagnostic to `diags`;
/// returns the model only when there were no errors. Never crashes or hangs,
/// whatever the bytes.
std::optional<Model> checkModel(Diagnostics &diags);

/// Prints the parsed (unchecked) syntax tree, for `kiln build --emit=ast`.
/// Returns false (with diagnostics printed) if the file does not parse.
bool dumpAST(Diagnostics &diags, std::ostream &out);

} // namespace kiln
