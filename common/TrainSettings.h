// The train block's settings: one definition for the frontend (the model
// file's `train` block), the dialect (#kiln.train), the manifest and the
// runtime, which steps the learning-rate schedule. Plain C++, header-only.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

/// torch.optim's optimizers; the numbers are #kiln.train's enum values.
enum class OptimizerKind : uint32_t { SGD = 0, Adam = 1, AdamW = 2, RMSprop = 3 };
/// torch.optim.lr_scheduler's schedules, stepped once per epoch.
enum class SchedulerKind : uint32_t { None = 0, StepLR = 1, CosineAnnealingLR = 2 };

inline const char *optimizerName(OptimizerKind o) {
  switch (o) {
  case OptimizerKind::SGD: return "SGD";
  case OptimizerKind::Adam: return "Adam";
  case OptimizerKind::AdamW: return "AdamW";
  case OptimizerKind::RMSprop: return "RMSprop";
  }
  return "?";
}

inline std::optional<OptimizerKind> parseOptimizerName(std::string_view name) {
  for (OptimizerKind o : {OptimizerKind::SGD, OptimizerKind::Adam, OptimizerKind::AdamW,
                          OptimizerKind::RMSprop})
    if (name == optimizerName(o))
      return o;
  return std::nullopt;
}

inline const char *schedulerName(SchedulerKind s) {
  switch (s) {
  case SchedulerKind::None: return "none";
  case SchedulerKind::StepLR: return "StepLR";
  case SchedulerKind::CosineAnnealingLR: return "CosineAnnealingLR";
  }
  return "?";
}

inline std::optional<SchedulerKind> parseSchedulerName(std::string_view name) {
  for (SchedulerKind s :
       {SchedulerKind::None, SchedulerKind::StepLR, SchedulerKind::CosineAnnealingLR})
    if (name == schedulerName(s))
      return s;
  return std::nullopt;
}

/// Every setting with the language's defaults (DSL.md's train block).
struct TrainSettings {
  OptimizerKind optimizer = OptimizerKind::SGD;
  double lr = 0.01;
  double momentum = 0;    // SGD, RMSprop
  double weightDecay = 0; // L2 added to the gradient; AdamW: decoupled
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;      // Adam, AdamW, RMSprop
  bool nesterov = false;  // SGD with momentum
  double alpha = 0.99;    // RMSprop's smoothing constant
  double clipGradNorm = 0; // clip_grad_norm_'s max_norm; 0: no clipping
  SchedulerKind scheduler = SchedulerKind::None;
  int64_t stepSize = 1; // StepLR
  double gamma = 0.1;   // StepLR
  int64_t tMax = 1;     // CosineAnnealingLR's T_max
  double etaMin = 0;    // CosineAnnealingLR
  int64_t batch = 64, epochs = 1;
  uint64_t seed = 0;
  bool shuffle = true;
};

/// The learning rate of 0-based epoch `epoch` of a run whose first epoch
/// used `baseLr`: the schedule stepped `epoch` times, with the recurrences
/// torch.optim.lr_scheduler's step() applies (not the closed forms), so the
/// numbers are PyTorch's to the last bit.
inline double scheduledLr(const TrainSettings &s, double baseLr, int64_t epoch) {
  double lr = baseLr;
  for (int64_t e = 1; e <= epoch; ++e) {
    switch (s.scheduler) {
    case SchedulerKind::None:
      return baseLr;
    case SchedulerKind::StepLR:
      if (e % s.stepSize == 0)
        lr = lr * s.gamma;
      break;
    case SchedulerKind::CosineAnnealingLR: {
      const double pi = 3.14159265358979323846, t = double(s.tMax);
      if ((e - 1 - s.tMax) % (2 * s.tMax) == 0)
        lr = lr + (baseLr - s.etaMin) * (1 - std::cos(pi / t)) / 2;
      else
        lr = (1 + std::cos(pi * double(e) / t)) / (1 + std::cos(pi * double(e - 1) / t)) *
                 (lr - s.etaMin) +
             s.etaMin;
      break;
    }
    }
  }
  return lr;
}

} // namespace kiln
