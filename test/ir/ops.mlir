// Every kiln op parses, verifies and prints back the same; a second round
// trip through the generic form checks that printing loses nothing.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<?x10xf32>, %b: tensor<10xf32>, %i: tensor<?x28x28xui8>) -> tensor<?x10xf32> {
  // CHECK: kiln.add %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
  %0 = kiln.add %a, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.sub
  %1 = kiln.sub %0, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.mul
  %2 = kiln.mul %1, %a : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.div
  %3 = kiln.div %2, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.neg %{{.*}} : tensor<?x10xf32>
  %4 = kiln.neg %3 : tensor<?x10xf32>
  // CHECK: kiln.abs
  %5 = kiln.abs %4 : tensor<?x10xf32>
  // CHECK: kiln.relu
  %6 = kiln.relu %5 : tensor<?x10xf32>
  // CHECK: kiln.sigmoid
  %7 = kiln.sigmoid %6 : tensor<?x10xf32>
  // CHECK: kiln.tanh
  %8 = kiln.tanh %7 : tensor<?x10xf32>
  // CHECK: kiln.exp
  %9 = kiln.exp %8 : tensor<?x10xf32>
  // CHECK: kiln.log
  %10 = kiln.log %9 : tensor<?x10xf32>
  // CHECK: kiln.sqrt
  %11 = kiln.sqrt %10 : tensor<?x10xf32>
  // CHECK: kiln.log1p %{{.*}} : tensor<?x10xf32>
  %14 = kiln.log1p %11 : tensor<?x10xf32>
  // CHECK: kiln.sign %{{.*}} : tensor<?x10xf32>
  %15 = kiln.sign %14 : tensor<?x10xf32>
  // CHECK: kiln.silu %{{.*}} : tensor<?x10xf32>
  %16 = kiln.silu %15 : tensor<?x10xf32>
  // CHECK: kiln.dropout %{{.*}}, 5.000000e-01 : tensor<?x10xf32>
  %12 = kiln.dropout %11, 0.5 : tensor<?x10xf32>
  // CHECK: kiln.cast %{{.*}} : tensor<?x28x28xui8> to tensor<?x28x28xf32>
  %13 = kiln.cast %i : tensor<?x28x28xui8> to tensor<?x28x28xf32>
  return %12 : tensor<?x10xf32>
}

