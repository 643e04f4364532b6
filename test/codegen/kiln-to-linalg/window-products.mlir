// kiln-lower-to-linalg{window-products} (the CPU's form): a 2-D product
// whose B is a kiln.im2col is one generic over the product's loops (i, j, p)
// that reads B's element from the image in its body, marked
// kiln.window_product; the column matrix is never built. Without the option
// (the GPU's form) the columns are a generic of their own and the product a
// linalg.matmul.
// RUN: kiln-opt %s --kiln-lower-to-linalg="window-products=true" --canonicalize --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg --canonicalize --split-input-file | FileCheck %s --check-prefix=MATRIX

// conv2d's product with a bias [O, 1] folded into the accumulator, padding
// 1 and stride 2: the window (n, oh, ow) comes from column j, the kernel
// offset (c, kh, kw) from p; a pixel outside reads as 0.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @forward
// CHECK: %[[BIAS:.*]] = linalg.generic
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1 : tensor<4x27xf32>) outs(%[[BIAS]] : tensor<4x?xf32>) attrs = {kiln.window_product = {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}}
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[P:.*]] = linalg.index 2
// CHECK: arith.divui %[[J]], %c16
// CHECK: arith.divui %[[P]], %c9
// CHECK: arith.cmpi ult
// CHECK: %[[V:.*]] = tensor.extract %arg0
// CHECK: %[[B:.*]] = arith.select %{{.*}}, %[[V]], %cst
// CHECK: %[[AB:.*]] = arith.mulf %{{.*}}, %[[B]]
// CHECK: arith.addf %{{.*}}, %[[AB]]
// CHECK-NOT: linalg.matmul
// MATRIX-LABEL: func.func @forward
// MATRIX: linalg.generic
// MATRIX: linalg.matmul ins(%arg1, %{{.*}} : tensor<4x27xf32>, tensor<27x?xf32>)
// MATRIX-NOT: kiln.window_product
func.func @forward(%x: tensor<?x3x8x8xf32>, %w: tensor<4x27xf32>, %b: tensor<4x1xf32>) -> tensor<4x?xf32> {
  %cols = kiln.im2col %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x3x8x8xf32>) -> tensor<27x?xf32>
  %0 = kiln.matmul %w, %cols : (tensor<4x27xf32>, tensor<27x?xf32>) -> tensor<4x?xf32>
  %1 = kiln.add %b, %0 : (tensor<4x1xf32>, tensor<4x?xf32>) -> tensor<4x?xf32>
  return %1 : tensor<4x?xf32>
}

// -----

// The weight's gradient: dY's rows [O, N*OH*OW] times im2col's rows; the
// window comes from p, the kernel offset from column j; no padding, so no
// bounds check. The accumulator is zeros.
// CHECK-LABEL: func.func @weight_grad
// CHECK: %[[ZEROS:.*]] = linalg.fill
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<4x?xf32>) outs(%[[ZEROS]] : tensor<4x27xf32>) attrs = {kiln.window_product = {kernel = array<i64: 3, 3>, padding = array<i64: 0, 0>, rows, stride = array<i64: 1, 1>}}
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[P:.*]] = linalg.index 2
// CHECK: arith.divui %[[P]], %c36
// CHECK: arith.divui %[[J]], %c9
// CHECK-NOT: arith.cmpi
// CHECK: tensor.extract %arg0
// CHECK-NOT: linalg.matmul
func.func @weight_grad(%x: tensor<?x3x8x8xf32>, %g: tensor<4x?xf32>) -> tensor<4x27xf32> {
  %rows = kiln.im2col %x kernel [3, 3] stride [1, 1] padding [0, 0] rows : (tensor<?x3x8x8xf32>) -> tensor<?x27xf32>
  %0 = kiln.matmul %g, %rows : (tensor<4x?xf32>, tensor<?x27xf32>) -> tensor<4x27xf32>
  return %0 : tensor<4x27xf32>
}
