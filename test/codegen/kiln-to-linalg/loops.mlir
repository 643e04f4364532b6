// Kiln ops inside an scf.for (what kiln-decompose makes of rnn and its
// gradient) lower in place; the loop and its tensor slices stay.
// RUN: kiln-opt %s --kiln-decompose --kiln-lower-to-linalg --split-input-file | FileCheck %s

// rnn: the input projection of all steps is one matmul [N*T, in] x [in, H];
// the recurrence an scf.for over T of [N, H] x [H, H] matmuls and tanh,
// carrying one time-major [T+1, N, H] tensor.
// CHECK-LABEL: func.func @rnn
// CHECK: linalg.transpose {{.*}} permutation = [1, 0, 2]
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<?x3xf32>, tensor<4x3xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<6x?x4xf32>)
// CHECK: linalg.matmul indexing_maps = [{{.*}}] ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4x4xf32>)
// CHECK: math.tanh
// CHECK: tensor.insert_slice
// CHECK: scf.yield
func.func @rnn(%x: tensor<?x5x3xf32>, %wih: tensor<4x3xf32>, %whh: tensor<4x4xf32>, %bih: tensor<4xf32>, %bhh: tensor<4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// rnn_step_grad: a reverse loop, t = T-1 - i.
// CHECK-LABEL: func.func @rnn_step_grad
// CHECK: scf.for
// CHECK: arith.subi %c4{{.*}}, %{{.*}} : index
// CHECK: linalg.matmul
func.func @rnn_step_grad(%s: tensor<?x5x4xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<4x4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn_step_grad %s, %g, %whh : (tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<4x4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

