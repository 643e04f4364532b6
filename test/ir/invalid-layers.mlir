// The recurrent and normalization layers' and embedding's verifiers name
// the shapes that disagree.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @lstm_gate_rows(%x: tensor<?x5x3xf32>, %wih: tensor<6x3xf32>, %whh: tensor<6x2xf32>, %b: tensor<6xf32>) {
  // expected-error@+2 {{lstm weight_ih must be [4*hidden, in], got [6, 3]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.lstm %x, %wih, %whh, %b, %b : (tensor<?x5x3xf32>, tensor<6x3xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x5x2xf32>
  return
}

// -----

func.func @gru_hidden(%x: tensor<?x5x3xf32>, %wih: tensor<12x3xf32>, %whh: tensor<12x3xf32>, %b: tensor<12xf32>) {
  // expected-error@+2 {{gru weight_hh must be [12, 4], got [12, 3]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.gru %x, %wih, %whh, %b, %b : (tensor<?x5x3xf32>, tensor<12x3xf32>, tensor<12x3xf32>, tensor<12xf32>, tensor<12xf32>) -> tensor<?x5x4xf32>
  return
}

// -----

func.func @lstm_biases(%x: tensor<?x5x3xf32>, %wih: tensor<8x3xf32>, %whh: tensor<8x2xf32>, %b: tensor<2xf32>) {
  // expected-error@+2 {{lstm biases must be [8], got [2]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.lstm %x, %wih, %whh, %b, %b : (tensor<?x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x5x2xf32>
  return
}

// -----

func.func @layer_norm_size(%x: tensor<?x5x8xf32>, %w: tensor<5xf32>) {
  // expected-error@+2 {{layer_norm input [N, 5, 8] needs weight and bias [8], got [5]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.layer_norm %x, %w, %w eps 1.0e-5 : (tensor<?x5x8xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<?x5x8xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error@+2 {{eps must be positive}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.layer_norm %x, %w, %w eps 0.0 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @embedding_indices(%ids: tensor<?x4xf32>, %w: tensor<7x3xf32>) {
  // expected-error@+1 {{'kiln.embedding' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer values}}
  %0 = kiln.embedding %ids, %w : (tensor<?x4xf32>, tensor<7x3xf32>) -> tensor<?x4x3xf32>
  return
}

// -----

func.func @embedding_weight(%ids: tensor<?x4xi64>, %w: tensor<7xf32>) {
  // expected-error@+2 {{embedding weight must be [num, dim], got [7]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.embedding %ids, %w : (tensor<?x4xi64>, tensor<7xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @embedding_grad_shape(%g: tensor<?x4x3xf32>, %ids: tensor<?x5xi64>) {
  // expected-error@+1 {{'kiln.embedding_grad' op expects grad [..., dim] over indices [...] and a result [num, dim] of grad's element type, got 'tensor<?x4x3xf32>', 'tensor<?x5xi64>' and 'tensor<7x3xf32>'}}
  %0 = kiln.embedding_grad %g, %ids : (tensor<?x4x3xf32>, tensor<?x5xi64>) -> tensor<7x3xf32>
  return
}

// -----

func.func @lstm_step_grad_shape(%gates: tensor<?x5x12xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<16x4xf32>) {
  // expected-error@+2 {{expects [N, T, 4H], [N, T, H] and weight_hh [4H, H] of one element type}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.lstm_step_grad %gates, %g, %whh : (tensor<?x5x12xf32>, tensor<?x5x4xf32>, tensor<16x4xf32>) -> tensor<?x5x16xf32>
  return
}
