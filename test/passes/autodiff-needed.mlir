// Gradients are built only between the parameters and the loss: nothing for
// the input-only branch or the metric, a zero gradient for an unused
// parameter, and two uses of a value add their gradients.
// RUN: kiln-opt %s --kiln-autodiff | FileCheck %s

// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"m">}, tensor<4xf32> {kiln.role = #kiln.grad<"p">}, tensor<4xf32> {kiln.role = #kiln.grad<"unused">})
// The forward ops come first, then exactly the gradient ops:
// CHECK: kiln.exp %arg0
// CHECK: kiln.mul
// CHECK: kiln.mul
// CHECK: kiln.sum
// CHECK: kiln.sum
// CHECK: kiln.constant dense<1.0
// CHECK-NEXT: kiln.reshape
// CHECK-NEXT: kiln.broadcast_like
// The two uses of %y = x' * p: y * y's gradient is g * y + g * y.
// CHECK-NEXT: %[[A:.*]] = kiln.mul %{{.*}}, %[[Y:.*]] :
// CHECK-NEXT: %[[B:.*]] = kiln.mul %{{.*}}, %[[Y]] :
// CHECK-NEXT: %[[S:.*]] = kiln.add %[[A]], %[[B]]
// CHECK-NEXT: %[[M:.*]] = kiln.mul %[[S]], %{{.*}}
// CHECK-NEXT: %[[GP:.*]] = kiln.sum %[[M]] [0]
// CHECK-NEXT: %[[Z:.*]] = kiln.fill 0.000000e+00 : tensor<4xf32>
// CHECK-NEXT: return %{{.*}}, %{{.*}}, %[[GP]], %[[Z]]
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">},
                %unused: tensor<4xf32> {kiln.role = #kiln.param<"unused">}) -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"m">}) attributes {kiln.entry = #kiln.entry<loss>} {
  %e = kiln.exp %x : tensor<?x4xf32>
  %y = kiln.mul %e, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %yy = kiln.mul %y, %y : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %l = kiln.sum %yy [] : (tensor<?x4xf32>) -> tensor<f32>
  %m = kiln.sum %e [] : (tensor<?x4xf32>) -> tensor<f32>
  return %l, %m : tensor<f32>, tensor<f32>
}