// CHECK-LABEL: func.func @constants
func.func @constants(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x3xf32>
  // CHECK: kiln.constant dense<{{\[}}[1, 2], [3, 4]]> : tensor<2x2xi64>
  %0 = kiln.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  // CHECK: kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<?x3xf32>
  %1 = kiln.fill 0.0 sizes(%n) : tensor<?x3xf32>
  // CHECK: kiln.fill 1.500000e+00 : tensor<2xf32>
  %2 = kiln.fill 1.5 : tensor<2xf32>
  return %1 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @products
func.func @products(%x: tensor<?x784xf32>, %w: tensor<256x784xf32>, %b: tensor<256xf32>,
                    %p: tensor<2x3x4xf32>, %q: tensor<4x5xf32>) -> tensor<?x256xf32> {
  // CHECK: kiln.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x784xf32>, tensor<256x784xf32>, tensor<256xf32>) -> tensor<?x256xf32>
  %0 = kiln.linear %x, %w, %b : (tensor<?x784xf32>, tensor<256x784xf32>, tensor<256xf32>) -> tensor<?x256xf32>
  // CHECK: kiln.linear %{{.*}}, %{{.*}} : (tensor<?x784xf32>, tensor<256x784xf32>) -> tensor<?x256xf32>
  %1 = kiln.linear %x, %w : (tensor<?x784xf32>, tensor<256x784xf32>) -> tensor<?x256xf32>
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %2 = kiln.matmul %p, %q : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<?x256xf32>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<?x10xf32>) -> tensor<f32> {
  // CHECK: kiln.sum %{{.*}} [] : (tensor<?x10xf32>) -> tensor<f32>
  %0 = kiln.sum %x [] : (tensor<?x10xf32>) -> tensor<f32>
  // CHECK: kiln.mean %{{.*}} [1] {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  %1 = kiln.mean %x [1] {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  // CHECK: kiln.max %{{.*}}, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  %2 = kiln.max %x, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  // CHECK: kiln.argmax %{{.*}}, 1 : (tensor<?x10xf32>) -> tensor<?xi64>
  %3 = kiln.argmax %x, 1 : (tensor<?x10xf32>) -> tensor<?xi64>
  // CHECK: kiln.softmax %{{.*}}, 1 : tensor<?x10xf32>
  %4 = kiln.softmax %x, 1 : tensor<?x10xf32>
  // CHECK: kiln.log_softmax %{{.*}}, 1 : tensor<?x10xf32>
  %5 = kiln.log_softmax %x, 1 : tensor<?x10xf32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<?x28x28xf32>, %y: tensor<?x16xf32>) -> tensor<?x800xf32> {
  // CHECK: kiln.reshape %{{.*}} : tensor<?x28x28xf32> to tensor<?x784xf32>
  %0 = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
  // CHECK: kiln.transpose %{{.*}} [0, 2, 1] : (tensor<?x28x28xf32>) -> tensor<?x28x28xf32>
  %1 = kiln.transpose %x [0, 2, 1] : (tensor<?x28x28xf32>) -> tensor<?x28x28xf32>
  // CHECK: kiln.concat %{{.*}}, %{{.*}} dim 1 : (tensor<?x784xf32>, tensor<?x16xf32>) -> tensor<?x800xf32>
  %2 = kiln.concat %0, %y dim 1 : (tensor<?x784xf32>, tensor<?x16xf32>) -> tensor<?x800xf32>
  return %2 : tensor<?x800xf32>
}

// CHECK-LABEL: func.func @layers
func.func @layers(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %b: tensor<6xf32>,
                  %s: tensor<?x28x28xf32>, %wih: tensor<32x28xf32>, %whh: tensor<32x32xf32>,
                  %bih: tensor<32xf32>, %bhh: tensor<32xf32>) -> tensor<?x6x14x14xf32> {
  // CHECK: kiln.conv2d %{{.*}}, %{{.*}}, %{{.*}} stride [1, 1] padding [2, 2] : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<?x6x28x28xf32>
  %0 = kiln.conv2d %x, %w, %b stride [1, 1] padding [2, 2] : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<?x6x28x28xf32>
  // CHECK: kiln.max_pool2d %{{.*}} kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x28x28xf32>) -> tensor<?x6x14x14xf32>
  %1 = kiln.max_pool2d %0 kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x28x28xf32>) -> tensor<?x6x14x14xf32>
  // CHECK: kiln.avg_pool2d %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x6x28x28xf32>) -> tensor<?x6x14x14xf32>
  %2 = kiln.avg_pool2d %0 kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x6x28x28xf32>) -> tensor<?x6x14x14xf32>
  // CHECK: kiln.rnn %{{.*}} : (tensor<?x28x28xf32>, tensor<32x28xf32>, tensor<32x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x28x32xf32>
  %3 = kiln.rnn %s, %wih, %whh, %bih, %bhh : (tensor<?x28x28xf32>, tensor<32x28xf32>, tensor<32x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x28x32xf32>
  return %1 : tensor<?x6x14x14xf32>
}

