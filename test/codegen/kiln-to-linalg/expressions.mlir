// Lowering of pow, gelu, softplus, leaky_relu, clamp, min and indexing, and
// of their gradient helpers: each body is ATen's CPU kernel in its order of
// operations.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// pow: ATen's special exponents, else pow in f64 for f32.
// CHECK-LABEL: func.func @pow
// CHECK: linalg.generic
// CHECK: %[[SQ:.*]] = arith.mulf %in, %in : f32
// CHECK-NEXT: linalg.yield %[[SQ]]
// CHECK: linalg.generic
// CHECK: %[[X2:.*]] = arith.mulf %in, %in : f32
// CHECK-NEXT: %[[X3:.*]] = arith.mulf %[[X2]], %in : f32
// CHECK-NEXT: linalg.yield %[[X3]]
// CHECK: linalg.generic
// CHECK: %[[S:.*]] = math.sqrt %in : f32
// CHECK-NEXT: %[[R:.*]] = arith.divf %{{.*}}, %[[S]] : f32
// CHECK-NEXT: linalg.yield %[[R]]
// CHECK: linalg.generic
// CHECK: %[[W:.*]] = arith.extf %in : f32 to f64
// CHECK-NEXT: %[[E:.*]] = arith.constant 1.7{{.*}} : f64
// CHECK-NEXT: %[[P:.*]] = math.powf %[[W]], %[[E]] : f64
// CHECK-NEXT: %[[T:.*]] = arith.truncf %[[P]] : f64 to f32
// CHECK-NEXT: linalg.yield %[[T]]
// CHECK: linalg.generic
// CHECK: %[[I2:.*]] = arith.muli %in, %in : i32
// CHECK: linalg.yield
func.func @pow(%x: tensor<?x3xf32>, %i: tensor<?x3xi32>) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xi32>) {
  %0 = kiln.pow %x, 2.0 : tensor<?x3xf32>
  %1 = kiln.pow %x, 3.0 : tensor<?x3xf32>
  %2 = kiln.pow %x, -0.5 : tensor<?x3xf32>
  %3 = kiln.pow %x, 1.7 : tensor<?x3xf32>
  %4 = kiln.pow %i, 2.0 : tensor<?x3xi32>
  return %0, %1, %2, %3, %4 : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xi32>
}

// -----

