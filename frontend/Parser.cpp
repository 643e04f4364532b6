#include "frontend/Parser.h"

#include <algorithm>

namespace kiln {

namespace {

/// A name or text shortened for a message.
std::string clip(const std::string &s) { return s.size() <= 40 ? s : s.substr(0, 37) + "..."; }

std::string describe(const Token &t) {
  switch (t.kind) {
  case Tok::Ident: return "'" + clip(std::string(t.text)) + "'";
  case Tok::Int:
  case Tok::Float: return "'" + clip(std::string(t.text)) + "'";
  default: return tokName(t.kind);
  }
}

} // namespace

Parser::Parser(Diagnostics &diags) : diags(diags), lexer(diags) { tok = lexer.next(); }

void Parser::advance() {
  prev = tok;
  do {
    if (!ahead.empty()) {
      tok = ahead.front();
      ahead.pop_front();
    } else {
      tok = lexer.next();
    }
  } while (tok.kind == Tok::Newline && parenDepth > 0);
}

const Token &Parser::peek() {
  while (ahead.empty() || (ahead.front().kind == Tok::Newline && parenDepth > 0)) {
    ahead.clear();
    ahead.push_back(lexer.next());
  }
  return ahead.front();
}

bool Parser::fail(const std::string &what) {
  if (tok.kind == Tok::Error)
    return false;
  if ((tok.firstOnLine || tok.kind == Tok::Eof || tok.kind == Tok::Newline) &&
      prev.length > 0) {
    // Missing at the end of a line: point just after the line's last token.
    SourceLoc after = prev.loc;
    after.col += static_cast<int>(prev.length);
    diags.error(after, "expected " + what);
    return false;
  }
  diags.error(tok.loc, "expected " + what + ", got " + describe(tok),
              static_cast<int>(tok.length ? (tok.length > 1000 ? 1000 : tok.length) : 1));
  return false;
}

/// Marks an open ( or [ while it lives: newlines inside are skipped.
struct Brackets {
  Parser &p;
  bool open = true;
  explicit Brackets(Parser &p) : p(p) { ++p.parenDepth; }
  void close() {
    if (open)
      --p.parenDepth;
    open = false;
  }
  ~Brackets() { close(); }
};

bool Parser::expect(Tok kind, const std::string &what) {
  if (tok.kind == kind) {
    advance();
    return true;
  }
  return fail(what);
}

void Parser::skipStatement() {
  if (tok.firstOnLine && tok.offset != stmtStart)
    return; // the broken statement ended with the previous line
  // Brackets opened while skipping are skipped whole, so a broken
  // statement spread over lines is skipped as one.
  lexer.quiet = true;
  int open = 0;
  while (!(at(Tok::Newline) && open <= 0) && !at(Tok::RBrace) && !at(Tok::Eof)) {
    open += at(Tok::LParen) || at(Tok::LBracket);
    open -= at(Tok::RParen) || at(Tok::RBracket);
    advance();
  }
  lexer.quiet = false;
}

void Parser::skipBlock() {
  // Skips a broken top-level declaration, its braces included.
  lexer.quiet = true;
  int braces = 0;
  while (!at(Tok::Eof)) {
    if (at(Tok::LBrace))
      ++braces;
    if (at(Tok::RBrace) && --braces <= 0) {
      advance();
      break;
    }
    if (at(Tok::Newline) && braces <= 0)
      break;
    advance();
  }
  lexer.quiet = false;
}

File Parser::parseFile() {
  File file;
  while (!diags.limitReached()) {
    while (at(Tok::Newline))
      advance();
    if (at(Tok::Eof))
      break;
    if (atWord("model")) {
      parseModel(file);
    } else if (atWord("train")) {
      parseTrain(file);
    } else {
      size_t start = tok.offset;
      fail("'model' or 'train'");
      skipBlock();
      if (tok.offset == start && !at(Tok::Eof))
        advance(); // always make progress
    }
  }
  file.end = tok.loc;
  if (file.models.empty() && diags.errorCount() == 0)
    diags.error(tok.loc, "expected a model: `model NAME { ... }`");
  return file;
}

bool Parser::parseName(std::string &name, Span &span, const std::string &what) {
  if (!at(Tok::Ident))
    return fail(what);
  name = std::string(tok.text);
  span = spanOf(tok);
  advance();
  return true;
}

bool Parser::parseBlockHeader(std::string &name, Span &span, Span &nameSpan,
                              const std::string &nameWhat, Span &open) {
  span = spanOf(tok);
  advance();
  if (!parseName(name, nameSpan, nameWhat)) {
    skipBlock();
    return false;
  }
  open = spanOf(tok);
  if (!expect(Tok::LBrace, "'{' after the model name")) {
    skipBlock();
    return false;
  }
  return true;
}

bool Parser::endOfStatement(const std::string &what) {
  return at(Tok::Newline) || at(Tok::RBrace) || at(Tok::Eof) || fail(what);
}

void Parser::parseBlockBody(const Span &open, const std::string &unclosed,
                            const std::string &startsHere,
                            const std::function<bool()> &statement) {
  for (;;) {
    while (at(Tok::Newline))
      advance();
    if (diags.limitReached())
      break;
    if (at(Tok::RBrace)) {
      advance();
      break;
    }
    if (at(Tok::Eof)) {
      diags.error(tok.loc, unclosed);
      diags.note(open.loc, startsHere);
      break;
    }
    stmtStart = tok.offset;
    if (!statement())
      skipStatement();
    if (tok.offset == stmtStart && !at(Tok::RBrace) && !at(Tok::Eof))
      advance(); // always make progress
  }
}

void Parser::parseModel(File &file) {
  ModelDecl model;
  Span open;
  if (!parseBlockHeader(model.name, model.span, model.nameSpan, "a model name after 'model'",
                        open))
    return;
  parseBlockBody(open, "expected '}' at the end of model '" + clip(model.name) + "'",
                 "the model's body starts here", [&] {
                   return parseItem(model) && endOfStatement("a newline after the statement");
                 });
  file.models.push_back(std::move(model));
}

void Parser::parseTrain(File &file) {
  TrainDecl train;
  Span open;
  if (!parseBlockHeader(train.name, train.span, train.nameSpan,
                        "the model's name after 'train'", open))
    return;
  parseBlockBody(open, "expected '}' at the end of the train block",
                 "the train block starts here", [&] {
                   Setting setting;
                   bool ok = parseName(setting.key, setting.span,
                                       "a setting name (optimizer, batch, epochs, seed or "
                                       "shuffle)") &&
                             expect(Tok::Equal, "'=' after the setting name");
                   if (ok)
                     setting.value = parseExpr();
                   ok = ok && setting.value && endOfStatement("a newline after the setting");
                   if (!setting.key.empty())
                     train.settings.push_back(std::move(setting));
                   return ok;
                 });
  file.trains.push_back(std::move(train));
}

bool Parser::parseItem(ModelDecl &model) {
  Item item;
  item.span = spanOf(tok);
  if (!at(Tok::Ident))
    return fail("a model item (input, target, param, output, loss, metric or NAME = ...)");
  std::string word(tok.text);
  bool ok = true;
  // The expression after the `=` just read.
  auto value = [&] {
    if (at(Tok::Newline) && !lineEndsAfter(prev))
      return false;
    return (item.value = parseExpr()) != nullptr;
  };
  if (word == "input" || word == "target" || word == "param") {
    item.kind = word == "input" ? Item::Input : word == "target" ? Item::Target : Item::Param;
    advance();
    ok = parseName(item.name, item.nameSpan, "a name after '" + word + "'") &&
         expect(Tok::Colon, "':' and a type after the " + word + "'s name") &&
         parseType(item.type);
    if (ok && item.kind == Item::Param) {
      ok = expect(Tok::Equal, "'=' and an initializer (zeros, ones, uniform(lo, hi), "
                              "normal(mean, std)) after the param's type");
      if (ok)
        ok = (item.value = parseExpr()) != nullptr;
    }
  } else if (word == "output" || word == "metric") {
    item.kind = word == "output" ? Item::Output : Item::Metric;
    advance();
    ok = parseName(item.name, item.nameSpan, "a name after '" + word + "'") &&
         expect(Tok::Equal, "'=' after the " + word + "'s name") && value();
  } else if (word == "loss") {
    item.kind = Item::Loss;
    item.nameSpan = item.span;
    advance();
    ok = expect(Tok::Equal, "'=' after 'loss'") && value();
  } else if (peek().kind == Tok::Equal) {
    item.kind = Item::Let;
    item.name = word;
    item.nameSpan = item.span;
    advance();
    advance();
    ok = value();
  } else {
    advance();
    return fail("'=' after '" + clip(word) + "' (a model item is input, target, param, "
                "output, loss, metric or NAME = ...)");
  }
  if (!ok && item.name.empty())
    return false;
  item.broken = !ok;
  model.items.push_back(std::move(item));
  return ok;
}

bool Parser::parseType(TypeExpr &type) {
  type.span = spanOf(tok);
  if (!parseName(type.dtype, type.span, "a type such as f32[N, 10]"))
    return false;
  if (!at(Tok::LBracket))
    return fail("'[' after the dtype (a scalar is written f32[])");
  Brackets brackets(*this);
  advance();
  while (!at(Tok::RBracket)) {
    Dim dim;
    dim.span = spanOf(tok);
    if (at(Tok::Ident)) {
      dim.isSymbol = true;
      dim.symbol = std::string(tok.text);
      advance();
    } else {
      bool negative = at(Tok::Minus);
      if (negative)
        advance();
      if (!at(Tok::Int))
        return fail("a dimension (an integer or a symbol such as N)");
      if (tok.intIsMinValue && !negative) {
        diags.error(tok.loc, "integer '" + clip(std::string(tok.text)) +
                                 "' is too large for 64 bits", static_cast<int>(tok.length));
        return false;
      }
      dim.value = tok.intIsMinValue ? INT64_MIN : negative ? -tok.intValue : tok.intValue;
      dim.span.end = tok.offset + tok.length;
      advance();
    }
    type.dims.push_back(std::move(dim));
    if (at(Tok::Comma))
      advance();
    else if (!at(Tok::RBracket))
      return fail("',' or ']' after a dimension");
  }
  type.span.end = tok.offset + tok.length;
  brackets.close();
  advance();
  return true;
}

ExprPtr Parser::finish(ExprPtr e) {
  int h = 0;
  for (const ExprPtr &a : e->args)
    h = a->height > h ? a->height : h;
  for (const Kwarg &k : e->kwargs)
    h = k.value->height > h ? k.value->height : h;
  if (e->callee)
    h = e->callee->height > h ? e->callee->height : h;
  e->height = h + 1;
  if (e->height > kMaxHeight) {
    diags.error(e->span.loc, "expression is too long: more than " +
                                 std::to_string(kMaxHeight) + " operations deep",
                e->span.length());
    return nullptr;
  }
  return e;
}

namespace {
/// Counts nesting while it lives; the parser checks the count.
struct DepthGuard {
  int &depth;
  explicit DepthGuard(int &d) : depth(d) { ++depth; }
  ~DepthGuard() { --depth; }
};
} // namespace

bool Parser::tooDeep(SourceLoc at) {
  if (depth <= kMaxDepth)
    return false;
  diags.error(at, "expression is nested too deeply (the limit is " + std::to_string(kMaxDepth) +
                      " levels)");
  return true;
}

ExprPtr Parser::parseExpr() {
  DepthGuard guard(depth);
  if (tooDeep(tok.loc))
    return nullptr;
  return parseChain({Tok::Plus, Tok::Minus}, &Parser::parseTerm);
}

ExprPtr Parser::parseTerm() {
  return parseChain({Tok::Star, Tok::Slash, Tok::At}, &Parser::parseUnary);
}

ExprPtr Parser::parseChain(std::initializer_list<Tok> ops, ExprPtr (Parser::*operand)()) {
  ExprPtr lhs = (this->*operand)();
  while (lhs && std::find(ops.begin(), ops.end(), tok.kind) != ops.end()) {
    Token opTok = tok;
    std::string op(tok.text);
    advance();
    if (at(Tok::Newline) && !lineEndsAfter(opTok))
      return nullptr;
    ExprPtr rhs = (this->*operand)();
    if (!rhs)
      return nullptr;
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Binary;
    e->text = op;
    e->span = {lhs->span.loc, lhs->span.begin, rhs->span.end};
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    lhs = finish(std::move(e));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (!at(Tok::Minus))
    return parsePower();
  Token minus = tok;
  advance();
  // A minus right before a number is part of the number: -2.5, and the
  // smallest int64 can be written; but -2 ** 2 is -(2 ** 2), as in Python.
  if ((at(Tok::Int) || at(Tok::Float)) && peek().kind != Tok::LParen &&
      peek().kind != Tok::StarStar) {
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Number;
    e->span = {minus.loc, minus.offset, tok.offset + tok.length};
    e->text = "-" + std::string(tok.text);
    e->isFloat = at(Tok::Float);
    e->floatValue = -tok.floatValue;
    e->intValue = tok.intIsMinValue ? INT64_MIN : -tok.intValue;
    advance();
    return e;
  }
  DepthGuard guard(depth);
  if (tooDeep(minus.loc))
    return nullptr;
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Unary;
  e->text = "-";
  e->span = {minus.loc, minus.offset, operand->span.end};
  e->args.push_back(std::move(operand));
  return finish(std::move(e));
}

ExprPtr Parser::parsePower() {
  ExprPtr base = parsePostfix();
  if (!base || !at(Tok::StarStar))
    return base;
  Token op = tok;
  advance();
  if (at(Tok::Newline) && !lineEndsAfter(op))
    return nullptr;
  DepthGuard guard(depth);
  if (tooDeep(op.loc))
    return nullptr;
  ExprPtr exponent = parseUnary();
  if (!exponent)
    return nullptr;
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Binary;
  e->text = "**";
  e->span = {base->span.loc, base->span.begin, exponent->span.end};
  e->args.push_back(std::move(base));
  e->args.push_back(std::move(exponent));
  return finish(std::move(e));
}

bool Parser::lineEndsAfter(const Token &op) {
  std::string text(op.text);
  diags.error(op.loc,
              op.kind == Tok::Equal
                  ? "the line ends after '=': start the value on the same line (to spread an "
                    "expression over lines, wrap it in parentheses, as in `x = (a +` / `b)`)"
                  : "the line ends after '" + text + "': a newline ends a statement, so to "
                    "continue the expression on the next line, wrap it in parentheses, as in "
                    "`x = (a " + text + "` / `b)`",
              static_cast<int>(op.length));
  while (at(Tok::Newline))
    advance();
  // The next line is this statement's rest unless it starts a statement.
  if (at(Tok::RBrace) || at(Tok::Eof) || at(Tok::Error))
    return false;
  if (at(Tok::Ident) && (peek().kind == Tok::Equal || peek().kind == Tok::Ident ||
                         peek().kind == Tok::Colon))
    return false;
  return true;
}

ExprPtr Parser::parseIndex(ExprPtr base) {
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Index;
  e->span = base->span;
  e->args.push_back(std::move(base));
  DepthGuard guard(depth);
  if (tooDeep(tok.loc))
    return nullptr;
  bool ok = parseCommaList(Tok::RBracket, "']' after the indices", [&] {
    if (at(Tok::Dot)) {
      diags.error(tok.loc, "'...' is not supported in an index: write ':' for each dimension");
      return false;
    }
    Token first = tok;
    ExprPtr start;
    if (!at(Tok::Colon)) {
      if (!(start = parseExpr()))
        return false;
      if (!at(Tok::Colon)) {
        e->args.push_back(std::move(start));
        return true;
      }
    }
    auto slice = std::make_unique<Expr>();
    slice->kind = Expr::Slice;
    slice->span = spanOf(first);
    if (start) {
      slice->sliceParts |= Expr::kStart;
      slice->args.push_back(std::move(start));
    }
    advance(); // the ':'
    auto part = [&](int which) {
      if (at(Tok::Colon) || at(Tok::Comma) || at(Tok::RBracket))
        return true;
      ExprPtr p = parseExpr();
      if (!p)
        return false;
      slice->sliceParts |= which;
      slice->args.push_back(std::move(p));
      return true;
    };
    if (!part(Expr::kStop))
      return false;
    if (at(Tok::Colon)) {
      advance();
      if (!part(Expr::kStep))
        return false;
    }
    slice->span.end = prev.offset + prev.length;
    if (!(slice = finish(std::move(slice))))
      return false;
    e->args.push_back(std::move(slice));
    return true;
  });
  if (!ok)
    return nullptr;
  e->span.end = prev.offset + prev.length;
  return finish(std::move(e));
}

ExprPtr Parser::parseMember(ExprPtr base) {
  advance(); // the '.'
  if (!at(Tok::Ident)) {
    fail("a name after '.'");
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Member;
  e->text = std::string(tok.text);
  e->span = {base->span.loc, base->span.begin, tok.offset + tok.length};
  e->args.push_back(std::move(base));
  advance();
  return finish(std::move(e));
}

ExprPtr Parser::parsePostfix() {
  ExprPtr e = parsePrimary();
  while (e && (at(Tok::LParen) || at(Tok::LBracket) || at(Tok::Dot))) {
    if (at(Tok::LBracket)) {
      e = parseIndex(std::move(e));
      continue;
    }
    if (at(Tok::Dot)) {
      e = parseMember(std::move(e));
      continue;
    }
    auto call = std::make_unique<Expr>();
    call->kind = Expr::Call;
    call->span = e->span;
    if (e->kind == Expr::Name)
      call->text = e->text;
    call->callee = std::move(e);
    if (!parseArgs(*call))
      return nullptr;
    call->span.end = prev.offset + prev.length;
    e = finish(std::move(call));
  }
  return e;
}

bool Parser::unmatched(const Token &open, const std::string &what) {
  fail(what);
  if (tok.kind != Tok::Error)
    diags.note(open.loc, "to match this '" + std::string(open.text) + "'");
  return false;
}

bool Parser::parseCommaList(Tok close, const std::string &closeWhat,
                            const std::function<bool()> &element) {
  Token open = tok;
  Brackets brackets(*this);
  advance();
  while (!at(close)) {
    if (!element())
      return false;
    if (at(Tok::Comma))
      advance();
    else if (!at(close))
      return unmatched(open, closeWhat);
  }
  brackets.close();
  advance();
  return true;
}

bool Parser::parseArgs(Expr &call) {
  return parseCommaList(Tok::RParen, "')' after arguments", [&] {
    if (at(Tok::Ident) && peek().kind == Tok::Equal) {
      Kwarg kw;
      kw.name = std::string(tok.text);
      kw.span = spanOf(tok);
      advance();
      advance();
      if (!(kw.value = parseExpr()))
        return false;
      call.kwargs.push_back(std::move(kw));
      return true;
    }
    if (!call.kwargs.empty()) {
      diags.error(tok.loc, "positional argument after a keyword argument");
      return false;
    }
    ExprPtr arg = parseExpr();
    if (!arg)
      return false;
    call.args.push_back(std::move(arg));
    return true;
  });
}

ExprPtr Parser::parsePrimary() {
  // Inside an unclosed bracket, `NAME =` starting a line is the next
  // statement, not an operand: stop here so that it still parses.
  if (at(Tok::Ident) && tok.firstOnLine && parenDepth > 0 && peek().kind == Tok::Equal) {
    fail("an expression");
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  e->span = spanOf(tok);
  switch (tok.kind) {
  case Tok::Int:
    if (tok.intIsMinValue) {
      diags.error(tok.loc, "integer '" + std::string(tok.text) + "' is too large for 64 bits",
                  static_cast<int>(tok.length));
      return nullptr;
    }
    e->kind = Expr::Number;
    e->text = std::string(tok.text);
    e->intValue = tok.intValue;
    advance();
    return e;
  case Tok::Float:
    e->kind = Expr::Number;
    e->text = std::string(tok.text);
    e->isFloat = true;
    e->floatValue = tok.floatValue;
    advance();
    return e;
  case Tok::Ident:
    e->text = std::string(tok.text);
    e->kind = Expr::Name;
    if (e->text == "true" || e->text == "false") {
      e->kind = Expr::Bool;
      e->boolValue = e->text == "true";
    }
    advance();
    return e;
  case Tok::LParen: {
    Token open = tok;
    Brackets brackets(*this);
    advance();
    ExprPtr inner = parseExpr();
    if (!inner)
      return nullptr;
    if (!at(Tok::RParen)) {
      unmatched(open, "')'");
      return nullptr;
    }
    brackets.close();
    advance();
    return inner;
  }
  case Tok::LBracket: {
    DepthGuard guard(depth);
    if (tooDeep(tok.loc))
      return nullptr;
    e->kind = Expr::List;
    bool ok = parseCommaList(Tok::RBracket, "']' after list elements", [&] {
      ExprPtr element = parseExpr();
      if (!element)
        return false;
      e->args.push_back(std::move(element));
      return true;
    });
    if (!ok)
      return nullptr;
    e->span.end = prev.offset + prev.length;
    return finish(std::move(e));
  }
  default:
    fail("an expression");
    return nullptr;
  }
}

} // namespace kiln
