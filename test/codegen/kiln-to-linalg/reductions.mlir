// Reductions: each reduced dim a reduction iterator.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// sum over every dim (dims []) gives a 0-d tensor. f32 accumulates in f64,
// rounded once at the end (one by one in f32, 2^24 + 1 is 2^24); f64 and
// integers accumulate in their own type.
// CHECK-LABEL: func.func @sum_all
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<f64>)
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: arith.addf %{{.*}}, %{{.*}} : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<?x10xf64>) outs(%{{.*}} : tensor<f64>)
// CHECK-NOT: arith.extf
// CHECK: linalg.generic {{.*}} ins(%arg2 : tensor<?x10xi32>) outs(%{{.*}} : tensor<i32>)
// CHECK: arith.addi
func.func @sum_all(%x: tensor<?x10xf32>, %d: tensor<?x10xf64>, %i: tensor<?x10xi32>) -> (tensor<f32>, tensor<f64>, tensor<i32>) {
  %0 = kiln.sum %x [] : (tensor<?x10xf32>) -> tensor<f32>
  %1 = kiln.sum %d [] : (tensor<?x10xf64>) -> tensor<f64>
  %2 = kiln.sum %i [] : (tensor<?x10xi32>) -> tensor<i32>
  return %0, %1, %2 : tensor<f32>, tensor<f64>, tensor<i32>
}

// -----

// mean with keepdim: reduce (in f64), divide by the count, round, reshape
// to keep the dim.
// CHECK-LABEL: func.func @mean_keepdim
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf %{{.*}}, %{{.*}} : f64
// CHECK: arith.divf %{{.*}}, %{{.*}} : f64
// CHECK-NEXT: arith.truncf
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

// max of u8 compares unsigned and starts from 0.
// CHECK-LABEL: func.func @max_u8
// CHECK: arith.constant 0 : i8
// CHECK: arith.maxui
func.func @max_u8(%x: tensor<?x10xui8>) -> tensor<?xui8> {
  %0 = kiln.max %x, 1 : (tensor<?x10xui8>) -> tensor<?xui8>
  return %0 : tensor<?xui8>
}

// -----

// max_grad: the row's argmax, then the gradient where the column is it.
// CHECK-LABEL: func.func @max_grad
// CHECK: %[[WHERE:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins(%arg1, %[[WHERE]]#1 : tensor<?xf32>, tensor<?xi64>)
// CHECK: linalg.index 1
// CHECK: arith.cmpi eq
// CHECK: arith.select
func.func @max_grad(%x: tensor<?x10xf32>, %g: tensor<?xf32>) -> tensor<?x10xf32> {
  %0 = kiln.max_grad %x, %g, 1 : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}