// CHECK-LABEL: func.func @losses
func.func @losses(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>, %t: tensor<?xi64>, %u: tensor<?xui8>) -> tensor<f32> {
  // CHECK: kiln.mse %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %0 = kiln.mse %x, %y : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  // CHECK: kiln.bce_with_logits
  %1 = kiln.bce_with_logits %x, %y : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  // CHECK: kiln.cross_entropy %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %2 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  // CHECK: kiln.accuracy %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?xui8>) -> tensor<f32>
  %3 = kiln.accuracy %x, %u : (tensor<?x10xf32>, tensor<?xui8>) -> tensor<f32>
  // CHECK: kiln.nll_loss %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %4 = kiln.nll_loss %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @layer_gradients
func.func @layer_gradients(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %g: tensor<?x6x28x28xf32>,
                           %pg: tensor<?x6x14x14xf32>, %s: tensor<?x5x8xf32>, %whh: tensor<8x8xf32>,
                           %seed: tensor<f64>) -> tensor<?x6x28x28xf32> {
  // CHECK: kiln.conv2d_input_grad %{{.*}}, %{{.*}}, %{{.*}} stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<6x1x5x5xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
  %0 = kiln.conv2d_input_grad %g, %w, %x stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<6x1x5x5xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
  // CHECK: kiln.conv2d_weight_grad %{{.*}}, %{{.*}}, %{{.*}} stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<6x1x5x5xf32>
  %1 = kiln.conv2d_weight_grad %g, %x, %w stride [1, 1] padding [2, 2] : (tensor<?x6x28x28xf32>, tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<6x1x5x5xf32>
  // CHECK: kiln.max_pool2d_grad %{{.*}}, %{{.*}} kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x14x14xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
  %2 = kiln.max_pool2d_grad %pg, %g kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x6x14x14xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
  // CHECK: kiln.avg_pool2d_grad %{{.*}}, %{{.*}} kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x6x14x14xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
  %3 = kiln.avg_pool2d_grad %pg, %g kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x6x14x14xf32>, tensor<?x6x28x28xf32>) -> tensor<?x6x28x28xf32>
  // CHECK: kiln.rnn_step_grad %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<8x8xf32>) -> tensor<?x5x8xf32>
  %4 = kiln.rnn_step_grad %s, %s, %whh : (tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<8x8xf32>) -> tensor<?x5x8xf32>
  // CHECK: kiln.dropout %{{.*}}, 5.000000e-01 seed %{{.*}} salt 2 : tensor<?x6x28x28xf32>
  %5 = kiln.dropout %2, 0.5 seed %seed salt 2 : tensor<?x6x28x28xf32>
  // CHECK: kiln.dropout %{{.*}}, 5.000000e-01 seed %{{.*}} offset %{{.*}} : tensor<?x6x28x28xf32>
  %6 = kiln.dropout %5, 0.5 seed %seed offset %seed : tensor<?x6x28x28xf32>
  // CHECK: kiln.im2col %{{.*}} kernel [5, 5] stride [1, 1] padding [2, 2] : (tensor<?x1x28x28xf32>) -> tensor<25x?xf32>
  %7 = kiln.im2col %x kernel [5, 5] stride [1, 1] padding [2, 2] : (tensor<?x1x28x28xf32>) -> tensor<25x?xf32>
  // CHECK: kiln.im2col %{{.*}} kernel [5, 5] stride [2, 2] padding [0, 0] rows : (tensor<?x1x28x28xf32>) -> tensor<?x25xf32>
  %8 = kiln.im2col %x kernel [5, 5] stride [2, 2] padding [0, 0] rows : (tensor<?x1x28x28xf32>) -> tensor<?x25xf32>
  // CHECK: kiln.col2im %{{.*}}, %{{.*}} kernel [5, 5] stride [1, 1] padding [2, 2] : (tensor<25x?xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
  %9 = kiln.col2im %7, %x kernel [5, 5] stride [1, 1] padding [2, 2] : (tensor<25x?xf32>, tensor<?x1x28x28xf32>) -> tensor<?x1x28x28xf32>
  return %6 : tensor<?x6x28x28xf32>
}

// CHECK-LABEL: func.func @gradient_helpers
func.func @gradient_helpers(%x: tensor<?x10xf32>, %g: tensor<?x1xf32>, %t: tensor<?xi64>,
                            %m: tensor<3x4xf32>, %r: tensor<3xf32>, %c: tensor<3x8xf32>) -> tensor<?x10xf32> {
  // CHECK: kiln.broadcast_like %{{.*}}, %{{.*}} : (tensor<?x1xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %0 = kiln.broadcast_like %g, %x : (tensor<?x1xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.relu_grad %{{.*}}, %{{.*}} : tensor<?x10xf32>
  %1 = kiln.relu_grad %x, %0 : tensor<?x10xf32>
  // CHECK: kiln.max_grad %{{.*}}, %{{.*}}, 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  %2 = kiln.max_grad %m, %r, 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  // CHECK: kiln.cross_entropy_grad %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<?x10xf32>
  %3 = kiln.cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<?x10xf32>
  // CHECK: kiln.one_hot %{{.*}} : tensor<?xi64> to tensor<?x10xf32>
  %4 = kiln.one_hot %t : tensor<?xi64> to tensor<?x10xf32>
  // CHECK: kiln.slice %{{.*}} dim 1 start 2 size 4 : (tensor<3x8xf32>) -> tensor<3x4xf32>
  %5 = kiln.slice %c dim 1 start 2 size 4 : (tensor<3x8xf32>) -> tensor<3x4xf32>
  return %1 : tensor<?x10xf32>
}

// Data parallelism: the reduction over the processes, results typed as the
// operands.
// CHECK-LABEL: func.func @collectives
func.func @collectives(%g: tensor<3x4xf32>, %l: tensor<f32>, %share: tensor<f64>) -> (tensor<3x4xf32>, tensor<f32>) {
  // CHECK: %{{.*}}:2 = kiln.all_reduce_mean %{{.*}}, %{{.*}} share %{{.*}} : tensor<3x4xf32>, tensor<f32>
  %r:2 = kiln.all_reduce_mean %g, %l share %share : tensor<3x4xf32>, tensor<f32>
  return %r#0, %r#1 : tensor<3x4xf32>, tensor<f32>
}
