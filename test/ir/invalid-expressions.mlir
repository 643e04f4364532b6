// The verifiers of pow, clamp and indexing reject what they do not define.
// RUN: kiln-opt %s --split-input-file --verify-diagnostics

func.func @int_pow_fraction(%x: tensor<?x3xi32>) {
  // expected-error@+1 {{an integer tensor needs a non-negative integer exponent, got 5.000000e-01}}
  %0 = kiln.pow %x, 0.5 : tensor<?x3xi32>
  return
}

// -----

func.func @int_pow_negative(%x: tensor<?x3xi64>) {
  // expected-error@+1 {{an integer tensor needs a non-negative integer exponent, got -1.000000e+00}}
  %0 = kiln.pow %x, -1.0 : tensor<?x3xi64>
  return
}

// -----

func.func @clamp_no_bound(%x: tensor<?x3xf32>) {
  // expected-error@+1 {{needs a min, a max or both}}
  %0 = kiln.clamp %x : tensor<?x3xf32>
  return
}

// -----

func.func @clamp_int_bound(%x: tensor<?x3xi32>) {
  // expected-error@+1 {{an integer tensor needs integer bounds, got 5.000000e-01}}
  %0 = kiln.clamp %x min 0.5 : tensor<?x3xi32>
  return
}

// -----

func.func @index_batch(%x: tensor<?x8xf32>) {
  // expected-error@+2 {{the batch dimension takes only ':' (every sample)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.index %x [0, :] : (tensor<?x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @index_outside(%x: tensor<?x8xf32>) {
  // expected-error@+2 {{the window from 6 (2 elements, step 2) leaves the dimension}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.index %x [:, 6:9:2] : (tensor<?x8xf32>) -> tensor<?x2xf32>
  return
}

// -----

func.func @index_rank(%x: tensor<?x8xf32>) {
  // expected-error@+2 {{needs one start, size and step per dimension}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.index %x [:] : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @index_empty_slice(%x: tensor<?x8xf32>) {
  // expected-error@+1 {{a slice a:b:s needs a < b and s >= 1}}
  %0 = kiln.index %x [:, 3:3] : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @index_grad_type(%x: tensor<?x8x4xf32>, %g: tensor<?x4xf32>) {
  // expected-error@+2 {{grad 'tensor<?x4xf32>' is not the index's result type 'tensor<?x3xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.index_grad %g, %x [:, 2:5, 3] : (tensor<?x4xf32>, tensor<?x8x4xf32>) -> tensor<?x8x4xf32>
  return
}
