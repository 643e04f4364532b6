// kiln-decompose: composite ops become primitive kiln ops, in the order of
// operations that keeps PyTorch's numbers.
// RUN: kiln-opt %s --kiln-decompose --split-input-file | FileCheck %s

// linear on rows: the weight transposed, one 2-D product, the bias added
// (lowering then starts the product's accumulator at the bias). A rank-3
// input is folded into rows and back.
// CHECK-LABEL: func.func @linear
// CHECK: %[[X:.*]] = kiln.reshape %arg0 : tensor<?x5x4xf32> to tensor<?x4xf32>
// CHECK: %[[WT:.*]] = kiln.transpose %arg1 [1, 0] : (tensor<3x4xf32>) -> tensor<4x3xf32>
// CHECK: %[[Y:.*]] = kiln.matmul %[[X]], %[[WT]] : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
// CHECK: %[[B:.*]] = kiln.add %[[Y]], %arg2
// CHECK: kiln.reshape %[[B]] : tensor<?x3xf32> to tensor<?x5x3xf32>
// CHECK-NOT: kiln.linear
func.func @linear(%x: tensor<?x5x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x5x3xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<?x5x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x5x3xf32>
  return %0 : tensor<?x5x3xf32>
}

// -----

// softmax: exp of the input less its max, over its sum; log_softmax: the
// shifted input less the log of that sum. Both keep the reduced dim.
// CHECK-LABEL: func.func @softmax
// CHECK: %[[M:.*]] = kiln.max %arg0, 1 {keepdim = true}
// CHECK: %[[S:.*]] = kiln.sub %arg0, %[[M]]
// CHECK: %[[E:.*]] = kiln.exp %[[S]]
// CHECK: %[[T:.*]] = kiln.sum %[[E]] [1] {keepdim = true}
// CHECK: kiln.div %[[E]], %[[T]]
// CHECK: %[[M2:.*]] = kiln.max %arg0, 1 {keepdim = true}
// CHECK: %[[S2:.*]] = kiln.sub %arg0, %[[M2]]
// CHECK: %[[E2:.*]] = kiln.exp %[[S2]]
// CHECK: %[[T2:.*]] = kiln.sum %[[E2]] [1] {keepdim = true}
// CHECK: %[[L:.*]] = kiln.log %[[T2]]
// CHECK: kiln.sub %[[S2]], %[[L]]
func.func @softmax(%x: tensor<?x10xf32>) -> (tensor<?x10xf32>, tensor<?x10xf32>) {
  %0 = kiln.softmax %x, 1 : tensor<?x10xf32>
  %1 = kiln.log_softmax %x, 1 : tensor<?x10xf32>
  return %0, %1 : tensor<?x10xf32>, tensor<?x10xf32>
}

// -----

// mse is the mean of the squared difference; bce_with_logits PyTorch's
// stable max(x, 0) - x*y + log1p(exp(-|x|)), averaged.
// CHECK-LABEL: func.func @losses
// CHECK: %[[D:.*]] = kiln.sub %arg0, %arg1
// CHECK: %[[SQ:.*]] = kiln.mul %[[D]], %[[D]]
// CHECK: kiln.mean %[[SQ]] []
// CHECK: %[[A:.*]] = kiln.abs %arg0
// CHECK: %[[N:.*]] = kiln.neg %[[A]]
// CHECK: %[[EX:.*]] = kiln.exp %[[N]]
// CHECK: %[[SOFT:.*]] = kiln.log1p %[[EX]]
// CHECK: %[[R:.*]] = kiln.relu %arg0
// CHECK: %[[XY:.*]] = kiln.mul %arg0, %arg1
// CHECK: %[[MARGIN:.*]] = kiln.sub %[[R]], %[[XY]]
// CHECK: %[[SUM:.*]] = kiln.add %[[MARGIN]], %[[SOFT]]
// CHECK: kiln.mean %[[SUM]] []
func.func @losses(%x: tensor<?x3xf32>, %y: tensor<?x3xf32>) -> (tensor<f32>, tensor<f32>) {
  %0 = kiln.mse %x, %y : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<f32>
  %1 = kiln.bce_with_logits %x, %y : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<f32>
  return %0, %1 : tensor<f32>, tensor<f32>
}

// -----

// cross_entropy is nll_loss of log_softmax (itself decomposed); its
// gradient helper (softmax - one_hot) / N, with N read at run time.
// CHECK-LABEL: func.func @cross_entropy
// CHECK-NOT: softmax
// CHECK-NOT: cross_entropy
// CHECK: kiln.log
// CHECK: %[[LOGP:.*]] = kiln.sub
// CHECK: kiln.nll_loss %[[LOGP]], %arg1 : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
// CHECK: %[[HOT:.*]] = kiln.one_hot %arg1 : tensor<?xi64> to tensor<?x10xf32>
// CHECK: %[[P:.*]] = kiln.div
// CHECK: %[[D:.*]] = kiln.sub %[[P]], %[[HOT]]
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[COUNT:.*]] = tensor.from_elements
// CHECK: kiln.div %[[D]], %[[COUNT]]
func.func @cross_entropy(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<f32>, tensor<?x10xf32>) {
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %1 = kiln.cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<?x10xf32>
  return %0, %1 : tensor<f32>, tensor<?x10xf32>
}

