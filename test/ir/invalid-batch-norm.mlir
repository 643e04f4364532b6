// kiln.batch_norm's verifier: per-channel vectors of x's dimension 1, eps > 0.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @channels(%x: tensor<?x4x5x5xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x4x5x5xf32> {
  // expected-error@+2 {{batch norm over [N, 4, 5, 5] (4 channels, dimension 1) needs per-channel vectors [4], got [3]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.batch_norm %x, %v, %v, %v, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x4x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x4x5x5xf32>
  return %0 : tensor<?x4x5x5xf32>
}

// -----

func.func @rank(%x: tensor<?xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> tensor<?xf32> {
  // expected-error@+2 {{batch norm expects an input [N, C], [N, C, L] or [N, C, H, W], got [N]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.batch_norm %x, %v, %v, %v, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @eps(%x: tensor<?x3xf32>, %v: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x3xf32> {
  // expected-error@+2 {{batch norm needs eps > 0 and momentum in [0, 1]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.batch_norm %x, %v, %v, %v, %v, %n {eps = 0.0 : f64, momentum = 1.0e-01 : f64} : (tensor<?x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}
