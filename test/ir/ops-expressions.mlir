// The ops of indexing, powers and the functions added with them (pow,
// gelu, softplus, leaky_relu, clamp, min, index, l1_loss) and their gradient
// helpers parse, verify and print back the same, also through the generic
// form.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<?x10xf32>, %g: tensor<?x10xf32>, %i: tensor<?x3xi32>,
                       %u: tensor<?x3xui8>) {
  // CHECK: kiln.pow %{{.*}}, 2.000000e+00 : tensor<?x10xf32>
  %0 = kiln.pow %x, 2.0 : tensor<?x10xf32>
  // CHECK: kiln.pow %{{.*}}, -5.000000e-01 : tensor<?x10xf32>
  %1 = kiln.pow %x, -0.5 : tensor<?x10xf32>
  // CHECK: kiln.pow %{{.*}}, 3.000000e+00 : tensor<?x3xi32>
  %2 = kiln.pow %i, 3.0 : tensor<?x3xi32>
  // CHECK: kiln.gelu %{{.*}} : tensor<?x10xf32>
  %3 = kiln.gelu %x : tensor<?x10xf32>
  // CHECK: kiln.softplus %{{.*}} beta 2.000000e+00 threshold 1.000000e+00 : tensor<?x10xf32>
  %4 = kiln.softplus %x beta 2.0 threshold 1.0 : tensor<?x10xf32>
  // CHECK: kiln.leaky_relu %{{.*}}, 1.000000e-02 : tensor<?x10xf32>
  %5 = kiln.leaky_relu %x, 0.01 : tensor<?x10xf32>
  // CHECK: kiln.clamp %{{.*}} min -1.000000e+00 max 1.000000e+00 : tensor<?x10xf32>
  %6 = kiln.clamp %x min -1.0 max 1.0 : tensor<?x10xf32>
  // CHECK: kiln.clamp %{{.*}} max 6.000000e+00 : tensor<?x10xf32>
  %7 = kiln.clamp %x max 6.0 : tensor<?x10xf32>
  // CHECK: kiln.clamp %{{.*}} min 3.000000e+00 max 2.000000e+02 : tensor<?x3xui8>
  %8 = kiln.clamp %u min 3.0 max 200.0 : tensor<?x3xui8>
  // CHECK: kiln.gelu_grad %{{.*}}, %{{.*}} : tensor<?x10xf32>
  %9 = kiln.gelu_grad %x, %g : tensor<?x10xf32>
  // CHECK: kiln.softplus_grad %{{.*}}, %{{.*}} beta 1.000000e+00 threshold 2.000000e+01 : tensor<?x10xf32>
  %10 = kiln.softplus_grad %x, %g beta 1.0 threshold 20.0 : tensor<?x10xf32>
  // CHECK: kiln.leaky_relu_grad %{{.*}}, %{{.*}}, 2.000000e-01 : tensor<?x10xf32>
  %11 = kiln.leaky_relu_grad %x, %g, 0.2 : tensor<?x10xf32>
  // CHECK: kiln.clamp_grad %{{.*}}, %{{.*}} min 0.000000e+00 : tensor<?x10xf32>
  %12 = kiln.clamp_grad %x, %g min 0.0 : tensor<?x10xf32>
  return
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<?x10xf32>, %g: tensor<?xf32>, %y: tensor<?x10xf32>) {
  // CHECK: kiln.min %{{.*}}, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  %0 = kiln.min %x, 1 : (tensor<?x10xf32>) -> tensor<?xf32>
  // CHECK: kiln.min %{{.*}}, 1 {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  %1 = kiln.min %x, 1 {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  // CHECK: kiln.min_grad %{{.*}}, %{{.*}}, 1 : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<?x10xf32>
  %2 = kiln.min_grad %x, %g, 1 : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<?x10xf32>
  // CHECK: kiln.l1_loss %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %3 = kiln.l1_loss %x, %y : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  return
}

// An index prints one entry per dimension: `:` whole, `i` dropped, `a:b:s`
// a window with its last element's stop (so 0:8:2 prints as 0:7:2).
// CHECK-LABEL: func.func @indexing
func.func @indexing(%x: tensor<?x8x4xf32>, %g: tensor<?x3xf32>, %w: tensor<8x4xf32>) {
  // CHECK: kiln.index %{{.*}} [:, 2:5, 3] : (tensor<?x8x4xf32>) -> tensor<?x3xf32>
  %0 = kiln.index %x [:, 2:5, 3] : (tensor<?x8x4xf32>) -> tensor<?x3xf32>
  // CHECK: kiln.index %{{.*}} [:, 0:7:2, :] : (tensor<?x8x4xf32>) -> tensor<?x4x4xf32>
  %1 = kiln.index %x [:, 0:8:2, :] : (tensor<?x8x4xf32>) -> tensor<?x4x4xf32>
  // CHECK: kiln.index %{{.*}} [7, 1] : (tensor<8x4xf32>) -> tensor<f32>
  %2 = kiln.index %w [7, 1] : (tensor<8x4xf32>) -> tensor<f32>
  // CHECK: kiln.index %{{.*}} [1:2, :] : (tensor<8x4xf32>) -> tensor<1x4xf32>
  %3 = kiln.index %w [1:2, :] : (tensor<8x4xf32>) -> tensor<1x4xf32>
  // CHECK: kiln.index_grad %{{.*}}, %{{.*}} [:, 2:5, 3] : (tensor<?x3xf32>, tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
  %4 = kiln.index_grad %g, %x [:, 2:5, 3] : (tensor<?x3xf32>, tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
  return
}
