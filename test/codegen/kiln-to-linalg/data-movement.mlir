// Ops that move elements: reshape, transpose, concat, slice.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// reshape to a dynamic shape computes the batch from the element count.
// CHECK-LABEL: func.func @reshape
// CHECK: arith.divui
// CHECK: tensor.from_elements
// CHECK: tensor.reshape %arg0(%{{.*}}) : (tensor<?x28x28xf32>, tensor<2xindex>) -> tensor<?x784xf32>
func.func @reshape(%x: tensor<?x28x28xf32>) -> tensor<?x784xf32> {
  %0 = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
  return %0 : tensor<?x784xf32>
}

// -----

// transpose is linalg.transpose; the result's batch is read off the
// permuted input dim.
// CHECK-LABEL: func.func @transpose
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<3x?x2xf32>
// CHECK: linalg.transpose ins(%arg0 : tensor<?x2x3xf32>) outs(%[[E]] : tensor<3x?x2xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<?x2x3xf32>) -> tensor<3x?x2xf32> {
  %0 = kiln.transpose %x [2, 0, 1] : (tensor<?x2x3xf32>) -> tensor<3x?x2xf32>
  return %0 : tensor<3x?x2xf32>
}

// -----

// concat writes each piece at its offset along the joined dim.
// CHECK-LABEL: func.func @concat
// CHECK: tensor.empty(%{{.*}}) : tensor<?x7xf32>
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, %{{.*}}] [%{{.*}}, 3]
// CHECK: tensor.insert_slice %arg1 into %{{.*}}[0, %{{.*}}] [%{{.*}}, 4]
func.func @concat(%a: tensor<?x3xf32>, %b: tensor<?x4xf32>) -> tensor<?x7xf32> {
  %0 = kiln.concat %a, %b dim 1 : (tensor<?x3xf32>, tensor<?x4xf32>) -> tensor<?x7xf32>
  return %0 : tensor<?x7xf32>
}

// -----

// slice (concat's gradient) is an extract_slice along its dim.
// CHECK-LABEL: func.func @slice
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.extract_slice %arg0[0, 3] [%[[N]], 4] [1, 1] : tensor<?x7xf32> to tensor<?x4xf32>
func.func @slice(%x: tensor<?x7xf32>) -> tensor<?x4xf32> {
  %0 = kiln.slice %x dim 1 start 3 size 4 : (tensor<?x7xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
