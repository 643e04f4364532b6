// The train block: its settings, checked and stored in the model's TrainConfig.
#include "frontend/SemaImpl.h"

#include <cmath>
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
        if (s.key == "seed")
          cfg.seed = uint64_t(*v);
        else
          (s.key == "batch" ? cfg.batch : cfg.epochs) = *v;
      } else if (s.key == "shuffle") {
        if (auto v = boolArg(e, "shuffle"))
          cfg.shuffle = *v;
      } else if (s.key == "optimizer") {
        checkOptimizer(*e);
      } else if (s.key == "scheduler") {
        checkScheduler(*e);
      } else if (s.key == "clip_grad_norm") {
        // torch.nn.utils.clip_grad_norm_'s max_norm; 0 would zero every gradient.
        auto v = realArg(e, "clip_grad_norm");
        if (v && !(*v > 0 && std::isfinite(*v)))
          error(e->span, "'clip_grad_norm' must be a number > 0, got " + numberText(*v));
        else if (v)
          cfg.clipGradNorm = *v;
      } else {
        static const std::vector<std::string> keys = {
            "optimizer", "scheduler", "clip_grad_norm", "batch", "epochs", "seed", "shuffle"};
        error(s.span, "unknown train setting " + quote(s.key) + "; accepted: " +
                          choiceList(keys) + suggest(s.key, keys));
      }
    }
  }
  // SGD's nesterov needs a momentum, as torch.optim.SGD says.
  if (cfg.nesterov && cfg.momentum == 0)
    for (const Setting &s : file.trains[0].settings)
      if (s.key == "optimizer" && s.value)
        error(s.value->span, "nesterov = true needs a momentum above 0");
}

/// `optimizer = NAME(...)`: a row of Builtins.def whose parameters are
/// TrainConfig's settings of the same names, as torch.optim's: each >= 0, the
/// betas and RMSprop's alpha below 1, nesterov true or false.
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
  static const std::map<std::string, double TrainSettings::*> reals = {
      {"lr", &TrainSettings::lr},       {"momentum", &TrainSettings::momentum},
      {"beta1", &TrainSettings::beta1}, {"beta2", &TrainSettings::beta2},
      {"eps", &TrainSettings::eps},     {"weight_decay", &TrainSettings::weightDecay},
      {"alpha", &TrainSettings::alpha}};
  TrainConfig chosen; // the row's settings, written to the model's once all are valid
  chosen.optimizer = b->optimizer;
  for (size_t k = 0; k < b->params.size(); ++k) {
    std::string name = b->params[k].name;
    if (name == "nesterov") {
      auto v = boolParam(c, k);
      if (!v)
        return;
      chosen.nesterov = *v;
      continue;
    }
    auto v = realParam(c, k);
    if (!v)
      return;
    bool fraction = name == "beta1" || name == "beta2" || name == "alpha";
    if (c.args[k] && (!(*v >= 0) || (fraction && !(*v < 1)))) {
      error(c.args[k]->span, quote(name) + " must be " + (fraction ? "in [0, 1)" : ">= 0") +
                                 ", got " + numberText(*v));
      return;
    }
    chosen.*reals.at(name) = *v;
  }
  TrainConfig &cfg = model.train;
  cfg.optimizer = chosen.optimizer;
  for (const auto &[name, field] : reals)
    cfg.*field = chosen.*field;
  cfg.nesterov = chosen.nesterov;
}

/// `scheduler = StepLR(step_size, gamma=0.1)` or `CosineAnnealingLR(T_max,
/// eta_min=0)`: the sizes >= 1, the others >= 0.
void Sema::checkScheduler(const Expr &e) {
  const Builtin *b = e.kind == Expr::Call ? findBuiltin(BuiltinKind::Scheduler, callName(e)) : nullptr;
  if (!b) {
    std::string name = e.kind == Expr::Call ? callName(e) : e.kind == Expr::Name ? e.text : "";
    std::vector<std::string> choices;
    for (const Builtin &scheduler : builtins(BuiltinKind::Scheduler))
      choices.push_back(signatureText(scheduler));
    error(e.span, "the scheduler is " + choiceList(choices) +
                      (name.empty() ? "" : suggest(name, builtinNames(BuiltinKind::Scheduler))));
    return;
  }
  Call c{*b, e, {}, {}};
  if (!bind(e, *b, c.args))
    return;
  static const std::map<std::string, int64_t TrainSettings::*> sizes = {
      {"step_size", &TrainSettings::stepSize}, {"T_max", &TrainSettings::tMax}};
  static const std::map<std::string, double TrainSettings::*> reals = {
      {"gamma", &TrainSettings::gamma}, {"eta_min", &TrainSettings::etaMin}};
  TrainConfig &cfg = model.train;
  TrainConfig chosen = cfg;
  chosen.scheduler = b->scheduler;
  for (size_t k = 0; k < b->params.size(); ++k) {
    std::string name = b->params[k].name;
    const Span &at = c.args[k] ? c.args[k]->span : e.span;
    if (sizes.count(name)) {
      auto v = intParam(c, k);
      if (!v)
        return;
      if (*v < 1) {
        error(at, quote(name) + " must be >= 1, got " + std::to_string(*v));
        return;
      }
      chosen.*sizes.at(name) = *v;
    } else {
      auto v = realParam(c, k);
      if (!v)
        return;
      if (!(*v >= 0) || !std::isfinite(*v)) {
        error(at, quote(name) + " must be >= 0, got " + numberText(*v));
        return;
      }
      chosen.*reals.at(name) = *v;
    }
  }
  cfg = chosen;
}

} // namespace kiln::sema
