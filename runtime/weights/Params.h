// A model's parameters: seeded initial values, and loading and saving them
// as safetensors under their PyTorch state_dict names.
#pragma once

#include "runtime/Manifest.h"
#include "runtime/Result.h"
#include "runtime/Tensor.h"

#include <string>
#include <vector>

namespace kiln::runtime {

/// Initial values, in manifest order, all drawn from one generator seeded by
/// `seed` (parameters in order, elements in row-major order).
std::vector<Tensor> initParams(const std::vector<ParamSpec> &specs, uint64_t seed);

/// Tensors whose names start with this hold a checkpoint's optimizer state
/// ("optimizer/net.0.weight.momentum_buffer"); no model parameter's name can
/// contain '/', so they never clash. Loading parameters skips them.
constexpr const char *kOptimizerPrefix = "optimizer/";

/// Loads every parameter from a safetensors file. Like PyTorch's strict
/// load_state_dict: a missing tensor, an unexpected one, a wrong shape or a
/// wrong dtype is an error naming the tensor. A checkpoint's optimizer state
/// (kOptimizerPrefix) is skipped, so --init and --weights take checkpoints.
Result<std::vector<Tensor>> loadParams(const std::string &path,
                                       const std::vector<ParamSpec> &specs);

/// Saves the parameters (atomically) with metadata {"format": "pt"}, as
/// safetensors.torch.save_file does.
std::string saveParams(const std::string &path, const std::vector<ParamSpec> &specs,
                       const std::vector<Tensor> &values);

} // namespace kiln::runtime
