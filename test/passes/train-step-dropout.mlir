// A model with dropout: @train_step takes "seed" and "offset"
// hyperparameters after lr, step and share, and every dropout in it, forward
// and gradient, draws from the seed (each pair under its own salt), counting
// elements from the offset. @loss_grad keeps them seedless: identity.
// RUN: kiln-opt %s --kiln-autodiff --kiln-train-step | FileCheck %s

// CHECK-LABEL: func.func @loss_grad
// CHECK-NOT: seed
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[SEED:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<seed>}, %[[OFF:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<offset>}
// CHECK: kiln.dropout %{{.*}}, 5.000000e-01 seed %[[SEED]] offset %[[OFF]] : tensor<?x4xf32>
// CHECK: kiln.dropout %{{.*}}, 2.500000e-01 seed %[[SEED]] offset %[[OFF]] salt 1 : tensor<?x4xf32>
// CHECK: kiln.dropout %{{.*}}, 2.500000e-01 seed %[[SEED]] offset %[[OFF]] salt 1 : tensor<?x4xf32>
// CHECK: kiln.dropout %{{.*}}, 5.000000e-01 seed %[[SEED]] offset %[[OFF]] : tensor<?x4xf32>
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.dropout %0, 0.5 : tensor<?x4xf32>
    %2 = kiln.dropout %1, 0.25 : tensor<?x4xf32>
    %3 = kiln.sum %2 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %3 : tensor<f32>
  }
}
