// The printed forms of tensor types and of a model's summary.
#include "frontend/Model.h"

#include "common/Shapes.h"

namespace kiln {

std::string TensorType::str() const { return dtypeName(dtype) + shapes::str(shape); }

std::string describe(const Model &model) {
  auto count = [](size_t n, const char *what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  // Buffers (BatchNorm's running statistics) are counted apart, as
  // PyTorch's parameters() leaves them out.
  int64_t values = 0, buffers = 0; // params are static and sized by Sema's overflow checks
  for (int p : model.params) {
    int64_t n = 1;
    for (int64_t d : model.nodes[p].type.shape)
      n *= d;
    if (model.nodes[p].buffer)
      ++buffers;
    else
      values += n;
  }
  std::string text = count(model.inputs.size(), "input") + ", " +
                     count(model.targets.size(), "target") + ", " +
                     count(model.params.size() - buffers, "param") + " (" +
                     std::to_string(values) + " values), " +
                     (buffers ? count(buffers, "buffer") + ", " : "") +
                     count(model.outputs.size(), "output");
  if (model.loss >= 0)
    text += ", a loss";
  if (!model.metrics.empty())
    text += ", " + count(model.metrics.size(), "metric");
  if (model.train.present)
    text += ", a train block";
  return text;
}

} // namespace kiln
