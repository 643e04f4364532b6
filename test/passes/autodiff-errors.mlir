// An op between a parameter and the loss without a gradient rule is an
// error that names the op; one off that path needs no rule.
// RUN: kiln-opt %s --kiln-autodiff --split-input-file -verify-diagnostics

func.func @loss(%x: tensor<?x1x4x4xf32> {kiln.input = "x"}, %p: tensor<1xf32> {kiln.param = "p"}) -> (tensor<f32> {kiln.loss}) {
  %0 = kiln.mul %x, %p : (tensor<?x1x4x4xf32>, tensor<1xf32>) -> tensor<?x1x4x4xf32>
  // expected-error@+1 {{no gradient rule for 'kiln.max_pool2d': it lies between a parameter and the loss}}
  %1 = kiln.max_pool2d %0 kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x1x4x4xf32>) -> tensor<?x1x2x2xf32>
  %2 = kiln.sum %1 [] : (tensor<?x1x2x2xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// The pool only sees the input: no rule needed, no error.
func.func @loss(%x: tensor<?x1x4x4xf32> {kiln.input = "x"}, %p: tensor<1xf32> {kiln.param = "p"}) -> (tensor<f32> {kiln.loss}) {
  %0 = kiln.max_pool2d %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x1x4x4xf32>) -> tensor<?x1x2x2xf32>
  %1 = kiln.mul %0, %p : (tensor<?x1x2x2xf32>, tensor<1xf32>) -> tensor<?x1x2x2xf32>
  %2 = kiln.sum %1 [] : (tensor<?x1x2x2xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
