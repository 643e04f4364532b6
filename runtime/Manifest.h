// The manifest: what the compiler tells the runtime about a model. The
// compiler writes it (toJson) into the object file as `kiln_manifest_json`;
// the runtime reads it (fromJson) at start-up. This file depends only on
// Types.h, Result.h and nlohmann/json, so the compiler can link it alone.
//
// Schema (unknown keys are ignored, so the compiler may add fields):
// {
//   "model":   "FashionMLP",                                  required
//   "inputs":  [{"name":"image","dtype":"u8","shape":[-1,28,28]}],  >= 1
//   "targets": [{"name":"label","dtype":"i64","shape":[-1],"classes":10}],  may be []
//   "outputs": [{"name":"logits","dtype":"f32","shape":[-1,10]}],   >= 1
//   "params":  [{"name":"net.0.weight","dtype":"f32","shape":[256,784],
//                "init":{"kind":"uniform","a":-0.0357,"b":0.0357}}],
//              a buffer (saved and loaded, never trained) adds "buffer":true
//   "loss": true,               whether kiln_loss writes a loss scalar
//   "metrics": ["accuracy"],    scalars kiln_loss writes after the loss
//   "scalar_dtype": "f32",      optional, "f32" | "f64": loss and metrics
//   "train": {"optimizer":"SGD","lr":0.1,"momentum":0,"weight_decay":0,
//             "beta1":0.9,"beta2":0.999,"eps":1e-8,
//             "batch":64,"epochs":3,"seed":42,"shuffle":true,  optional; and,
//             each optional: "nesterov":false,"alpha":0.99,"clip_grad_norm":0,
//             "scheduler":"none"|"StepLR"|"CosineAnnealingLR","step_size":1,
//             "gamma":0.1,"t_max":1,"eta_min":0},
//   "flops_per_sample": 0,      optional, integer >= 0
//   "target": "cuda", "gpu_arch": "sm_80", "kernels": ["..."]   optional (--target cuda)
//   "min_train_batch": 2,       optional, integer >= 1: the fewest samples a
//                               training batch may hold (BatchNorm1d on [N, C])
//   "arena": {"fixed_bytes":0,"per_sample_bytes":0},           optional
//   "entry_points": ["forward","loss"]   subset of forward, loss, train_step
//   "state": [{"name":"net.0.weight.momentum_buffer","dtype":"f32","shape":[256,784]}],
//   "hyper": ["lr","step","share","seed","offset"]  each optional; with train_step
//                               ("share": data parallelism, "seed" and "offset": dropout)
// }
// "classes" (optional, on an input or target, an integer >= 1): every value
// of the tensor is an index in [0, classes): the class count of the
// cross_entropy, nll_loss or accuracy that takes the target, the table size
// of the Embedding that takes the input. With several uses, the smallest.
// The runtime refuses data outside it (exit 2) before running the model.
// Shapes: inputs, targets and outputs start with -1, the batch dimension;
// every other size is >= 0. Init kinds: zeros, ones, uniform (a = low,
// b = high), normal (a = mean, b = std); uniform and normal need a float param.
#pragma once

#include "runtime/Result.h"
#include "runtime/Types.h"
#include "common/TrainSettings.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// An input, target or output: the shape starts with -1 (the batch).
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// > 0: every value is an index in [0, classes) (class labels, embedding
  /// indices); 0: not recorded, not checked.
  int64_t classes = 0;

  /// The shape of one sample: the shape without its batch dimension.
  std::vector<int64_t> sampleShape() const {
    return std::vector<int64_t>(shape.begin() + (shape.empty() ? 0 : 1),
                                shape.end());
  }
};

struct InitSpec {
  enum class Kind { Zeros, Ones, Uniform, Normal };
  Kind kind = Kind::Zeros;
  double a = 0; // uniform: low;  normal: mean
  double b = 0; // uniform: high; normal: std
};
const char *initKindName(InitSpec::Kind kind);

/// A learnable tensor; the shape is fully static.
struct ParamSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  InitSpec init;
  bool buffer = false; // saved and loaded, never trained (BatchNorm's running statistics)
};

/// The train block's defaults, which the executable's flags override.
using TrainDefaults = TrainSettings;

struct Manifest {
  std::string model;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> targets;
  std::vector<TensorSpec> outputs;
  std::vector<ParamSpec> params;
  bool loss = false;
  std::vector<std::string> metrics;
  DType scalarDType = DType::F32;
  bool hasTrain = false; // whether the model file had a train block
  TrainDefaults train;
  int64_t flopsPerSample = 0;
  // --target cuda: "target": "cuda", "gpu_arch" and "kernels" (names by
  // launch index); a CPU manifest has none of them (target "cpu").
  std::string target = "cpu";
  std::string gpuArch;
  std::vector<std::string> kernels;
  int64_t minTrainBatch = 1; // samples every training batch needs (BatchNorm1d on [N, C]: 2)
  bool hasArena = false;
  int64_t arenaFixedBytes = 0;
  int64_t arenaPerSampleBytes = 0;
  std::vector<std::string> entryPoints;
  /// Optimizer state kiln_train_step carries from step to step (momentum
  /// buffers, exp_avg, exp_avg_sq), static shapes, zero at the start.
  std::vector<TensorSpec> state;
  /// The scalar (0-d f64) arguments kiln_train_step takes after the state,
  /// in order: "lr" (the learning rate) and "step" (1-based, counted over the
  /// whole run).
  std::vector<std::string> hyper;

  bool hasEntryPoint(const std::string &name) const;

  /// Pretty-printed JSON following the schema above.
  std::string toJson() const;
  /// Parses and validates; never throws. The error says which field is wrong.
  static Result<Manifest> fromJson(const std::string &text);
};

} // namespace kiln::runtime
