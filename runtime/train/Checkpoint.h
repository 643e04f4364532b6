// Training checkpoints: what `train --save` writes after every epoch (and on
// an interrupt) and `train --resume` continues from, exactly.
//
// A checkpoint is a safetensors file that is also a weights file: the
// parameters under their state_dict names (so eval --weights, train --init
// and PyTorch read them), the optimizer state (the manifest's "state":
// momentum buffers, Adam moments) as tensors named "optimizer/<state name>",
// which no parameter name can be, and the position in the metadata:
//   "format": "pt", "kiln.checkpoint": "1", "kiln.model": model name,
//   "kiln.epochs_done": whole epochs trained,
//   "kiln.epoch_steps_done": steps done in the epoch after them (0 at an
//       epoch's end; > 0 after an interrupt),
//   "kiln.step": optimizer steps over the run (the next is this + 1),
//   "kiln.epochs", "kiln.batch", "kiln.lr", "kiln.seed": the run's settings,
//   "kiln.samples": training samples (the position means nothing for others),
//   "kiln.rng.shuffle": the shuffling generator before the epoch in progress
//       drew its order, "kiln.rng.dropout": the dropout generator now
//       (Rng::saveState text).
// A model without optimizer state (plain SGD) writes no "optimizer/" tensor,
// so its checkpoint loads into PyTorch with strict load_state_dict as is.
#pragma once

#include "runtime/Manifest.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

struct TrainPosition {
  int64_t epochsDone = 0, epochStepsDone = 0, runStep = 0;
  int64_t epochs = 0, batch = 0, samples = 0;
  double lr = 0;
  uint64_t seed = 0;
  std::string shuffleRng, dropoutRng; // Rng::saveState
};

struct Checkpoint {
  std::vector<Tensor> params, state; // manifest order
  TrainPosition position;
};

/// Writes a checkpoint atomically; "" or a one-line error.
std::string saveCheckpoint(const std::string &path, const Manifest &m,
                           const std::vector<Tensor> &params,
                           const std::vector<Tensor> &state, const TrainPosition &pos);

/// Reads a checkpoint for model `m`; throws CliError (exit 2) naming the
/// file and what is wrong: not a checkpoint (a plain weights file: use
/// --init), another model, parameters or state that do not match.
Checkpoint loadCheckpoint(const std::string &path, const Manifest &m);

} // namespace kiln::runtime
