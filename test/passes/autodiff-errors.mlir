// An op between a parameter and the loss without a gradient rule is an
// error that names the op; one off that path needs no rule.
// RUN: kiln-opt %s --kiln-autodiff --split-input-file -verify-diagnostics

// accuracy has no gradient (it counts): a loss built from it cannot train.
func.func @loss(%x: tensor<?x4xf32> {kiln.input = "x"}, %t: tensor<?xi64> {kiln.target = "t"}, %p: tensor<4xf32> {kiln.param = "p"}) -> (tensor<f32> {kiln.loss}) {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // expected-error@+1 {{no gradient rule for 'kiln.accuracy': it lies between a parameter and the loss}}
  %1 = kiln.accuracy %0, %t : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
  %2 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  %3 = kiln.add %1, %2 : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// The same accuracy as a metric, off the loss's path: no rule needed.
func.func @loss(%x: tensor<?x4xf32> {kiln.input = "x"}, %t: tensor<?xi64> {kiln.target = "t"}, %p: tensor<4xf32> {kiln.param = "p"}) -> (tensor<f32> {kiln.loss}, tensor<f32> {kiln.metric = "acc"}) {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.accuracy %0, %t : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
  %2 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %2, %1 : tensor<f32>, tensor<f32>
}
