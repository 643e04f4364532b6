// What the commands that run generated code share: the data set of a run,
// its weights, batch staging buffers and the scalars generated code writes.
#pragma once

#include "runtime/Commands.h"
#include "runtime/Manifest.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// The inputs and targets of a run, all with the same number of samples.
struct DataSet {
  std::vector<Tensor> inputs, targets;
  int64_t samples = 0;
};

/// Loads every input (and target) file; throws CliError (exit 2) for a bad
/// file, an empty one, files with different sample counts, or values outside
/// a tensor's "classes" (checkIndices).
DataSet loadDataSet(const Manifest &m, const DataFiles &files, bool withTargets);

/// When the manifest gives `spec` a class count, every value of `t` (loaded
/// from `path`) must be an index in [0, classes): else exit 2 naming the
/// file, the sample and the value. `kind`: "input" or "target".
void checkIndices(const TensorSpec &spec, const Tensor &t, const std::string &path,
                  const char *kind);

/// Strict load of the parameters (exit 2 on any mismatch).
std::vector<Tensor> loadWeights(const Manifest &m, const std::string &path);

/// A buffer of `rows` samples shaped like `spec` (the batch staging area).
Tensor batchBuffer(const TensorSpec &spec, int64_t rows,
                   Tensor::Memory memory = Tensor::Memory::Host);

/// One such buffer per spec.
std::vector<Tensor> batchBuffers(const std::vector<TensorSpec> &specs, int64_t rows,
                                 Tensor::Memory memory = Tensor::Memory::Host);

/// The same for batches of inputs and targets: staged to the device in a
/// cuda run (Tensor.h).
std::vector<StagedTensor> stagedBatchBuffers(const std::vector<TensorSpec> &specs, int64_t rows);

/// kiln_train_step's hyperparameter slots (Manifest::hyper: f64 scalars)
/// and the loss and metric slots (scalarNames order, scalar_dtype): pinned
/// memory in a cuda run (Tensor.h).
std::vector<Tensor> hyperBuffers(const Manifest &m);
std::vector<Tensor> scalarBuffers(const Manifest &m);

/// The value of a rank-0 f32 or f64 tensor.
double scalarValue(const Tensor &t);

/// The loss and metrics (scalarNames order) over a data set: kiln_loss over
/// batches of `batch` samples, each batch mean weighed by its size (as
/// PyTorch gets over the whole set). With `stoppable`, gives up and returns
/// false when a signal asked the run to stop (Signals.h).
bool evaluate(const Manifest &m, const EntryPoints &ep, const DataSet &ds,
              std::vector<Tensor> &params, int64_t batch, std::vector<double> &means,
              bool stoppable = false);

/// The names of the scalars kiln_loss and kiln_train_step write: "loss"
/// (when the model has one), then the metrics.
std::vector<std::string> scalarNames(const Manifest &m);

} // namespace kiln::runtime
