// The gradient rule of every differentiable op: in each module @loss takes
// the op's result to a scalar, and kiln-autodiff writes @loss_grad. Parameters
// the loss does not reach get a zero gradient (checked at the end).
// RUN: kiln-opt %s --kiln-autodiff --split-input-file | FileCheck %s

// add: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GP:.*]] = kiln.sum %[[G]] [0] : (tensor<?x4xf32>) -> tensor<4xf32>
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.add %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// sub: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[N:.*]] = kiln.neg %[[G]]
// CHECK: %[[GP:.*]] = kiln.sum %[[N]] [0]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sub %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// mul: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[M:.*]] = kiln.mul %[[G]], %arg0
// CHECK: %[[GP:.*]] = kiln.sum %[[M]] [0]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// div: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[N:.*]] = kiln.neg %[[G]]
// CHECK: %[[NUM:.*]] = kiln.mul %[[N]], %arg0
// CHECK: %[[DEN:.*]] = kiln.mul %arg4, %arg4
// CHECK: %[[Q:.*]] = kiln.div %[[NUM]], %[[DEN]]
// CHECK: %[[GP:.*]] = kiln.sum %[[Q]] [0]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.div %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// neg: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GP:.*]] = kiln.neg %[[G]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.neg %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// abs: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[S:.*]] = kiln.sign %arg4
// CHECK: %[[GP:.*]] = kiln.mul %[[G]], %[[S]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.abs %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// relu: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.relu %arg4
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GP:.*]] = kiln.relu_grad %[[Y]], %[[G]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.relu %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// sigmoid: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.sigmoid %arg4
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.0{{.*}}> : tensor<f32>
// CHECK: %[[OM:.*]] = kiln.sub %[[ONE]], %[[Y]]
// CHECK: %[[A:.*]] = kiln.mul %[[G]], %[[OM]]
// CHECK: %[[GP:.*]] = kiln.mul %[[A]], %[[Y]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sigmoid %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// silu: g * s * (1 + x * (1 - s)) with s = sigmoid(x), ATen's order.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[S:.*]] = kiln.sigmoid %arg4
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.0{{.*}}> : tensor<f32>
// CHECK: %[[OM:.*]] = kiln.sub %[[ONE]], %[[S]]
// CHECK: %[[XOM:.*]] = kiln.mul %arg4, %[[OM]]
// CHECK: %[[SLOPE:.*]] = kiln.add %[[ONE]], %[[XOM]]
// CHECK: %[[GS:.*]] = kiln.mul %[[G]], %[[S]]
// CHECK: %[[GP:.*]] = kiln.mul %[[GS]], %[[SLOPE]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.silu %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// tanh: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.tanh %arg4
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[SQ:.*]] = kiln.mul %[[Y]], %[[Y]]
// CHECK: %[[OM:.*]] = kiln.sub %{{.*}}, %[[SQ]]
// CHECK: %[[GP:.*]] = kiln.mul %[[G]], %[[OM]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.tanh %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// exp: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.exp %arg4
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GP:.*]] = kiln.mul %[[G]], %[[Y]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.exp %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// log: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GP:.*]] = kiln.div %[[G]], %arg4
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.log %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// sqrt: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.sqrt %arg4
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[TWO:.*]] = kiln.mul %{{.*}}, %[[Y]]
// CHECK: %[[GP:.*]] = kiln.div %[[G]], %[[TWO]]
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sqrt %p : tensor<4xf32>
  %1 = kiln.sum %0 [] : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// cast: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<4xf64>
// CHECK: %[[GP:.*]] = kiln.cast %[[G]] : tensor<4xf64> to tensor<4xf32>
// CHECK: return %{{.*}}, %[[GP]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f64> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.cast %p : tensor<4xf32> to tensor<4xf64>
  %1 = kiln.sum %0 [] : (tensor<4xf64>) -> tensor<f64>
  return %1 : tensor<f64>
}

// -----