// -----

// conv2d, Caffe's way: im2col columns [C*KH*KW, N*OH*OW], the weight rows
// [O, CKK] times them, the bias per row, and the channel planes back to NCHW.
// CHECK-LABEL: func.func @conv2d
// CHECK: %[[COLS:.*]] = kiln.im2col %arg0 kernel [3, 3] stride [2, 1] padding [1, 0] : (tensor<?x3x7x6xf32>) -> tensor<27x?xf32>
// CHECK: %[[W:.*]] = kiln.reshape %arg1 : tensor<4x3x3x3xf32> to tensor<4x27xf32>
// CHECK: %[[Y:.*]] = kiln.matmul %[[W]], %[[COLS]] : (tensor<4x27xf32>, tensor<27x?xf32>) -> tensor<4x?xf32>
// CHECK: %[[B:.*]] = kiln.reshape %arg2 : tensor<4xf32> to tensor<4x1xf32>
// CHECK: %[[YB:.*]] = kiln.add %[[Y]], %[[B]]
// CHECK: %[[PLANES:.*]] = kiln.reshape %[[YB]] : tensor<4x?xf32> to tensor<4x?x4x4xf32>
// CHECK: kiln.transpose %[[PLANES]] [1, 0, 2, 3] : (tensor<4x?x4x4xf32>) -> tensor<?x4x4x4xf32>
func.func @conv2d(%x: tensor<?x3x7x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<?x4x4x4xf32> {
  %0 = kiln.conv2d %x, %w, %b stride [2, 1] padding [1, 0] : (tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
  return %0 : tensor<?x4x4x4xf32>
}

// -----

// conv2d's gradients: for the input, weight^T [CKK, O] times the gradient's
// channel rows [O, N*OH*OW], added back onto the pixels by col2im; for the
// weight, the channel rows times im2col's rows [N*OH*OW, CKK].
// CHECK-LABEL: func.func @conv2d_grads
// CHECK: %[[W:.*]] = kiln.reshape %arg1 : tensor<4x3x3x3xf32> to tensor<4x27xf32>
// CHECK: %[[WT:.*]] = kiln.transpose %[[W]] [1, 0]
// CHECK: %[[GT:.*]] = kiln.transpose %arg0 [1, 0, 2, 3]
// CHECK: %[[G:.*]] = kiln.reshape %[[GT]] : tensor<4x?x4x4xf32> to tensor<4x?xf32>
// CHECK: %[[SHARES:.*]] = kiln.matmul %[[WT]], %[[G]] : (tensor<27x4xf32>, tensor<4x?xf32>) -> tensor<27x?xf32>
// CHECK: kiln.col2im %[[SHARES]], %arg2 kernel [3, 3] stride [2, 1] padding [1, 0]
// CHECK: %[[ROWS:.*]] = kiln.im2col %arg2 kernel [3, 3] stride [2, 1] padding [1, 0] rows : (tensor<?x3x7x6xf32>) -> tensor<?x27xf32>
// CHECK: %[[DW:.*]] = kiln.matmul %{{.*}}, %[[ROWS]] : (tensor<4x?xf32>, tensor<?x27xf32>) -> tensor<4x27xf32>
// CHECK: kiln.reshape %[[DW]] : tensor<4x27xf32> to tensor<4x3x3x3xf32>
func.func @conv2d_grads(%g: tensor<?x4x4x4xf32>, %w: tensor<4x3x3x3xf32>, %x: tensor<?x3x7x6xf32>) -> (tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>) {
  %0 = kiln.conv2d_input_grad %g, %w, %x stride [2, 1] padding [1, 0] : (tensor<?x4x4x4xf32>, tensor<4x3x3x3xf32>, tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32>
  %1 = kiln.conv2d_weight_grad %g, %x, %w stride [2, 1] padding [1, 0] : (tensor<?x4x4x4xf32>, tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  return %0, %1 : tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>
}

// -----

// rnn: one product projects every step (time-major rows [T*N, in]) plus
// b_ih; an scf.for over T carries the states [T + 1, N, H] (h_{-1} = 0 at
// step 0) and writes h_t = tanh(pre_t + (h_{t-1} W_hh^T + b_hh)) at t + 1.
// CHECK-LABEL: func.func @rnn
// CHECK: %[[TM:.*]] = kiln.transpose %arg0 [1, 0, 2]
// CHECK: %[[ROWS:.*]] = kiln.reshape %[[TM]] : tensor<5x?x3xf32> to tensor<?x3xf32>
// CHECK: %[[WIH:.*]] = kiln.transpose %arg1 [1, 0]
// CHECK: %[[P:.*]] = kiln.matmul %[[ROWS]], %[[WIH]]
// CHECK: %[[PB:.*]] = kiln.add %[[P]], %arg3
// CHECK: %[[PRE:.*]] = kiln.reshape %[[PB]] : tensor<?x4xf32> to tensor<5x?x4xf32>
// CHECK: %[[WHH:.*]] = kiln.transpose %arg2 [1, 0]
// CHECK: %[[ZERO:.*]] = kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<6x?x4xf32>
// CHECK: %[[STATES:.*]] = scf.for %[[T:.*]] = %c0 to %c5 step %c1 iter_args(%[[SEQ:.*]] = %[[ZERO]]) -> (tensor<6x?x4xf32>)
// CHECK: %[[PREV:.*]] = tensor.extract_slice %[[SEQ]][%[[T]], 0, 0] [1, %{{.*}}, 4] [1, 1, 1] : tensor<6x?x4xf32> to tensor<?x4xf32>
// CHECK: %[[R:.*]] = kiln.matmul %[[PREV]], %[[WHH]]
// CHECK: %[[RB:.*]] = kiln.add %[[R]], %arg4
// CHECK: %[[PRET:.*]] = tensor.extract_slice %[[PRE]][%[[T]], 0, 0]
// CHECK: %[[SUM:.*]] = kiln.add %[[PRET]], %[[RB]]
// CHECK: %[[H:.*]] = kiln.tanh %[[SUM]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[T]], %c1
// CHECK: %[[W:.*]] = tensor.insert_slice %[[H]] into %[[SEQ]][%[[NEXT]], 0, 0]
// CHECK: scf.yield %[[W]]
// CHECK: %[[HS:.*]] = tensor.extract_slice %[[STATES]][1, 0, 0] [5, %{{.*}}, 4]
// CHECK: kiln.transpose %[[HS]] [1, 0, 2] : (tensor<5x?x4xf32>) -> tensor<?x5x4xf32>
func.func @rnn(%x: tensor<?x5x3xf32>, %wih: tensor<4x3xf32>, %whh: tensor<4x4xf32>, %bih: tensor<4xf32>, %bhh: tensor<4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// rnn_step_grad: the reverse loop t = T-1-i, d_t = (d_{t+1} W_hh + g_t) *
// (1 - h_t^2), with d_T = 0 at step T of the carried [T + 1, N, H].
// CHECK-LABEL: func.func @rnn_step_grad
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[HS:.*]] = kiln.transpose %arg0 [1, 0, 2]
// CHECK: %[[GS:.*]] = kiln.transpose %arg1 [1, 0, 2]
// CHECK: scf.for %[[I:.*]] = %c0 to %c5 step %c1 iter_args(%[[SEQ:.*]] = %{{.*}})
// CHECK: %[[T:.*]] = arith.subi %c4, %[[I]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[T]], %c1
// CHECK: %[[DN:.*]] = tensor.extract_slice %[[SEQ]][%[[NEXT]], 0, 0]
// CHECK: %[[P:.*]] = kiln.matmul %[[DN]], %arg2
// CHECK: %[[G:.*]] = tensor.extract_slice %[[GS]][%[[T]], 0, 0]
// CHECK: %[[DH:.*]] = kiln.add %[[P]], %[[G]]
// CHECK: %[[H:.*]] = tensor.extract_slice %[[HS]][%[[T]], 0, 0]
// CHECK: %[[SQ:.*]] = kiln.mul %[[H]], %[[H]]
// CHECK: %[[D1:.*]] = kiln.sub %[[ONE]], %[[SQ]]
// CHECK: %[[D:.*]] = kiln.mul %[[DH]], %[[D1]]
// CHECK: tensor.insert_slice %[[D]] into %[[SEQ]][%[[T]], 0, 0]
func.func @rnn_step_grad(%s: tensor<?x5x4xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<4x4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn_step_grad %s, %g, %whh : (tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<4x4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// rnn and rnn_step_grad over a static first dim (an RNN applied to a
// [2, T, F] that does not depend on the batch, issue 14's construct sweep):
// the slices keep the static 2 (a constant Value as the size made their
// inferred type 1x?x4 and the verifier refused them).
// CHECK-LABEL: func.func @rnn_static
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<5x2x4xf32> to tensor<2x4xf32>
// CHECK: tensor.insert_slice %{{.*}}[%{{.*}}, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x4xf32> into tensor<5x2x4xf32>
// CHECK: tensor.extract_slice %{{.*}}[1, 0, 0] [4, 2, 4] [1, 1, 1] : tensor<5x2x4xf32> to tensor<4x2x4xf32>
// CHECK-LABEL: func.func @rnn_step_grad_static
// CHECK: tensor.insert_slice %{{.*}}[%{{.*}}, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x4xf32> into tensor<5x2x4xf32>
func.func @rnn_static(%x: tensor<2x4x3xf32>, %wih: tensor<4x3xf32>, %whh: tensor<4x4xf32>, %bih: tensor<4xf32>, %bhh: tensor<4xf32>) -> tensor<2x4x4xf32> {
  %0 = kiln.rnn %x, %wih, %whh, %bih, %bhh : (tensor<2x4x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}
func.func @rnn_step_grad_static(%s: tensor<2x4x4xf32>, %g: tensor<2x4x4xf32>, %whh: tensor<4x4xf32>) -> tensor<2x4x4xf32> {
  %0 = kiln.rnn_step_grad %s, %g, %whh : (tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}
