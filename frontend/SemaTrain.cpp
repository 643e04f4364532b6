// The train block: its settings, checked and stored in the model's TrainConfig.
#include "frontend/SemaImpl.h"

#include <map>

namespace kiln::sema {

void Sema::checkTrain(const File &file) {
  TrainConfig &cfg = model.train;
  for (size_t i = 0; i < file.trains.size(); ++i) {
    const TrainDecl &t = file.trains[i];
    if (i > 0) {
      error(t.span, "only one train block is allowed");
      diags.note(file.trains[0].span.loc, "the first train block is here");
      continue;
    }
    cfg.present = true;
    if (t.name != model.name)
      error(t.nameSpan, "train block names " + quote(t.name) + " but the model is " +
                            quote(model.name));
    std::map<std::string, Span> seen;
    for (const Setting &s : t.settings) {
      if (seen.count(s.key)) {
        error(s.span, "setting " + quote(s.key) + " is given twice");
        diags.note(seen[s.key].loc, "first given here", seen[s.key].length());
        continue;
      }
      seen[s.key] = s.span;
      if (!s.value)
        continue;
      const Expr *e = s.value.get();
      if (s.key == "batch" || s.key == "epochs" || s.key == "seed") {
        auto v = intArg(e, s.key.c_str());
        if (!v)
          continue;
        if (*v < (s.key == "seed" ? 0 : 1)) {
          error(e->span, quote(s.key) + " must be " + (s.key == "seed" ? ">= 0" : ">= 1") +
                             ", got " + std::to_string(*v));
          continue;
        }
        (s.key == "batch" ? cfg.batch : s.key == "epochs" ? cfg.epochs : cfg.seed) = *v;
      } else if (s.key == "shuffle") {
        if (auto v = boolArg(e, "shuffle"))
          cfg.shuffle = *v;
      } else if (s.key == "optimizer") {
        checkOptimizer(*e);
      } else {
        error(s.span, "unknown train setting " + quote(s.key) +
                          "; accepted: optimizer, batch, epochs, seed, shuffle" +
                          suggest(s.key, {"optimizer", "batch", "epochs", "seed", "shuffle"}));
      }
    }
  }
}

/// `optimizer = NAME(...)`: a row of Builtins.def whose parameters are
/// TrainConfig's settings of the same names, as torch.optim's: each >= 0, the
/// betas below 1.
void Sema::checkOptimizer(const Expr &e) {
  const Builtin *b = e.kind == Expr::Call ? findBuiltin(BuiltinKind::Optimizer, callName(e)) : nullptr;
  if (!b) {
    std::string name = e.kind == Expr::Call ? callName(e) : e.kind == Expr::Name ? e.text : "";
    std::vector<std::string> choices;
    for (const Builtin &optimizer : builtins(BuiltinKind::Optimizer))
      choices.push_back(signatureText(optimizer));
    error(e.span, "the optimizer is " + choiceList(choices) +
                      (name.empty() ? "" : suggest(name, builtinNames(BuiltinKind::Optimizer))));
    return;
  }
  Call c{*b, e, {}, {}};
  if (!bind(e, *b, c.args))
    return;
  std::vector<double> values;
  for (size_t k = 0; k < b->params.size(); ++k) {
    auto v = realParam(c, k);
    if (!v)
      return;
    std::string name = b->params[k].name;
    bool beta = name == "beta1" || name == "beta2";
    if (c.args[k] && (!(*v >= 0) || (beta && !(*v < 1)))) {
      error(c.args[k]->span, quote(name) + " must be " + (beta ? "in [0, 1)" : ">= 0") +
                                 ", got " + numberText(*v));
      return;
    }
    values.push_back(*v);
  }
  static const std::map<std::string, double TrainConfig::*> settings = {
      {"lr", &TrainConfig::lr},       {"momentum", &TrainConfig::momentum},
      {"beta1", &TrainConfig::beta1}, {"beta2", &TrainConfig::beta2},
      {"eps", &TrainConfig::eps},     {"weight_decay", &TrainConfig::weightDecay}};
  TrainConfig &cfg = model.train;
  cfg.optimizer = b->optimizer;
  for (size_t k = 0; k < values.size(); ++k)
    cfg.*settings.at(b->params[k].name) = values[k];
}

} // namespace kiln::sema
