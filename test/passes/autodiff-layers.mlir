// Gradient rules of the recurrent and normalization layers and embedding:
// @loss takes the op's result to a scalar, kiln-autodiff writes @loss_grad.
// RUN: kiln-opt %s --kiln-autodiff --split-input-file | FileCheck %s

// lstm: the gates of every step from the result (the states shifted by one
// step are h_{t-1}): one linear per side over the whole sequence; backprop
// through time gives the gradient at the gates, d, which both sides share:
// weight_ih's is d^T @ x, weight_hh's d^T @ h_{t-1}, both biases sum(d).
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[STATES:.*]] = kiln.lstm
// CHECK: %[[ZERO:.*]] = kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<?x1x4xf32>
// CHECK: %[[EARLIER:.*]] = kiln.slice %[[STATES]] dim 1 start 0 size 4
// CHECK: %[[PREV:.*]] = kiln.concat %[[ZERO]], %[[EARLIER]] dim 1
// CHECK: %[[XG:.*]] = kiln.linear %arg0, %arg1, %arg3
// CHECK: %[[HG:.*]] = kiln.linear %[[PREV]], %arg2, %arg4
// CHECK: %[[GATES:.*]] = kiln.add %[[XG]], %[[HG]]
// CHECK: %[[D:.*]] = kiln.lstm_step_grad %[[GATES]], %{{.*}}, %arg2 : (tensor<?x5x16xf32>, tensor<?x5x4xf32>, tensor<16x4xf32>) -> tensor<?x5x16xf32>
// CHECK: %[[DROWS:.*]] = kiln.reshape %[[D]] : tensor<?x5x16xf32> to tensor<?x16xf32>
// CHECK: %[[DT:.*]] = kiln.transpose %[[DROWS]] [1, 0]
// CHECK: %[[GIH:.*]] = kiln.matmul %[[DT]], %{{.*}} : (tensor<16x?xf32>, tensor<?x3xf32>) -> tensor<16x3xf32>
// CHECK: %[[PREVROWS:.*]] = kiln.reshape %[[PREV]]
// CHECK: %[[GHH:.*]] = kiln.matmul %[[DT]], %[[PREVROWS]] : (tensor<16x?xf32>, tensor<?x4xf32>) -> tensor<16x4xf32>
// CHECK: %[[GB:.*]] = kiln.sum %[[D]] [0, 1] : (tensor<?x5x16xf32>) -> tensor<16xf32>
// CHECK: return %{{.*}}, %[[GIH]], %[[GHH]], %[[GB]], %[[GB]] :
func.func @loss(%x: tensor<?x5x3xf32> {kiln.role = #kiln.input<"x">}, %wih: tensor<16x3xf32> {kiln.role = #kiln.param<"lstm.weight_ih_l0">}, %whh: tensor<16x4xf32> {kiln.role = #kiln.param<"lstm.weight_hh_l0">}, %bih: tensor<16xf32> {kiln.role = #kiln.param<"lstm.bias_ih_l0">}, %bhh: tensor<16xf32> {kiln.role = #kiln.param<"lstm.bias_hh_l0">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.lstm %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x5x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x5x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// gru: both projections of every step from the result, then backprop
// through time: (dr, dz, dn * r, dn). The hidden side's gradient is its
// first 3H columns, the input side's (dr, dz, dn).
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[PREV:.*]] = kiln.concat
// CHECK: %[[XG:.*]] = kiln.linear %arg0, %arg1, %arg3
// CHECK: %[[HG:.*]] = kiln.linear %[[PREV]], %arg2, %arg4
// CHECK: %[[D:.*]] = kiln.gru_step_grad %[[XG]], %[[HG]], %[[PREV]], %{{.*}}, %arg2 : (tensor<?x5x12xf32>, tensor<?x5x12xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<12x4xf32>) -> tensor<?x5x16xf32>
// CHECK: %[[DH:.*]] = kiln.slice %[[D]] dim 2 start 0 size 12
// CHECK: %[[RZ:.*]] = kiln.slice %[[D]] dim 2 start 0 size 8
// CHECK: %[[N:.*]] = kiln.slice %[[D]] dim 2 start 12 size 4
// CHECK: %[[DX:.*]] = kiln.concat %[[RZ]], %[[N]] dim 2
// CHECK: %[[GIH:.*]] = kiln.matmul {{.*}} -> tensor<12x3xf32>
// CHECK: %[[GHH:.*]] = kiln.matmul {{.*}} -> tensor<12x4xf32>
// CHECK: %[[GBI:.*]] = kiln.sum %[[DX]] [0, 1]
// CHECK: %[[GBH:.*]] = kiln.sum %[[DH]] [0, 1]
// CHECK: return %{{.*}}, %[[GIH]], %[[GHH]], %[[GBI]], %[[GBH]] :
func.func @loss(%x: tensor<?x5x3xf32> {kiln.role = #kiln.input<"x">}, %wih: tensor<12x3xf32> {kiln.role = #kiln.param<"gru.weight_ih_l0">}, %whh: tensor<12x4xf32> {kiln.role = #kiln.param<"gru.weight_hh_l0">}, %bih: tensor<12xf32> {kiln.role = #kiln.param<"gru.bias_ih_l0">}, %bhh: tensor<12xf32> {kiln.role = #kiln.param<"gru.bias_hh_l0">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.gru %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>, tensor<12xf32>, tensor<12xf32>) -> tensor<?x5x4xf32>
  %1 = kiln.sum %0 [] : (tensor<?x5x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// layer_norm: ATen's layer_norm_backward with mean and rstd recomputed as
// the forward computes them; here only the weight's and bias's gradients
// are needed: sums over the rows of g * (x * rstd + (-rstd * mean)) and g.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[G:.*]] = kiln.add
// CHECK: %[[MEAN:.*]] = kiln.mean %arg0 [2] {keepdim = true}
// CHECK: %[[DIFF:.*]] = kiln.sub %arg0, %[[MEAN]]
// CHECK: %[[SQ:.*]] = kiln.mul %[[DIFF]], %[[DIFF]]
// CHECK: %[[VAR:.*]] = kiln.mean %[[SQ]] [2] {keepdim = true}
// CHECK: %[[EPS:.*]] = kiln.constant dense<9.99999974E-6> : tensor<f32>
// CHECK: %[[VE:.*]] = kiln.add %[[VAR]], %[[EPS]]
// CHECK: %[[SQRT:.*]] = kiln.sqrt %[[VE]]
// CHECK: %[[RSTD:.*]] = kiln.div %{{.*}}, %[[SQRT]]
// CHECK: %[[NEG:.*]] = kiln.neg %[[RSTD]]
// CHECK: %[[SHIFT:.*]] = kiln.mul %[[NEG]], %[[MEAN]]
// CHECK: %[[SCALED:.*]] = kiln.mul %arg0, %[[RSTD]]
// CHECK: %[[XHAT:.*]] = kiln.add %[[SCALED]], %[[SHIFT]]
// CHECK: %[[GX:.*]] = kiln.mul %[[G]], %[[XHAT]]
// CHECK: %[[GW:.*]] = kiln.sum %[[GX]] [0, 1] : (tensor<?x5x8xf32>) -> tensor<8xf32>
// CHECK: %[[GB:.*]] = kiln.sum %[[G]] [0, 1] : (tensor<?x5x8xf32>) -> tensor<8xf32>
// CHECK: return %{{.*}}, %[[GW]], %[[GB]] :
func.func @loss(%x: tensor<?x5x8xf32> {kiln.role = #kiln.input<"x">}, %w: tensor<8xf32> {kiln.role = #kiln.param<"norm.weight">}, %b: tensor<8xf32> {kiln.role = #kiln.param<"norm.bias">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.layer_norm %x, %w, %b eps 1.0e-5 : (tensor<?x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x5x8xf32>
  %1 = kiln.mul %0, %0 : (tensor<?x5x8xf32>, tensor<?x5x8xf32>) -> tensor<?x5x8xf32>
  %2 = kiln.sum %1 [] : (tensor<?x5x8xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// layer_norm's input gradient, as ATen's: with s = 1 / C,
// b' = (db * mean - ds) * rstd^3 * s, c' = -b' * mean - db * rstd * s,
// dx = rstd * g * w + b' * x + c'.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[X:.*]] = kiln.matmul %arg0, %arg3
// CHECK: %[[MEAN:.*]] = kiln.mean %[[X]] [1] {keepdim = true}
// CHECK: %[[RSTD:.*]] = kiln.div
// CHECK: %[[S:.*]] = kiln.constant dense<1.250000e-01> : tensor<f32>
// CHECK: %[[DYW:.*]] = kiln.mul %{{.*}}, %arg1
// CHECK: %[[DYWX:.*]] = kiln.mul %[[DYW]], %[[X]]
// CHECK: %[[DS:.*]] = kiln.sum %[[DYWX]] [1] {keepdim = true}
// CHECK: %[[DB:.*]] = kiln.sum %[[DYW]] [1] {keepdim = true}
// CHECK: %[[SQ:.*]] = kiln.mul %[[RSTD]], %[[RSTD]]
// CHECK: %[[CUBE:.*]] = kiln.mul %[[SQ]], %[[RSTD]]
// CHECK: %[[DBM:.*]] = kiln.mul %[[DB]], %[[MEAN]]
// CHECK: %[[DIFF:.*]] = kiln.sub %[[DBM]], %[[DS]]
// CHECK: %[[T:.*]] = kiln.mul %[[DIFF]], %[[CUBE]]
// CHECK: %[[BB:.*]] = kiln.mul %[[T]], %[[S]]
// CHECK: %[[NB:.*]] = kiln.neg %[[BB]]
// CHECK: %[[NBM:.*]] = kiln.mul %[[NB]], %[[MEAN]]
// CHECK: %[[DBR:.*]] = kiln.mul %[[DB]], %[[RSTD]]
// CHECK: %[[DBRS:.*]] = kiln.mul %[[DBR]], %[[S]]
// CHECK: %[[CC:.*]] = kiln.sub %[[NBM]], %[[DBRS]]
// CHECK: %[[A:.*]] = kiln.mul %[[RSTD]], %{{.*}} : (tensor<?x1xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK: %[[AG:.*]] = kiln.mul %[[A]], %arg1
// CHECK: %[[BX:.*]] = kiln.mul %[[BB]], %[[X]]
// CHECK: %[[SUM:.*]] = kiln.add %[[AG]], %[[BX]]
// CHECK: kiln.add %[[SUM]], %[[CC]]
func.func @loss(%x: tensor<?x8xf32> {kiln.role = #kiln.input<"x">}, %w: tensor<8xf32> {kiln.role = #kiln.param<"norm.weight">}, %b: tensor<8xf32> {kiln.role = #kiln.param<"norm.bias">}, %v: tensor<8x8xf32> {kiln.role = #kiln.param<"v">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.matmul %x, %v : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %1 = kiln.layer_norm %0, %w, %b eps 1.0e-5 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %2 = kiln.sum %1 [] : (tensor<?x8xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// embedding: the indices are integers; the weight's gradient adds each
// position's gradient row onto its index's row.
// CHECK-LABEL: func.func @loss_grad
// CHECK: %[[E:.*]] = kiln.embedding %arg0, %arg1
// CHECK: %[[GW:.*]] = kiln.embedding_grad %{{.*}}, %arg0 : (tensor<?x4x3xf32>, tensor<?x4xui8>) -> tensor<7x3xf32>
// CHECK: return %{{.*}}, %[[GW]] :
func.func @loss(%ids: tensor<?x4xui8> {kiln.role = #kiln.input<"ids">}, %w: tensor<7x3xf32> {kiln.role = #kiln.param<"emb.weight">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
  %0 = kiln.embedding %ids, %w : (tensor<?x4xui8>, tensor<7x3xf32>) -> tensor<?x4x3xf32>
  %1 = kiln.sum %0 [] : (tensor<?x4x3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
