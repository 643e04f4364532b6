// Names of operations, and the printed form of tensor types.
#include "frontend/Model.h"

#include "common/Shapes.h"

namespace kiln {

std::string TensorType::str() const { return dtypeName(dtype) + shapes::str(shape); }

const char *opKindName(OpKind kind) {
  switch (kind) {
  case OpKind::Input: return "input";
  case OpKind::Target: return "target";
  case OpKind::Param: return "param";
  case OpKind::Constant: return "constant";
  case OpKind::Fill: return "fill";
  case OpKind::Add: return "add";
  case OpKind::Sub: return "sub";
  case OpKind::Mul: return "mul";
  case OpKind::Div: return "div";
  case OpKind::Neg: return "neg";
  case OpKind::Relu: return "relu";
  case OpKind::Sigmoid: return "sigmoid";
  case OpKind::Tanh: return "tanh";
  case OpKind::Exp: return "exp";
  case OpKind::Log: return "log";
  case OpKind::Sqrt: return "sqrt";
  case OpKind::Abs: return "abs";
  case OpKind::Cast: return "cast";
  case OpKind::MatMul: return "matmul";
  case OpKind::Linear: return "linear";
  case OpKind::Sum: return "sum";
  case OpKind::Mean: return "mean";
  case OpKind::Max: return "max";
  case OpKind::ArgMax: return "argmax";
  case OpKind::Softmax: return "softmax";
  case OpKind::LogSoftmax: return "log_softmax";
  case OpKind::Reshape: return "reshape";
  case OpKind::Transpose: return "transpose";
  case OpKind::Concat: return "concat";
  case OpKind::Conv2d: return "conv2d";
  case OpKind::MaxPool2d: return "max_pool2d";
  case OpKind::AvgPool2d: return "avg_pool2d";
  case OpKind::Dropout: return "dropout";
  case OpKind::RNN: return "rnn";
  case OpKind::Mse: return "mse";
  case OpKind::CrossEntropy: return "cross_entropy";
  case OpKind::BceWithLogits: return "bce_with_logits";
  case OpKind::Accuracy: return "accuracy";
  }
  return "?";
}

} // namespace kiln
