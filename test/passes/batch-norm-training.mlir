// kiln-autodiff trains each kiln.batch_norm on the batch (kiln.batch_norm_train,
// PyTorch's train mode), chaining the running statistics of a layer applied
// twice; kiln-train-step returns them as the buffers' new values (the float
// ones averaged over the processes), after the updated parameters in
// argument order. @loss keeps the running statistics.
// RUN: kiln-opt %s --kiln-autodiff --kiln-train-step | FileCheck %s

// CHECK-LABEL: func.func @loss(
// CHECK: kiln.batch_norm %{{.*}} :
// CHECK-NOT: batch_norm_train
// CHECK-LABEL: func.func @loss_grad(
// CHECK: %[[Y:[a-z0-9_]+]], %[[M1:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]], %[[N1:[a-z0-9_]+]] = kiln.batch_norm_train %arg0, %arg1, %arg2, %arg3, %arg4, %arg5
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = kiln.batch_norm_train %[[Y]], %arg1, %arg2, %[[M1]], %[[V1]], %[[N1]]
// The buffers get no gradient: the loss and the two parameters' gradients.
// CHECK: return %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}} : tensor<f32>, tensor<3xf32>, tensor<3xf32>
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: -> (tensor<3xf32> {kiln.role = #kiln.param<"bn.weight">}, tensor<3xf32> {kiln.role = #kiln.param<"bn.bias">}, tensor<3xf32> {kiln.role = #kiln.buffer<"bn.running_mean">}, tensor<3xf32> {kiln.role = #kiln.buffer<"bn.running_var">}, tensor<i64> {kiln.role = #kiln.buffer<"bn.num_batches_tracked">}, tensor<f32> {kiln.role = #kiln.loss})
// CHECK: %[[TY:[a-z0-9_]+]], %[[TM1:[a-z0-9_]+]], %[[TV1:[a-z0-9_]+]], %[[TN1:[a-z0-9_]+]] = kiln.batch_norm_train %arg0,
// CHECK: %{{.*}}, %[[TM2:[a-z0-9_]+]], %[[TV2:[a-z0-9_]+]], %[[TN2:[a-z0-9_]+]] = kiln.batch_norm_train %[[TY]], %arg1, %arg2, %[[TM1]], %[[TV1]], %[[TN1]]
// The new running mean and variance go through the reduction over the
// processes with the gradients and the loss (their mean over the global batch).
// CHECK: %[[R:[a-z0-9_]+]]:5 = kiln.all_reduce_mean %{{.*}}, %{{.*}}, %{{.*}}, %[[TM2]], %[[TV2]] share
// CHECK: return %{{[^,]*}}, %{{[^,]*}}, %[[R]]#3, %[[R]]#4, %[[TN2]], %[[R]]#2 :
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1>} {
  func.func @loss(%x: tensor<?x3xf32> {kiln.role = #kiln.input<"x">}, %w: tensor<3xf32> {kiln.role = #kiln.param<"bn.weight">}, %b: tensor<3xf32> {kiln.role = #kiln.param<"bn.bias">}, %m: tensor<3xf32> {kiln.role = #kiln.buffer<"bn.running_mean">}, %v: tensor<3xf32> {kiln.role = #kiln.buffer<"bn.running_var">}, %n: tensor<i64> {kiln.role = #kiln.buffer<"bn.num_batches_tracked">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.batch_norm %x, %w, %b, %m, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3xf32>
    %1 = kiln.batch_norm %0, %w, %b, %m, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3xf32>
    %2 = kiln.mul %1, %1 : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
    %3 = kiln.mean %2 [] : (tensor<?x3xf32>) -> tensor<f32>
    return %3 : tensor<f32>
  }
}