// matmul: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[XT:.*]] = kiln.transpose %arg1 [0, 2, 1]
// CHECK: %[[B:.*]] = kiln.matmul %[[XT]], %[[G]] : (tensor<?x3x2xf32>, tensor<?x2x4xf32>) -> tensor<?x3x4xf32>
// CHECK: %[[GW:.*]] = kiln.sum %[[B]] [0] : (tensor<?x3x4xf32>) -> tensor<3x4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.matmul %x3, %w : (tensor<?x2x3xf32>, tensor<3x4xf32>) -> tensor<?x2x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x2x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// linear: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GR:.*]] = kiln.reshape %[[G]] : tensor<?x2x4xf32> to tensor<?x4xf32>
// CHECK: %[[XR:.*]] = kiln.reshape %arg1 : tensor<?x2x3xf32> to tensor<?x3xf32>
// CHECK: %[[GT:.*]] = kiln.transpose %[[GR]] [1, 0]
// CHECK: %[[GW:.*]] = kiln.matmul %[[GT]], %[[XR]] : (tensor<4x?xf32>, tensor<?x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[GB:.*]] = kiln.sum %[[G]] [0, 1] : (tensor<?x2x4xf32>) -> tensor<4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[GW]], %[[GB]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.linear %x3, %lw, %lb : (tensor<?x2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<?x2x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x2x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// sum: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<3xf32>
// CHECK: %[[K:.*]] = kiln.reshape %[[G]] : tensor<3xf32> to tensor<3x1xf32>
// CHECK: %[[GW:.*]] = kiln.broadcast_like %[[K]], %arg5 : (tensor<3x1xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sum %w [1] : (tensor<3x4xf32>) -> tensor<3xf32>
  %1 = kiln.sum %0 [] : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// mean: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<1x4xf32>
