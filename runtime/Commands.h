// The commands of the executable, once their flags are parsed and checked.
#pragma once

#include "runtime/Cli.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kiln::runtime {

/// Data file per input/target name.
using DataFiles = std::map<std::string, std::string>;

struct EvalOptions {
  std::string weights;
  DataFiles data;
  int64_t batch = 64;
};

struct PredictOptions {
  std::string weights;
  DataFiles data;
  std::string output; // .npy or .csv
  int64_t batch = 64;
};

struct TrainOptions {
  DataFiles data;
  DataFiles valData; // --val-NAME files; empty: no validation
  // Not given: the checkpoint's (--resume), else the manifest's train block.
  std::optional<int64_t> epochs, batch;
  std::optional<double> lr;
  std::optional<uint64_t> seed;
  int64_t threads = 0;  // 0 = one per core
  int64_t valEvery = 0; // validate every K steps too; 0: per epoch only
  std::string init, save, resume, metrics, tensorboard; // empty when not given
};

/// The file an output goes to: PATH itself for a model with one output,
/// else PATH with ".NAME" inserted before the extension (preds.logits.npy).
std::string outputPath(const std::string &path, const std::string &name,
                       size_t numOutputs);

// Each throws CliError on failure; they print their results to stdout.
void runInfo(const Manifest &m, bool asJson);
void runEval(const Manifest &m, const EntryPoints &ep, const EvalOptions &o);
void runPredict(const Manifest &m, const EntryPoints &ep, const PredictOptions &o);
void runTrain(const Manifest &m, const EntryPoints &ep, const TrainOptions &o);

} // namespace kiln::runtime
