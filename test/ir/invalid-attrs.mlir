// The dialect verifies its attributes wherever they appear: the wrong kind
// of attribute, one on the wrong thing, or malformed contents are errors.
// RUN: kiln-opt %s --split-input-file -verify-diagnostics

// expected-error@+1 {{'kiln.train' is a #kiln.train<...>, not "SGD"}}
module attributes {kiln.train = "SGD"} {}

// -----

// expected-error@+1 {{'kiln.model' is the model's name, a string, not 3 : i64}}
module attributes {kiln.model = 3} {}

// -----

module {
  // expected-error@+1 {{'kiln.train' belongs on the module}}
  func.func private @f() attributes {kiln.train = #kiln.train<SGD, lr = 0.1>}
}

// -----

// expected-error@+1 {{has the unknown attribute 'kiln.optimizer'}}
module attributes {kiln.optimizer = "SGD"} {}

// -----

// expected-error@+1 {{'kiln.entry' belongs on a function}}
module attributes {kiln.entry = #kiln.entry<forward>} {}

// -----

// expected-error@+1 {{'kiln.entry' is #kiln.entry<forward|loss|loss_grad|train_step>, not "forward"}}
func.func private @f() attributes {kiln.entry = "forward"}

// -----

// expected-error@+2 {{expected ::kiln::ir::Entry to be one of: forward, loss, loss_grad, train_step}}
// expected-error@+1 {{failed to parse Kiln_EntryAttr parameter 'value'}}
func.func private @f() attributes {kiln.entry = #kiln.entry<backward>}

// -----

func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{'kiln.role' belongs on a function's arguments and results, not on an operation}}
  %0 = kiln.neg %x {kiln.role = #kiln.loss} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The spelling before the attributes were typed: a string under a role's name.
// expected-error@+1 {{argument #0 has the unknown attribute 'kiln.param'; the kiln dialect's argument and result attribute is 'kiln.role'}}
func.func private @f(tensor<4xf32> {kiln.param = "p"})

// -----

// expected-error@+1 {{argument #0: 'kiln.role' of an argument is #kiln.input, #kiln.target, #kiln.param, #kiln.state or #kiln.hyper, not #kiln.output<"y">}}
func.func private @f(tensor<?x4xf32> {kiln.role = #kiln.output<"y">})

// -----

// expected-error@+1 {{result #0: 'kiln.role' of a result is #kiln.output, #kiln.loss, #kiln.metric, #kiln.grad, #kiln.param or #kiln.state, not #kiln.input<"x">}}
func.func private @f() -> (tensor<?x4xf32> {kiln.role = #kiln.input<"x">})

// -----

// expected-error@+1 {{'kiln.role' of an argument is #kiln.input, #kiln.target, #kiln.param, #kiln.state or #kiln.hyper, not "x"}}
func.func private @f(tensor<?x4xf32> {kiln.role = "x"})

// -----

// expected-error@+1 {{argument #0: a 'tensor<4xi64>' parameter cannot start from #kiln.uniform<-1.0, 1.0>}}
func.func private @f(tensor<4xi64> {kiln.role = #kiln.param<"p", uniform<-1.0, 1.0>>})

// -----

// expected-error@+1 {{argument #0: a hyperparameter is a tensor<f64>, not 'tensor<f32>'}}
func.func private @f(tensor<f32> {kiln.role = #kiln.hyper<lr>})

// -----

// expected-error@+1 {{result #0: a loss or metric is a 0-d tensor, not 'tensor<4xf32>'}}
func.func private @f() -> (tensor<4xf32> {kiln.role = #kiln.loss})

// -----

// expected-error@+1 {{#kiln.uniform needs finite low <= high, got 1.000000e+00 and -1.000000e+00}}
func.func private @f(tensor<4xf32> {kiln.role = #kiln.param<"p", uniform<1.0, -1.0>>})

// -----

// expected-error@+1 {{#kiln.normal needs a finite mean and std >= 0}}
func.func private @f(tensor<4xf32> {kiln.role = #kiln.param<"p", normal<0.0, -0.5>>})

// -----

// expected-error@+1 {{#kiln.loss is not an initializer}}
func.func private @f(tensor<4xf32> {kiln.role = #kiln.param<"p", loss>})

// -----

// expected-error@+1 {{expected an initializer: zeros, ones, uniform<low, high> or normal<mean, std>}}
func.func private @f(tensor<4xf32> {kiln.role = #kiln.param<"p", xavier>})

// -----

// expected-error@+1 {{expected the optimizer, SGD, Adam, AdamW or RMSprop, got 'Adagrad'}}
module attributes {kiln.train = #kiln.train<Adagrad, lr = 0.1>} {}

// -----

// expected-error@+1 {{#kiln.train needs lr}}
module attributes {kiln.train = #kiln.train<SGD, momentum = 0.9>} {}

// -----

// expected-error@+1 {{unknown train setting 'dampening'}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, dampening = 0.5>} {}

// -----

// expected-error@+1 {{#kiln.train's nesterov needs SGD with a momentum above 0}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, nesterov = true>} {}

// -----

// expected-error@+1 {{expected the scheduler, StepLR or CosineAnnealingLR}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, scheduler = None>} {}

// -----

// expected-error@+1 {{#kiln.train's batch, epochs, step_size and t_max must be >= 1, got 64, 1, 0 and 1}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, scheduler = StepLR, step_size = 0>} {}

// -----

// expected-error@+1 {{#kiln.train's alpha must be in [0, 1), got 1}}
module attributes {kiln.train = #kiln.train<RMSprop, lr = 0.1, alpha = 1.0>} {}

// -----

// expected-error@+1 {{'lr' is given twice}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, lr = 0.2>} {}

// -----

// expected-error@+1 {{#kiln.train's beta1 must be in [0, 1), got 1.000000e+00}}
module attributes {kiln.train = #kiln.train<Adam, lr = 0.001, beta1 = 1.0>} {}

// -----

// expected-error@+1 {{#kiln.train's batch, epochs, step_size and t_max must be >= 1, got 0, 1, 1 and 1}}
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, batch = 0>} {}

// -----

// expected-error@+1 {{#kiln.train's lr must be >= 0, got -1.000000e-01}}
module attributes {kiln.train = #kiln.train<SGD, lr = -0.1>} {}

// -----

func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{'kiln.window_product' belongs on a linalg.generic}}
  %0 = kiln.neg %x {kiln.window_product = {kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>}} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{'kiln.window_product' is {kernel, stride, padding = array<i64: a, b>, rows?}, not {kernel = array<i64: 3>, padding = array<i64: 0, 0>, stride = array<i64: 1, 1>}}}
  %0 = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"],
                       kiln.window_product = {kernel = array<i64: 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>}}
      outs(%x : tensor<4xf32>) {
  ^bb0(%o: f32):
    linalg.yield %o : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
