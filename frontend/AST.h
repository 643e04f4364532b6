// The syntax tree of a model file, as written (no names resolved, no types).
#pragma once

#include "frontend/Model.h"

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace kiln {

/// Where a piece of syntax is: its start and its byte range in the file.
struct Span {
  SourceLoc loc;
  size_t begin = 0, end = 0;
  /// For a diagnostic's caret (Diagnostics clips it to the line).
  int length() const {
    size_t n = end > begin ? end - begin : 1;
    return static_cast<int>(n > 100000 ? 100000 : n);
  }
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Kwarg {
  std::string name;
  Span span; // the name
  ExprPtr value;
};

struct Expr {
  // Index: args[0][args[1], ...], each entry an expression or a Slice.
  // Slice: `start:stop:step` inside an index; args hold the parts written,
  // in order, and sliceParts says which (kStart | kStop | kStep).
  // Member: args[0].text, as in nn.Linear or x.T (Sema says what to write).
  enum Kind { Number, Bool, Name, Unary, Binary, Call, List, Index, Slice, Member } kind;
  static constexpr int kStart = 1, kStop = 2, kStep = 4;
  Span span;
  int height = 1;       // of this subtree; the parser bounds it
  std::string text;     // Number: as written ("-2.5"); Name: the name; Call: the
                        // callee's name when it is a plain name; Unary/Binary: op;
                        // Member: the name after the dot
  bool isFloat = false; // Number written with '.' or an exponent
  int64_t intValue = 0; // Number, !isFloat
  double floatValue = 0;// Number, isFloat
  bool boolValue = false;
  ExprPtr callee;             // Call
  std::vector<ExprPtr> args;  // Unary: 1, Binary: 2, Call: positional, List: elements
  std::vector<Kwarg> kwargs;  // Call
  int sliceParts = 0;         // Slice
  /// A Slice's part (kStart, kStop or kStep), or null when left out.
  const Expr *slicePart(int part) const {
    if (!(sliceParts & part))
      return nullptr;
    size_t k = 0;
    for (int p = kStart; p < part; p <<= 1)
      k += (sliceParts & p) != 0;
    return args[k].get();
  }
};

struct Dim {
  bool isSymbol = false;
  std::string symbol;
  int64_t value = 0;
  Span span;
};

struct TypeExpr {
  std::string dtype;
  std::vector<Dim> dims;
  Span span;
};

struct Item {
  enum Kind { Input, Target, Param, Let, Output, Loss, Metric } kind;
  Span span;          // the whole statement's start
  std::string name;   // empty for Loss
  Span nameSpan;
  TypeExpr type;      // Input, Target, Param
  ExprPtr value;      // Let, Output, Loss, Metric; Param: the initializer
  bool broken = false;// did not parse: its name is known but poisoned
};

struct ModelDecl {
  std::string name;
  Span span, nameSpan;
  std::vector<Item> items;
};

struct Setting {
  std::string key;
  Span span;
  ExprPtr value; // null when it did not parse
};

struct TrainDecl {
  std::string name;
  Span span, nameSpan;
  std::vector<Setting> settings;
};

struct File {
  std::vector<ModelDecl> models; // only one is allowed; Sema says so
  std::vector<TrainDecl> trains;
  SourceLoc end;                 // where the file ends
};

/// Writes the tree, one node a line, indented two spaces per level.
void printAST(const File &file, std::ostream &out);

} // namespace kiln
