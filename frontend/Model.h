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

enum class OpKind {
  // Leaves.
  Input,  // name: the input's name
  Target, // name: the target's name
  Param,  // name: state_dict name; init: how it starts
  Constant, // data: the values, row-major; type gives the shape and dtype
  Fill,     // dims: the shape (may hold kBatch); scalar: the value
  // Element-wise (binary ones broadcast as NumPy does).
  Add, Sub, Mul, Div,
  Neg, Relu, Sigmoid, Tanh, Exp, Log, Sqrt, Abs,
  Cast, // to type.dtype
  // Linear algebra and reductions.
  MatMul,     // 2-D, or batched with broadcast leading dims
  Linear,     // operands: x, weight [out, in], optional bias [out]
  Sum, Mean,  // dims: reduced dims, normalized, sorted (all dims when all); keepdim
  Max,        // dims: {dim}; keepdim (values only)
  ArgMax,     // dims: {dim}; keepdim; result i64
  Softmax, LogSoftmax, // dims: {dim}
  // Shape.
  Reshape,   // dims: the result shape (kBatch where the batch stays)
  Transpose, // dims: {d0, d1}, normalized
  Concat,    // dims: {dim}, normalized; operands: the pieces
  // Layers that later issues compile; typed and checked already.
  Conv2d,    // operands: x, weight [out, in, kh, kw], optional bias; dims: {sh, sw, ph, pw}
  MaxPool2d, AvgPool2d, // dims: {kh, kw, sh, sw, ph, pw}
  Dropout,   // scalar: p
  RNN,       // operands: x, weight_ih, weight_hh, bias_ih, bias_hh
  // Losses and metrics: scalar f32 results.
  Mse, CrossEntropy, BceWithLogits, Accuracy,
};

/// "add", "linear", "cross_entropy", ... (the Kiln dialect's op names).
const char *opKindName(OpKind kind);

struct Init {
  enum Kind { Zeros, Ones, Uniform, Normal } kind = Zeros;
  double a = 0, b = 0; // uniform(lo=a, hi=b) or normal(mean=a, std=b)
};

struct Node {
  OpKind kind;
  std::vector<int> operands; // indices into Model::nodes, all smaller than this one
  TensorType type;
  SourceLoc loc;             // where the expression (or declaration) starts
  std::string name;          // the model file's name for this value, if any
  std::vector<int64_t> dims; // per kind, see OpKind
  bool keepdim = false;
  double scalar = 0;
  std::vector<double> data;  // Constant only
  Init init;                 // Param only
};

struct TrainConfig {
  bool present = false; // a `train` block was given
  enum Optimizer { SGD, Adam } optimizer = SGD;
  double lr = 0.01; // SGD's lr is required when SGD is named; Adam's default is 0.001
  double momentum = 0, weightDecay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t batch = 64, epochs = 1, seed = 0;
  bool shuffle = true;
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

} // namespace kiln
