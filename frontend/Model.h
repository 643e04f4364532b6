// The checked model: what semantic analysis hands to MLIRGen.
//
// A model file becomes a typed dataflow graph. Every value (an input, a
// target, a parameter, or the result of an operation) is a Node; operands
// refer to earlier nodes by index, so `nodes` is already in topological order.
// Layers are expanded here: a `Linear` call becomes one Linear node whose
// weight and bias operands are Param nodes named as in PyTorch's state_dict
// ("net.0.weight"). Shapes are fully known except the batch dimension.
// This header knows nothing of MLIR.
#pragma once

#include "common/DType.h"
#include "common/TrainSettings.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// The batch symbol (`N`) inside a shape: a size bound at run time.
constexpr int64_t kBatch = -1;

struct TensorType {
  DType dtype = DType::F32;
  std::vector<int64_t> shape; // kBatch marks the batch dimension; {} is a scalar
  /// As written in a model file, e.g. "f32[N, 28, 28]" (batch printed as N).
  std::string str() const;
  bool operator==(const TensorType &o) const {
    return dtype == o.dtype && shape == o.shape;
  }
};

/// A position in the model file (1-based line and column).
struct SourceLoc {
  int line = 0;
  int col = 0;
};

/// What a node is. Leaves are the function's arguments and constants; every
/// other node is an Operation: a kiln op named by the builtins table
/// (frontend/Builtins.def), with the inherent attributes Sema's rule gave it.
enum class OpKind {
  Input,     // name: the input's name
  Target,    // name: the target's name
  Param,     // name: state_dict name; init: how it starts
  Constant,  // data: the values, row-major; type gives the shape and dtype
  Fill,      // attrs: value; its type's batch dimension is sized at run time
  Operation, // op: the dialect's name; attrs: its inherent attributes
};

/// An inherent attribute of an op, by the dialect's name for it ("dims",
/// "keepdim", "dim", "permutation", "stride", "padding", "kernel", "p",
/// "value"). MLIRGen turns each into the MLIR attribute of its kind.
struct OpAttr {
  enum Kind { Int, Ints, Real, Bool } kind = Int;
  std::string name;
  std::vector<int64_t> ints; // Int: one value; Ints: the list; Bool: 0 or 1
  double real = 0;           // Real

  static OpAttr integer(std::string name, int64_t v) { return {Int, std::move(name), {v}}; }
  static OpAttr integers(std::string name, std::vector<int64_t> v) {
    return {Ints, std::move(name), std::move(v)};
  }
  static OpAttr number(std::string name, double v) { return {Real, std::move(name), {}, v}; }
  static OpAttr boolean(std::string name, bool v) { return {Bool, std::move(name), {v}}; }
};

struct Init {
  enum Kind { Zeros, Ones, Uniform, Normal } kind = Zeros;
  double a = 0, b = 0; // uniform(lo=a, hi=b) or normal(mean=a, std=b)
};

struct Node {
  OpKind kind;
  std::string op;            // the kiln dialect's op name ("add", "linear", "fill", ...)
  std::vector<int> operands; // indices into Model::nodes, all smaller than this one
  TensorType type;
  SourceLoc loc;             // where the expression (or declaration) starts
  std::string name;          // the model file's name for this value, if any
  std::vector<OpAttr> attrs; // Operation, Fill: inherent attributes, in order
  std::vector<double> data;  // Constant only
  Init init;                 // Param only
  bool buffer = false;       // Param only: saved and loaded, never trained
};

/// The train block's settings (SGD's lr is required when SGD is named; the
/// other optimizers' defaults are torch.optim's).
struct TrainConfig : TrainSettings {
  bool present = false; // a `train` block was given
};

struct NamedValue {
  std::string name;
  int node = -1;
};

struct Model {
  std::string name;
  std::string file; // path as given on the command line
  std::vector<Node> nodes;
  std::vector<int> inputs, targets, params; // node indices, in declaration order
  std::vector<NamedValue> outputs;          // at least one
  int loss = -1;                            // node index, or -1 without a loss
  std::vector<NamedValue> metrics;
  TrainConfig train;
};

/// What a model holds, in a line: "1 input, 1 target, 6 params (235146
/// values), 1 output, a loss, 1 metric, a train block".
std::string describe(const Model &model);

} // namespace kiln
