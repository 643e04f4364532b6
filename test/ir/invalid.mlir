// Each verifier rejects what it must, with a message naming the shapes.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @broadcast(%a: tensor<?x10xf32>, %b: tensor<3xf32>) {
  // expected-error@+2 {{cannot broadcast [N, 10] with [3]: dimension 1 is 10 vs 3}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.add %a, %b : (tensor<?x10xf32>, tensor<3xf32>) -> tensor<?x10xf32>
  return
}

// -----

func.func @dtypes(%a: tensor<4xf32>, %b: tensor<4xi64>) {
  // expected-error@+1 {{'kiln.mul' op requires the same element type for all operands}}
  %0 = kiln.mul %a, %b : (tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @wrong_result(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<5xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @int_division(%a: tensor<4xi64>) {
  // expected-error@+2 {{division needs floats, got 'i64'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.div %a, %a : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @exp_of_int(%a: tensor<4xi64>) {
  // expected-error@+1 {{must be ranked tensor of 32-bit float or 64-bit float values}}
  %0 = kiln.exp %a : tensor<4xi64>
  return
}

// -----

func.func @fill_sizes(%n: index) {
  // expected-error@+1 {{needs one size operand per dynamic dimension: expected 1, got 0}}
  %0 = kiln.fill 0.0 : tensor<?x3xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<4xui8>) {
  // expected-error@+1 {{'kiln.cast' op all non-scalar operands/results must have the same shape}}
  %0 = kiln.cast %a : tensor<4xui8> to tensor<5xf32>
  return
}

// -----

func.func @dropout_p(%a: tensor<4xf32>) {
  // expected-error@+1 {{probability must be in [0, 1), got 1.5}}
  %0 = kiln.dropout %a, 1.5 : tensor<4xf32>
  return
}

// -----

func.func @matmul_inner(%a: tensor<?x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+2 {{cannot multiply [N, 3] by [4, 5]: dimension 1 of the left is 3 vs dimension 0 of the right 4}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<?x3xf32>, tensor<4x5xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @linear_in(%x: tensor<?x100xf32>, %w: tensor<256x784xf32>) {
  // expected-error@+2 {{linear input [N, 100] has 100 features (dimension 1) but weight [256, 784] expects 784}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.linear %x, %w : (tensor<?x100xf32>, tensor<256x784xf32>) -> tensor<?x256xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x784xf32>, %w: tensor<256x784xf32>, %b: tensor<10xf32>) {
  // expected-error@+2 {{linear bias must be [256] for weight [256, 784], got [10]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.linear %x, %w, %b : (tensor<?x784xf32>, tensor<256x784xf32>, tensor<10xf32>) -> tensor<?x256xf32>
  return
}

// -----

func.func @reduce_dim(%x: tensor<?x10xf32>) {
  // expected-error@+2 {{dim 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.sum %x [2] : (tensor<?x10xf32>) -> tensor<?x10xf32>
  return
}

// -----

func.func @reduce_sorted(%x: tensor<?x10xf32>) {
  // expected-error@+2 {{dims must be sorted and unique}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.sum %x [1, 0] : (tensor<?x10xf32>) -> tensor<f32>
  return
}

// -----

func.func @mean_int(%x: tensor<?x10xi64>) {
  // expected-error@+2 {{mean needs floats, got 'i64'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.mean %x [1] : (tensor<?x10xi64>) -> tensor<?xi64>
  return
}

// -----

func.func @argmax_type(%x: tensor<?x10xf32>) {
  // expected-error@+2 {{inferred type(s) 'tensor<?xi64>' are incompatible}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.argmax %x, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @softmax_dim(%x: tensor<?x10xf32>) {
  // expected-error@+1 {{dim 3 is out of range for rank 2}}
  %0 = kiln.softmax %x, 3 : tensor<?x10xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{changes the element count}}
  %0 = kiln.reshape %x : tensor<2x3xf32> to tensor<7xf32>
  return
}

// -----

func.func @reshape_batch(%x: tensor<?x3xf32>) {
  // expected-error@+1 {{must keep the batch dimension dynamic}}
  %0 = kiln.reshape %x : tensor<?x3xf32> to tensor<3xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{permutation repeats dim 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.transpose %x [0, 0] : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @concat_shapes(%a: tensor<?x3xf32>, %b: tensor<?x4x1xf32>) {
  // expected-error@+2 {{cannot concatenate [N, 3] with [N, 4, 1]: ranks differ (2 vs 3)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.concat %a, %b dim 1 : (tensor<?x3xf32>, tensor<?x4x1xf32>) -> tensor<?x7xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<?x3x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error@+2 {{conv2d input [N, 3, 28, 28] has 3 channels (dimension 1) but weight [6, 1, 5, 5] expects 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv2d %x, %w stride [1, 1] padding [0, 0] : (tensor<?x3x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<?x6x24x24xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error@+2 {{stride must be two integers >= 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv2d %x, %w stride [0, 1] padding [0, 0] : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<?x6x24x24xf32>
  return
}

// -----

func.func @pool_window(%x: tensor<?x1x4x4xf32>) {
  // expected-error@+2 {{pooling input [N, 1, 4, 4] is too small for a 5x5 window}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.max_pool2d %x kernel [5, 5] stride [5, 5] padding [0, 0] : (tensor<?x1x4x4xf32>) -> tensor<?x1x1x1xf32>
  return
}

// -----

func.func @rnn_sizes(%x: tensor<?x28x28xf32>, %wih: tensor<32x27xf32>, %whh: tensor<32x32xf32>, %b: tensor<32xf32>) {
  // expected-error@+2 {{rnn input [N, 28, 28] has 28 features (dimension 2) but weight_ih [32, 27] expects 27}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.rnn %x, %wih, %whh, %b, %b : (tensor<?x28x28xf32>, tensor<32x27xf32>, tensor<32x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x28x32xf32>
  return
}

// -----

func.func @mse_shapes(%x: tensor<?x10xf32>, %y: tensor<?x9xf32>) {
  // expected-error@+2 {{input and target shapes differ}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.mse %x, %y : (tensor<?x10xf32>, tensor<?x9xf32>) -> tensor<f32>
  return
}

// -----

func.func @ce_target(%x: tensor<?x10xf32>, %t: tensor<?x10xi64>) {
  // expected-error@+2 {{expects input [N, C] and class indices [N]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?x10xi64>) -> tensor<f32>
  return
}

// -----

func.func @ce_float_target(%x: tensor<?x10xf32>, %t: tensor<?xf32>) {
  // expected-error@+1 {{must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer values}}
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<f32>
  return
}

// -----

func.func @accuracy_count(%x: tensor<8x10xf32>, %t: tensor<9xi64>) {
  // expected-error@+2 {{sample counts differ}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.accuracy %x, %t : (tensor<8x10xf32>, tensor<9xi64>) -> tensor<f32>
  return
}

// -----

// A bias of another element type: SameOperandsElementType.
func.func @conv2d_bias_dtype(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %b: tensor<6xf64>) {
  // expected-error@+1 {{'kiln.conv2d' op requires the same element type for all operands}}
  %0 = kiln.conv2d %x, %w, %b stride [1, 1] padding [0, 0] : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<6xf64>) -> tensor<?x6x24x24xf32>
  return
}

// -----

func.func @conv2d_grad_type(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %g: tensor<?x6x24x24xf32>) {
  // expected-error@+2 {{grad 'tensor<?x6x24x24xf32>' is not the conv2d result type 'tensor<?x6x28x28xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv2d_input_grad %g, %w, %x stride [1, 1] padding [2, 2] : (tensor<?x6x24x24xf32>, tensor<6x1x5x5xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
  return
}

// -----

func.func @pool_grad_type(%x: tensor<?x6x28x28xf32>, %g: tensor<?x6x7x7xf32>) {
  // expected-error@+2 {{grad 'tensor<?x6x7x7xf32>' is not the pool's result type 'tensor<?x6x14x14xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.max_pool2d_grad %g, %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x7x7xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
  return
}

// -----

func.func @rnn_step_grad_sizes(%s: tensor<?x5x8xf32>, %w: tensor<4x4xf32>) {
  // expected-error@+2 {{expects states [N, T, H] and weight_hh [H, H]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.rnn_step_grad %s, %s, %w : (tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<4x4xf32>) -> tensor<?x5x8xf32>
  return
}
