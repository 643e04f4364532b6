// Matrix products: 2-D ones are linalg.matmul (the runtime's GEMM once on
// buffers), batched ones a generic; an addend of a product used only there
// becomes the product's accumulator.
// RUN: kiln-opt %s --kiln-lower-to-linalg --canonicalize --split-input-file | FileCheck %s

// A 2-D product plus a bias (what kiln-decompose makes of linear): the
// accumulator starts at the bias broadcast over rows, as addmm does; the
// product into zeros it replaces is gone.
// CHECK-DAG: #[[BY_COLUMN:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_into_product
// CHECK-NOT: linalg.fill
// CHECK: %[[BIAS:.*]] = linalg.generic {indexing_maps = [#[[BY_COLUMN]], {{.*}} ins(%arg2 : tensor<3xf32>) outs(%{{.*}} : tensor<?x3xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: linalg.yield
// CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<?x4xf32>, tensor<4x3xf32>) outs(%[[BIAS]] : tensor<?x3xf32>)
// CHECK-NOT: linalg.matmul
func.func @bias_into_product(%x: tensor<?x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.matmul %x, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %1 = kiln.add %0, %b : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// -----

// The addend may come first and broadcast along rows (a conv's bias
// [O, 1]); the product's dynamic columns size the accumulator.
// CHECK-DAG: #[[BY_ROW:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @row_bias
// CHECK: %[[N:.*]] = tensor.dim %arg1, %c1
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<4x?xf32>
// CHECK: %[[BIAS:.*]] = linalg.generic {indexing_maps = [#[[BY_ROW]], {{.*}} outs(%[[E]] : tensor<4x?xf32>)
// CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<4x27xf32>, tensor<27x?xf32>) outs(%[[BIAS]] : tensor<4x?xf32>)
func.func @row_bias(%w: tensor<4x27xf32>, %c: tensor<27x?xf32>, %b: tensor<4x1xf32>) -> tensor<4x?xf32> {
  %0 = kiln.matmul %w, %c : (tensor<4x27xf32>, tensor<27x?xf32>) -> tensor<4x?xf32>
  %1 = kiln.add %b, %0 : (tensor<4x1xf32>, tensor<4x?xf32>) -> tensor<4x?xf32>
  return %1 : tensor<4x?xf32>
}

// -----

// A product used elsewhere too keeps its zero-filled accumulator, and the
// add is an element-wise generic.
// CHECK-LABEL: func.func @product_used_twice
// CHECK: linalg.fill
// CHECK: %[[P:.*]] = linalg.matmul
// CHECK: linalg.generic {{.*}} ins(%[[P]], %arg2 : tensor<?x3xf32>, tensor<3xf32>)
// CHECK: arith.addf
func.func @product_used_twice(%x: tensor<?x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.matmul %x, %w : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %1 = kiln.add %0, %b : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
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

// A 2-D transpose feeding a product (decomposed linear's weight, the weight
// gradient's dY^T) is read through the product's indexing_maps: no
// linalg.transpose copy is left, and the bias still seeds the accumulator.
// CHECK-DAG: #[[MK:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[NK:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[KM:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[KN:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @transposed_operands
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul indexing_maps = [#[[MK]], #[[NK]], #[[MN]]] ins(%arg0, %arg1 : tensor<?x4xf32>, tensor<3x4xf32>)
// CHECK: linalg.matmul indexing_maps = [#[[KM]], #[[KN]], #[[MN]]] ins(%arg3, %arg0 : tensor<?x3xf32>, tensor<?x4xf32>) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK-NOT: linalg.transpose
func.func @transposed_operands(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>, %dy: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<3x4xf32>) {
  %wT = kiln.transpose %w [1, 0] : (tensor<3x4xf32>) -> tensor<4x3xf32>
  %0 = kiln.matmul %x, %wT : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %1 = kiln.add %0, %b : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  %dyT = kiln.transpose %dy [1, 0] : (tensor<?x3xf32>) -> tensor<3x?xf32>
  %dw = kiln.matmul %dyT, %x : (tensor<3x?xf32>, tensor<?x4xf32>) -> tensor<3x4xf32>
  return %1, %dw : tensor<?x3xf32>, tensor<3x4xf32>
}
