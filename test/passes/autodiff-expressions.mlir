// The gradient rules of pow, gelu, softplus, leaky_relu, clamp, min, index
// and l1_loss: in each module @loss takes the op's result to a scalar, and
// kiln-autodiff writes @loss_grad.
// RUN: kiln-opt %s --kiln-autodiff --split-input-file | FileCheck %s

// pow: grad * (p * x ** (p - 1)), ATen's pow_backward in its order.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[POW:.*]] = kiln.pow %arg1, 2.000000e+00 : tensor<?x4xf32>
// CHECK: %[[P:.*]] = kiln.constant dense<3.0{{.*}}> : tensor<f32>
// CHECK: %[[SLOPE:.*]] = kiln.mul %[[P]], %[[POW]]
// CHECK: %[[GP:.*]] = kiln.mul %[[G]], %[[SLOPE]]
// CHECK: return %{{.*}}, %[[GP]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<?x4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.pow %p, 3.0 : tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// pow 0: zeros of x's shape, as ATen's.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[N:.*]] = tensor.dim %arg1
// CHECK: %[[Z:.*]] = kiln.fill 0.000000e+00 sizes(%[[N]]) : tensor<?x4xf32>
// CHECK: return %{{.*}}, %[[Z]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<?x4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.pow %p, 0.0 : tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// gelu, softplus and leaky_relu: their gradient helpers with the settings.
// CHECK-LABEL: func.func @loss_grad
// CHECK: kiln.leaky_relu_grad %[[B:.*]], %{{.*}}, 2.000000e-01 : tensor<4xf32>
// CHECK: kiln.softplus_grad %[[A:.*]], %{{.*}} beta 2.000000e+00 threshold 1.000000e+00 : tensor<4xf32>
// CHECK: %[[GX:.*]] = kiln.gelu_grad %arg1, %{{.*}} : tensor<4xf32>
// CHECK: return %{{.*}}, %[[GX]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.gelu %p : tensor<4xf32>
  %1 = kiln.softplus %0 beta 2.0 threshold 1.0 : tensor<4xf32>
  %2 = kiln.leaky_relu %1, 0.2 : tensor<4xf32>
  %3 = kiln.sum %2 [] : (tensor<4xf32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// clamp: the gradient passes where min <= x <= max.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[GX:.*]] = kiln.clamp_grad %arg1, %{{.*}} min -1.000000e+00 max 1.000000e+00 : tensor<4xf32>
// CHECK: return %{{.*}}, %[[GX]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.clamp %p min -1.0 max 1.0 : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// min with keepdim: the kept dim dropped, then min_grad.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[R:.*]] = kiln.reshape %{{.*}} : tensor<3x1xf32> to tensor<3xf32>
// CHECK: %[[GX:.*]] = kiln.min_grad %arg1, %[[R]], 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
// CHECK: return %{{.*}}, %[[GX]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<3x4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.min %p, 1 {keepdim = true} : (tensor<3x4xf32>) -> tensor<3x1xf32>
  %1 = kiln.sum %0 [] : (tensor<3x1xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// index: the gradient written into zeros at the window.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[GX:.*]] = kiln.index_grad %{{.*}}, %arg1 [1:6:2, 3] : (tensor<3xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK: return %{{.*}}, %[[GX]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<8x4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.index %p [1:6:2, 3] : (tensor<8x4xf32>) -> tensor<3xf32>
  %1 = kiln.sum %0 [] : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// l1_loss: mean's backward (g / numel), times sign(x - y); the target's is
// its negation.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[D:.*]] = kiln.sub %arg1, %arg2
// CHECK: %[[S:.*]] = kiln.div %{{.*}}, %{{.*}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK: %[[SIGN:.*]] = kiln.sign %[[D]]
// CHECK: %[[GA:.*]] = kiln.mul %[[S]], %[[SIGN]] : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[GB:.*]] = kiln.neg %[[GA]]
// CHECK: return %{{.*}}, %[[GA]], %[[GB]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %q: tensor<4xf32> {kiln.role = #kiln.param<"q">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.l1_loss %p, %q : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