// gelu: x * 0.5 * (1 + erf(x * M_SQRT1_2)); its gradient
// dy * (cdf + x * pdf) with pdf = kBeta * exp(x * x * -0.5).
// CHECK-LABEL: func.func @gelu
// CHECK: arith.constant 0.707106769 : f32
// CHECK: math.erf
// CHECK: arith.addf
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: arith.constant -5.000000e-01 : f32
// CHECK: math.exp
// CHECK: arith.constant 0.398942292 : f32
// CHECK: linalg.yield
func.func @gelu(%x: tensor<?x3xf32>, %g: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.gelu %x : tensor<?x3xf32>
  %1 = kiln.gelu_grad %x, %g : tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// softplus: x where x * beta > threshold, else log1p(exp(x * beta)) / beta;
// its gradient dy, or dy * z / (z + 1) with z = exp(x * beta).
// CHECK-LABEL: func.func @softplus
// CHECK: %[[XB:.*]] = arith.mulf %in, %{{.*}} : f32
// CHECK: %[[ABOVE:.*]] = arith.cmpf ogt, %[[XB]]
// CHECK: %[[E:.*]] = math.exp %[[XB]]
// CHECK: %[[L:.*]] = math.log1p %[[E]]
// CHECK: %[[D:.*]] = arith.divf %[[L]]
// CHECK: arith.select %[[ABOVE]], %in, %[[D]]
// CHECK: linalg.generic
// CHECK: %[[Z:.*]] = math.exp
// CHECK: arith.cmpf ogt
// CHECK: %[[GZ:.*]] = arith.mulf %in_{{.*}}, %[[Z]]
// CHECK: arith.addf %[[Z]]
// CHECK: arith.divf %[[GZ]]
// CHECK: arith.select
func.func @softplus(%x: tensor<?x3xf32>, %g: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.softplus %x beta 1.0 threshold 20.0 : tensor<?x3xf32>
  %1 = kiln.softplus_grad %x, %g beta 1.0 threshold 20.0 : tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// leaky_relu and its gradient select on x > 0; clamp is max then min
// (NaN-propagating, unsigned for u8), its gradient passes inside the bounds.
// CHECK-LABEL: func.func @select_ops
// CHECK: arith.cmpf ogt, %in
// CHECK: arith.constant 0.00999999977 : f32
// CHECK: arith.select
// CHECK: linalg.generic
// CHECK: arith.cmpf ogt, %in
// CHECK: arith.mulf %in_{{.*}}, %{{.*}}
// CHECK: arith.select
// CHECK: linalg.generic
// CHECK: arith.maximumf %in
// CHECK: arith.minimumf
// CHECK: linalg.generic
// CHECK: arith.maxui
// CHECK: arith.constant -56 : i8
// CHECK: arith.minui
// CHECK: linalg.generic
// CHECK: arith.cmpf oge
// CHECK: arith.cmpf ole
// CHECK: arith.andi
// CHECK: arith.select
func.func @select_ops(%x: tensor<?x3xf32>, %g: tensor<?x3xf32>, %u: tensor<?x3xui8>) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xui8>, tensor<?x3xf32>) {
  %0 = kiln.leaky_relu %x, 0.01 : tensor<?x3xf32>
  %1 = kiln.leaky_relu_grad %x, %g, 0.01 : tensor<?x3xf32>
  %2 = kiln.clamp %x min -1.0 max 1.0 : tensor<?x3xf32>
  %3 = kiln.clamp %u min 3.0 max 200.0 : tensor<?x3xui8>
  %4 = kiln.clamp_grad %x, %g min -1.0 max 1.0 : tensor<?x3xf32>
  return %0, %1, %2, %3, %4 : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xui8>, tensor<?x3xf32>
}

// -----

// min starts at +inf and keeps the smaller (NaN-propagating); min_grad puts
// the gradient at the row's first smallest element.
// CHECK-LABEL: func.func @min
// CHECK: arith.constant 0x7F800000 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.minimumf
// CHECK: %[[WHERE:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.cmpf olt
// CHECK: linalg.generic {{.*}} ins(%arg1, %[[WHERE]]#1 : tensor<?xf32>, tensor<?xi64>)
// CHECK: arith.cmpi eq
// CHECK: arith.select
func.func @min(%x: tensor<?x10xf32>, %g: tensor<?xf32>) -> (tensor<?xf32>, tensor<?x10xf32>) {
  %0 = kiln.min %x, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  %1 = kiln.min_grad %x, %g, 1 : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<?x10xf32>
  return %0, %1 : tensor<?xf32>, tensor<?x10xf32>
}

// -----

// index is a strided extract_slice, rank-reduced by its dropped dims; its
// gradient inserts the gradient into zeros at the same window.
// CHECK-LABEL: func.func @index
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.extract_slice %arg0[0, 1, 3] [%[[N]], 3, 1] [1, 2, 1] : tensor<?x8x4xf32> to tensor<?x3xf32>
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: tensor.insert_slice %arg1 into %[[Z]][0, 1, 3] [%{{.*}}, 3, 1] [1, 2, 1] : tensor<?x3xf32> into tensor<?x8x4xf32>
func.func @index(%x: tensor<?x8x4xf32>, %g: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x8x4xf32>) {
  %0 = kiln.index %x [:, 1:6:2, 3] : (tensor<?x8x4xf32>) -> tensor<?x3xf32>
  %1 = kiln.index_grad %g, %x [:, 1:6:2, 3] : (tensor<?x3xf32>, tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x8x4xf32>
}
