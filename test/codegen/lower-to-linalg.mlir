// kiln-lower-to-linalg: each kiln op becomes linalg on tensors.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// u8 becomes i8 at the boundary; the cast still knows it was unsigned.
// CHECK-LABEL: func.func @cast_u8
// CHECK-SAME: tensor<?x4xi8>
// CHECK: linalg.generic
// CHECK: arith.uitofp %{{.*}} : i8 to f32
func.func @cast_u8(%x: tensor<?x4xui8>) -> tensor<?x4xf32> {
  %0 = kiln.cast %x : tensor<?x4xui8> to tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Broadcasting is an indexing map: the scalar reads (), the vector (d1).
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @broadcast
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[ID]]]
// CHECK: arith.divf
func.func @broadcast(%x: tensor<?x3xf32>, %b: tensor<3xf32>, %s: tensor<f32>) -> tensor<?x3xf32> {
  %0 = kiln.add %x, %b : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  %1 = kiln.div %0, %s : (tensor<?x3xf32>, tensor<f32>) -> tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// -----

// linear: the accumulator starts at the bias; weight^T feeds linalg.matmul.
// CHECK-LABEL: func.func @linear
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]
// CHECK: %[[BIAS:.*]] = linalg.generic
// CHECK: linalg.matmul ins(%arg0, %[[WT]] : tensor<?x4xf32>, tensor<4x3xf32>) outs(%[[BIAS]] : tensor<?x3xf32>)
func.func @linear(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// Batched matmul with a broadcast left operand: one generic, k reduced.
// CHECK-DAG: #[[L:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[R:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @batched_matmul
// CHECK: linalg.generic {indexing_maps = [#[[L]], #[[R]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
func.func @batched_matmul(%a: tensor<3x4xf32>, %b: tensor<?x4x5xf32>) -> tensor<?x3x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<?x4x5xf32>) -> tensor<?x3x5xf32>
  return %0 : tensor<?x3x5xf32>
}

// -----

// mean with keepdim: reduce, divide by the count, reshape to keep the dim.
// CHECK-LABEL: func.func @mean_keepdim
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: tensor.reshape {{.*}} -> tensor<?x1xf32>
func.func @mean_keepdim(%x: tensor<?x10xf32>) -> tensor<?x1xf32> {
  %0 = kiln.mean %x [1] {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

// argmax keeps the first maximum whatever the loop order: larger, or equal
// and earlier.
// CHECK-LABEL: func.func @argmax
// CHECK: linalg.generic
// CHECK: linalg.index 1
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpi slt
// CHECK: -> (tensor<?xf32>, tensor<?xi64>)
func.func @argmax(%x: tensor<?x10xf32>) -> tensor<?xi64> {
  %0 = kiln.argmax %x, 1 : (tensor<?x10xf32>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// max of u8 compares unsigned.
// CHECK-LABEL: func.func @max_u8
// CHECK: arith.maxui
func.func @max_u8(%x: tensor<?x10xui8>) -> tensor<?xui8> {
  %0 = kiln.max %x, 1 : (tensor<?x10xui8>) -> tensor<?xui8>
  return %0 : tensor<?xui8>
}

// -----

// log_softmax subtracts the row max before exp.
// CHECK-LABEL: func.func @log_softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: math.log
func.func @log_softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = kiln.log_softmax %x, 1 : tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// cross_entropy gathers x[n, t[n]] with a clamped index; out of range is NaN.
// CHECK-LABEL: func.func @cross_entropy
// CHECK: linalg.index 0
// CHECK: arith.index_cast %{{.*}} : i64 to index
// CHECK: arith.select
// CHECK: tensor.extract %arg0
// CHECK: arith.constant 0x7FC00000 : f32
// CHECK: arith.divf
// CHECK: tensor.from_elements
func.func @cross_entropy(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
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

// reshape to a dynamic shape computes the batch from the element count.
// CHECK-LABEL: func.func @reshape
// CHECK: arith.divui
// CHECK: tensor.from_elements
// CHECK: tensor.reshape %arg0(%{{.*}}) : (tensor<?x28x28xf32>, tensor<2xindex>) -> tensor<?x784xf32>
func.func @reshape(%x: tensor<?x28x28xf32>) -> tensor<?x784xf32> {
  %0 = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
  return %0 : tensor<?x784xf32>
}
