// Every kiln attribute parses, verifies and prints back the same, also
// through the generic form. Numbers print as the shortest decimal that
// reads back exactly; a #kiln.train left partial prints its optimizer and
// loop settings in full, the rarer ones (nesterov, alpha, clipping, the
// schedule) where they are set.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK: module attributes {
// CHECK-SAME: kiln.model = "Everything"
// CHECK-SAME: kiln.train = #kiln.train<Adam, lr = 0.001, momentum = 0.0, weight_decay = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, batch = 64, epochs = 1, seed = 0, shuffle = true>
// CHECK-SAME: test.inits = [#kiln.zeros, #kiln.ones, #kiln.uniform<-0.35714285714285715, 0.35714285714285715>, #kiln.normal<0.0, 1.0e-08>]
// CHECK-SAME: test.trains = [#kiln.train<SGD, lr = 0.1, momentum = 0.9, weight_decay = 0.0, beta1 = 0.8, beta2 = 0.99, eps = 1.0e-06, batch = 32, epochs = 3, seed = 18446744073709551615, shuffle = false>,
// CHECK-SAME: #kiln.train<SGD, lr = 0.1, momentum = 0.9, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, nesterov = true, scheduler = StepLR, step_size = 3, gamma = 0.5, batch = 64, epochs = 1, seed = 0, shuffle = true>,
// CHECK-SAME: #kiln.train<RMSprop, lr = 0.01, momentum = 0.0, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, alpha = 0.9, clip_grad_norm = 1.5, scheduler = CosineAnnealingLR, t_max = 10, eta_min = 0.0001, batch = 64, epochs = 1, seed = 0, shuffle = true>,
// CHECK-SAME: #kiln.train<AdamW, lr = 0.001, momentum = 0.0, weight_decay = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, batch = 64, epochs = 1, seed = 0, shuffle = true>]
module attributes {
    kiln.model = "Everything",
    kiln.train = #kiln.train<Adam, lr = 1.0e-3, weight_decay = 0.01>,
    // Not kiln's names, so unchecked: the standalone forms of initializers
    // and a #kiln.train in full, keys in any order.
    test.inits = [#kiln.zeros, #kiln.ones, #kiln.uniform<-0.35714285714285715, 0.35714285714285715>, #kiln.normal<0.0, 1.0e-8>],
    test.trains = [#kiln.train<SGD, shuffle = false, seed = 18446744073709551615, epochs = 3, batch = 32, eps = 1.0e-6, beta2 = 0.99, beta1 = 0.8, weight_decay = 0.0, momentum = 0.9, lr = 0.1>,
                   #kiln.train<SGD, gamma = 0.5, step_size = 3, scheduler = StepLR, nesterov = true, momentum = 0.9, lr = 0.1>,
                   #kiln.train<RMSprop, lr = 0.01, alpha = 0.9, clip_grad_norm = 1.5, scheduler = CosineAnnealingLR, t_max = 10, eta_min = 1.0e-4>,
                   #kiln.train<AdamW, lr = 0.001, weight_decay = 0.01>]} {

  // CHECK-LABEL: func.func @forward(
  // CHECK-SAME: {kiln.role = #kiln.input<"image">}
  // CHECK-SAME: {kiln.role = #kiln.param<"net.0.weight", uniform<-0.5, 0.5>>}
  // CHECK-SAME: {kiln.role = #kiln.param<"net.0.bias", zeros>}
  // CHECK-SAME: {kiln.role = #kiln.param<"scale", ones>}
  // CHECK-SAME: {kiln.role = #kiln.param<"w", normal<0.0, 0.01>>}
  // CHECK-SAME: {kiln.role = #kiln.param<"no_init">}
  // CHECK-SAME: -> (tensor<?x3xf32> {kiln.role = #kiln.output<"logits">})
  // CHECK-SAME: attributes {kiln.entry = #kiln.entry<forward>}
  func.func @forward(%image: tensor<?x4xf32> {kiln.role = #kiln.input<"image">},
                     %w0: tensor<3x4xf32> {kiln.role = #kiln.param<"net.0.weight", uniform<-0.5, 0.5>>},
                     %b0: tensor<3xf32> {kiln.role = #kiln.param<"net.0.bias", zeros>},
                     %s: tensor<3xf32> {kiln.role = #kiln.param<"scale", ones>},
                     %w: tensor<3xf32> {kiln.role = #kiln.param<"w", normal<0.0, 0.01>>},
                     %n: tensor<3xf32> {kiln.role = #kiln.param<"no_init">})
      -> (tensor<?x3xf32> {kiln.role = #kiln.output<"logits">})
      attributes {kiln.entry = #kiln.entry<forward>} {
    %0 = kiln.linear %image, %w0, %b0 : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    return %0 : tensor<?x3xf32>
  }

  // CHECK-LABEL: func.func @loss(
  // CHECK-SAME: {kiln.role = #kiln.target<"label">}
  // CHECK-SAME: -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"accuracy">})
  // CHECK-SAME: attributes {kiln.entry = #kiln.entry<loss>}
  func.func @loss(%x: tensor<?x3xf32> {kiln.role = #kiln.input<"x">}, %t: tensor<?xi64> {kiln.role = #kiln.target<"label">})
      -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"accuracy">})
      attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.cross_entropy %x, %t : (tensor<?x3xf32>, tensor<?xi64>) -> tensor<f32>
    %1 = kiln.accuracy %x, %t : (tensor<?x3xf32>, tensor<?xi64>) -> tensor<f32>
    return %0, %1 : tensor<f32>, tensor<f32>
  }

  // CHECK-LABEL: func.func @loss_grad(
  // CHECK-SAME: -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<3xf32> {kiln.role = #kiln.grad<"w">})
  // CHECK-SAME: attributes {kiln.entry = #kiln.entry<loss_grad>}
  func.func @loss_grad(%w: tensor<3xf32> {kiln.role = #kiln.param<"w">})
      -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<3xf32> {kiln.role = #kiln.grad<"w">})
      attributes {kiln.entry = #kiln.entry<loss_grad>} {
    %0 = kiln.sum %w [] : (tensor<3xf32>) -> tensor<f32>
    return %0, %w : tensor<f32>, tensor<3xf32>
  }

  // CHECK-LABEL: func.func @train_step(
  // CHECK-SAME: {kiln.role = #kiln.state<"w.exp_avg">}
  // CHECK-SAME: {kiln.role = #kiln.hyper<lr>}
  // CHECK-SAME: {kiln.role = #kiln.hyper<step>}
  // CHECK-SAME: {kiln.role = #kiln.hyper<share>}
  // CHECK-SAME: {kiln.role = #kiln.hyper<seed>}
  // CHECK-SAME: {kiln.role = #kiln.hyper<offset>}
  // CHECK-SAME: -> (tensor<3xf32> {kiln.role = #kiln.param<"w">}, tensor<3xf32> {kiln.role = #kiln.state<"w.exp_avg">})
  // CHECK-SAME: attributes {kiln.entry = #kiln.entry<train_step>}
  func.func @train_step(%w: tensor<3xf32> {kiln.role = #kiln.param<"w">},
                        %m: tensor<3xf32> {kiln.role = #kiln.state<"w.exp_avg">},
                        %lr: tensor<f64> {kiln.role = #kiln.hyper<lr>},
                        %step: tensor<f64> {kiln.role = #kiln.hyper<step>},
                        %share: tensor<f64> {kiln.role = #kiln.hyper<share>},
                        %seed: tensor<f64> {kiln.role = #kiln.hyper<seed>},
                        %offset: tensor<f64> {kiln.role = #kiln.hyper<offset>})
      -> (tensor<3xf32> {kiln.role = #kiln.param<"w">}, tensor<3xf32> {kiln.role = #kiln.state<"w.exp_avg">})
      attributes {kiln.entry = #kiln.entry<train_step>} {
    return %w, %m : tensor<3xf32>, tensor<3xf32>
  }

  // After buffer-results-to-out-params, a result's role rides on the
  // caller's buffer that receives it.
  // CHECK-LABEL: func.func @bufferized(
  // CHECK-SAME: memref<?x3xf32> {kiln.role = #kiln.output<"logits">}
  func.func @bufferized(%x: memref<?x4xf32> {kiln.role = #kiln.input<"x">},
                        %out: memref<?x3xf32> {kiln.role = #kiln.output<"logits">})
      attributes {kiln.entry = #kiln.entry<forward>} {
    return
  }
}
