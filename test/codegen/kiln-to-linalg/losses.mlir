// Losses and metrics that pick each sample's class.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// nll_loss gathers x[n, t[n]] with the index clamped into range, so a bad
// label never reads out of bounds, and NaN where it was out of range; then
// -(sum / N).
// CHECK-LABEL: func.func @nll_loss
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins(%arg1 : tensor<?xi64>)
// CHECK: linalg.index 0
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi slt
// CHECK: tensor.extract %arg0
// CHECK: arith.constant 0x7FC00000 : f32
// CHECK: arith.select
// CHECK: arith.divf
// CHECK: arith.negf
// CHECK: tensor.from_elements
func.func @nll_loss(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.nll_loss %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// one_hot of u8 classes widens them unsigned; 1 at the class, NaN rows for
// a class out of range.
// CHECK-LABEL: func.func @one_hot
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<?xi8>) outs(%{{.*}} : tensor<?x10xf32>)
// CHECK: arith.extui %{{.*}} : i8 to i64
// CHECK: linalg.index 1
// CHECK: arith.cmpi eq
// CHECK: arith.uitofp
// CHECK: arith.constant 0x7FC00000 : f32
func.func @one_hot(%t: tensor<?xui8>) -> tensor<?x10xf32> {
  %0 = kiln.one_hot %t : tensor<?xui8> to tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// accuracy: the rows' argmax, then the mean of (argmax == class), where a
// class out of range never counts.
// CHECK-LABEL: func.func @accuracy
// CHECK: %[[BEST:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins(%[[BEST]]#1, %arg1 : tensor<?xi64>, tensor<?xi32>)
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: arith.cmpi eq
// CHECK: arith.andi
// CHECK: arith.divf
func.func @accuracy(%x: tensor<?x10xf32>, %t: tensor<?xi32>) -> tensor<f32> {
  %0 = kiln.accuracy %x, %t : (tensor<?x10xf32>, tensor<?xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}
