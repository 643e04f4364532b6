// An op between a parameter and the loss without a gradient rule is an
// error that names the op; one off that path needs no rule.
// RUN: kiln-opt %s --kiln-autodiff --split-input-file -verify-diagnostics

// accuracy has no gradient (it counts): a loss built from it cannot train.
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // expected-error@+1 {{no gradient rule for 'kiln.accuracy': it lies between a parameter and the loss}}
  %1 = kiln.accuracy %0, %t : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
  %2 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  %3 = kiln.add %1, %2 : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// The same accuracy as a metric, off the loss's path: no rule needed.
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"t">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"acc">}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %1 = kiln.accuracy %0, %t : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
  %2 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %2, %1 : tensor<f32>, tensor<f32>
}

// -----

// An op on the path with two results: a rule takes one result's gradient,
// so autodiff says so instead of skipping it (and dropping the gradient).
func.func private @split(tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>)
func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // expected-error@+1 {{cannot differentiate 'func.call': a result other than its first lies between a parameter and the loss}}
  %1:2 = func.call @split(%0) : (tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>)
  %2 = kiln.mean %1#1 [] : (tensor<?x4xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// Entry points are found by their mark, never by name: @objective is the
// loss here, and a second function marked as the loss is an error.
func.func @objective(%p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sum %p [] : (tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
// expected-error@+1 {{a second function marked #kiln.entry<loss> (the first is @objective)}}
func.func @loss(%p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.sum %p [] : (tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