// CHECK: %[[B:.*]] = kiln.broadcast_like %[[G]], %[[XP:.*]] : (tensor<1x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK: tensor.dim %[[XP]]
// CHECK: %[[N:.*]] = tensor.from_elements
// CHECK: kiln.div %[[B]], %[[N]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %xp = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = kiln.mean %xp [0] {keepdim = true} : (tensor<?x4xf32>) -> tensor<1x4xf32>
  %1 = kiln.sum %0 [] : (tensor<1x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// max: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<3xf32>
// CHECK: %[[GW:.*]] = kiln.max_grad %arg5, %[[G]], 1 : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.max %w, 1 : (tensor<3x4xf32>) -> tensor<3xf32>
  %1 = kiln.sum %0 [] : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// softmax: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.softmax %arg5, 1
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[GY:.*]] = kiln.mul %[[G]], %[[Y]]
// CHECK: %[[S:.*]] = kiln.sum %[[GY]] [1] {keepdim = true}
// CHECK: %[[D:.*]] = kiln.sub %[[G]], %[[S]]
// CHECK: %[[GW:.*]] = kiln.mul %[[Y]], %[[D]]
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.softmax %w, 1 : tensor<3x4xf32>
  %1 = kiln.sum %0 [] : (tensor<3x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// log_softmax: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[Y:.*]] = kiln.log_softmax %arg5, 1
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK: %[[S:.*]] = kiln.sum %[[G]] [1] {keepdim = true}
// CHECK: %[[E:.*]] = kiln.exp %[[Y]]
// CHECK: %[[P:.*]] = kiln.mul %[[E]], %[[S]]
// CHECK: %[[GW:.*]] = kiln.sub %[[G]], %[[P]]
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.log_softmax %w, 1 : tensor<3x4xf32>
  %1 = kiln.sum %0 [] : (tensor<3x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// reshape: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<12xf32>
// CHECK: %[[GW:.*]] = kiln.reshape %[[G]] : tensor<12xf32> to tensor<3x4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.reshape %w : tensor<3x4xf32> to tensor<12xf32>
  %1 = kiln.sum %0 [] : (tensor<12xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// transpose: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<4x3xf32>
// CHECK: %[[GW:.*]] = kiln.transpose %[[G]] [1, 0] : (tensor<4x3xf32>) -> tensor<3x4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.transpose %w [1, 0] : (tensor<3x4xf32>) -> tensor<4x3xf32>
  %1 = kiln.sum %0 [] : (tensor<4x3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// concat: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<3x8xf32>
// CHECK: %[[A:.*]] = kiln.slice %[[G]] dim 1 start 0 size 4
// CHECK: %[[B:.*]] = kiln.slice %[[G]] dim 1 start 4 size 4
// CHECK: %[[E:.*]] = kiln.mul %[[B]], %{{.*}}
// CHECK: %[[GW:.*]] = kiln.add %[[A]], %[[E]]
// CHECK: return %{{.*}}, %{{.*}}, %[[GW]],
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %x34 = kiln.exp %w : tensor<3x4xf32>
  %0 = kiln.concat %w, %x34 dim 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %1 = kiln.sum %0 [] : (tensor<3x8xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// concat of one piece along the batch (cat([x * p], dim=0), which passed
// kiln check and then had no gradient; issue 14's construct sweep): the
// piece's gradient is the result's.
// CHECK-LABEL: func.func @loss_grad
// CHECK-NOT: kiln.slice
// CHECK: %[[G:.*]] = kiln.broadcast_like {{.*}} -> tensor<?x4xf32>
// CHECK: %[[GP:.*]] = kiln.mul %[[G]], %arg0
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.concat %0 dim 0 : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %2 = kiln.sum %1 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// mse: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[D:.*]] = kiln.sub %[[XP:.*]], %arg2
// CHECK: %[[T:.*]] = kiln.mul %{{.*}}, %[[D]]
// CHECK: %[[S:.*]] = kiln.mul %[[T]], %{{.*}}
// CHECK: %[[N:.*]] = tensor.from_elements
// CHECK: %[[GX:.*]] = kiln.div %[[S]], %[[N]]
// CHECK: %[[GP:.*]] = kiln.mul %[[GX]], %arg0
// CHECK: kiln.sum %[[GP]] [0]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %xp = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = kiln.mse %xp, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// bce_with_logits: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[N:.*]] = tensor.from_elements
// CHECK: %[[SG:.*]] = kiln.sigmoid %[[XP:.*]] : tensor<?x4xf32>
// CHECK: %[[D:.*]] = kiln.sub %[[SG]], %arg2
// CHECK: %[[M:.*]] = kiln.mul %[[D]], %{{.*}}
// CHECK: kiln.div %[[M]], %[[N]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %xp = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = kiln.bce_with_logits %xp, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// cross_entropy: the gradient reaches the parameter through the rule.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[CE:.*]] = kiln.cross_entropy_grad %[[XP:.*]], %arg3 : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
// CHECK: %[[GX:.*]] = kiln.mul %[[CE]], %{{.*}}
// CHECK: %[[GP:.*]] = kiln.mul %[[GX]], %arg0
// CHECK: kiln.sum %[[GP]] [0]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %x3: tensor<?x2x3xf32> {kiln.role = #kiln.input<"x3">}, %y: tensor<?x4xf32> {kiln.role = #kiln.target<"y">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %lw: tensor<4x3xf32> {kiln.role = #kiln.param<"lw">}, %lb: tensor<4xf32> {kiln.role = #kiln.param<"lb">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %xp = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = kiln.cross_entropy %xp, %t : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// conv2d: the weight's gradient is conv2d_weight_grad, the bias's a sum
// over N, OH, OW; the input's (conv2d_input_grad) is not needed here.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like
// CHECK-NOT: kiln.conv2d_input_grad
// CHECK-DAG: %[[GW:.*]] = kiln.conv2d_weight_grad %[[G]], %arg0, %arg1 stride [2, 1] padding [1, 0] : (tensor<?x4x4x4xf32>, tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
// CHECK-DAG: %[[GB:.*]] = kiln.sum %[[G]] [0, 2, 3] : (tensor<?x4x4x4xf32>) -> tensor<4xf32>
// CHECK: return %{{.*}}, %[[GW]], %[[GB]] :
func.func @loss(%x: tensor<?x3x7x6xf32> {kiln.role = #kiln.input<"x">}, %w: tensor<4x3x3x3xf32> {kiln.role = #kiln.param<"w">}, %b: tensor<4xf32> {kiln.role = #kiln.param<"b">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.conv2d %x, %w, %b stride [2, 1] padding [1, 0] : (tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4x4x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// max_pool2d and avg_pool2d: their gradient helpers, given the pool's input;
// a conv's input gradient (1x1, so the shapes stay).
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[X:.*]] = kiln.conv2d
// CHECK-DAG: kiln.conv2d_input_grad %{{.*}}, %arg2, %{{.*}} stride [1, 1] padding [0, 0] : (tensor<?x2x5x7xf32>, tensor<2x2x1x1xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
// CHECK-DAG: kiln.max_pool2d_grad %{{.*}}, %[[X]] kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x3x4xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
// CHECK-DAG: kiln.avg_pool2d_grad %{{.*}}, %[[X]] kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x2x2x3xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
func.func @loss(%x: tensor<?x2x5x7xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<7xf32> {kiln.role = #kiln.param<"p">}, %w: tensor<2x2x1x1xf32> {kiln.role = #kiln.param<"w">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %m = kiln.mul %x, %p : (tensor<?x2x5x7xf32>, tensor<7xf32>) -> tensor<?x2x5x7xf32>
  %0 = kiln.conv2d %m, %w stride [1, 1] padding [0, 0] : (tensor<?x2x5x7xf32>, tensor<2x2x1x1xf32>) -> tensor<?x2x5x7xf32>
  %1 = kiln.max_pool2d %0 kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32>
  %2 = kiln.avg_pool2d %0 kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x2x5x7xf32>) -> tensor<?x2x2x3xf32>
  %3 = kiln.sum %1 [] : (tensor<?x2x3x4xf32>) -> tensor<f32>
  %4 = kiln.sum %2 [] : (tensor<?x2x2x3xf32>) -> tensor<f32>
  %5 = kiln.add %3, %4 : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %5 : tensor<f32>
}

// -----

// rnn: backprop through time gives d at every step; the weights' gradients
// are products over all N*T rows, weight_hh's with the states shifted by one.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[STATES:.*]] = kiln.rnn
// CHECK: %[[D:.*]] = kiln.rnn_step_grad %[[STATES]], %{{.*}}, %arg2 : (tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<4x4xf32>) -> tensor<?x5x4xf32>
// CHECK: %[[DROWS:.*]] = kiln.reshape %[[D]] : tensor<?x5x4xf32> to tensor<?x4xf32>
// CHECK: %[[DT:.*]] = kiln.transpose %[[DROWS]] [1, 0]
// CHECK: %[[GIH:.*]] = kiln.matmul %[[DT]], %{{.*}} : (tensor<4x?xf32>, tensor<?x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[ZERO:.*]] = kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<?x1x4xf32>
// CHECK: %[[EARLIER:.*]] = kiln.slice %[[STATES]] dim 1 start 0 size 4
// CHECK: %[[PREV:.*]] = kiln.concat %[[ZERO]], %[[EARLIER]] dim 1
// CHECK: %[[GHH:.*]] = kiln.matmul %[[DT]], %{{.*}} : (tensor<4x?xf32>, tensor<?x4xf32>) -> tensor<4x4xf32>
// CHECK: %[[GB:.*]] = kiln.sum %[[D]] [0, 1] : (tensor<?x5x4xf32>) -> tensor<4xf32>
// CHECK: return %{{.*}}, %[[GIH]], %[[GHH]], %[[GB]], %[[GB]] :
func.func @loss(%x: tensor<?x5x3xf32> {kiln.role = #kiln.input<"x">}, %wih: tensor<4x3xf32> {kiln.role = #kiln.param<"rnn.weight_ih_l0">}, %whh: tensor<4x4xf32> {kiln.role = #kiln.param<"rnn.weight_hh_l0">}, %bih: tensor<4xf32> {kiln.role = #kiln.param<"rnn.bias_ih_l0">}, %bhh: tensor<4xf32> {kiln.role = #kiln.param<"rnn.bias_hh_l0">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.rnn %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x5x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// dropout: each gets its own salt, and its gradient is a dropout with the
// same salt (identity here, without a seed; the same mask in @train_step).
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[A:.*]] = kiln.dropout %{{.*}}, 5.000000e-01 : tensor<?x4xf32>
// CHECK: %[[B:.*]] = kiln.dropout %[[A]], 2.500000e-01 salt 1 : tensor<?x4xf32>
// CHECK: kiln.dropout %{{.*}}, 2.500000e-01 salt 1 : tensor<?x4xf32>
// CHECK: kiln.dropout %{{.*}}, 5.000000e-01 : tensor<?x4xf32>
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.dropout %0, 0.5 : tensor<?x4xf32>
  %2 = kiln.dropout %1, 0.25 : tensor<?x4xf32>
  %3 = kiln.sum %2 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// linear on a vector (rank 1, no batch): the input's gradient is a one-row
// product reshaped back, the bias's the gradient itself (not a sum over
// every dim, which an empty dims list would mean).
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.broadcast_like %{{.*}} : (tensor<1xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK: %[[ROW:.*]] = kiln.reshape %[[G]] : tensor<3xf32> to tensor<1x3xf32>
// CHECK: %[[GX:.*]] = kiln.matmul %[[ROW]], %arg1 : (tensor<1x3xf32>, tensor<3x4xf32>) -> tensor<1x4xf32>
// CHECK: kiln.reshape %[[GX]] : tensor<1x4xf32> to tensor<4xf32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[G]] :
func.func @loss(%v: tensor<4xf32> {kiln.role = #kiln.param<"v">}, %w: tensor<3x4xf32> {kiln.role = #kiln.param<"w">}, %b: tensor<3xf32> {kiln.role = #kiln.param<"b">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.linear %v, %w, %b : (tensor<4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = kiln.sum %0 [] : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
