// kiln-lower-to-linalg: each kiln op becomes linalg on tensors.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// u8 becomes i8 at the boundary; the cast still knows it was unsigned.
// CHECK-LABEL: func.func @cast_u8
// CHECK-SAME: tensor<?x4xi8>
// CHECK: linalg.generic
// CHECK: arith.uitofp %{{.*}} : i8 to f32
func.func @cast_u8(%x: tensor<?x4xui8>) -> tensor<?x4xf32> {
  %0 = kiln.cast %x : tensor<?x4xui8> to tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Broadcasting is an indexing map: the scalar reads (), the vector (d1).
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @broadcast
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[ID]]]
// CHECK: arith.divf
func.func @broadcast(%x: tensor<?x3xf32>, %b: tensor<3xf32>, %s: tensor<f32>) -> tensor<?x3xf32> {
  %0 = kiln.add %x, %b : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  %1 = kiln.div %0, %s : (tensor<?x3xf32>, tensor<f32>) -> tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// -----

// linear: the accumulator starts at the bias; weight^T feeds linalg.matmul.
// CHECK-LABEL: func.func @linear
// CHECK: %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]
// CHECK: %[[BIAS:.*]] = linalg.generic
// CHECK: linalg.matmul ins(%arg0, %[[WT]] : tensor<?x4xf32>, tensor<4x3xf32>) outs(%[[BIAS]] : tensor<?x3xf32>)
func.func @linear(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// Batched matmul with a broadcast left operand: one generic, k reduced.
// CHECK-DAG: #[[L:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[R:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @batched_matmul
// CHECK: linalg.generic {indexing_maps = [#[[L]], #[[R]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
func.func @batched_matmul(%a: tensor<3x4xf32>, %b: tensor<?x4x5xf32>) -> tensor<?x3x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<3x4xf32>, tensor<?x4x5xf32>) -> tensor<?x3x5xf32>
  return %0 : tensor<?x3x5xf32>
}

// -----

// mean with keepdim: reduce, divide by the count, reshape to keep the dim.
// CHECK-LABEL: func.func @mean_keepdim
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: tensor.reshape {{.*}} -> tensor<?x1xf32>
func.func @mean_keepdim(%x: tensor<?x10xf32>) -> tensor<?x1xf32> {
  %0 = kiln.mean %x [1] {keepdim = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

// argmax keeps the first maximum whatever the loop order: larger, or equal
// and earlier.
// CHECK-LABEL: func.func @argmax
// CHECK: linalg.generic
// CHECK: linalg.index 1
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpi slt
// CHECK: -> (tensor<?xf32>, tensor<?xi64>)
func.func @argmax(%x: tensor<?x10xf32>) -> tensor<?xi64> {
  %0 = kiln.argmax %x, 1 : (tensor<?x10xf32>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// max of u8 compares unsigned.
// CHECK-LABEL: func.func @max_u8
// CHECK: arith.maxui
func.func @max_u8(%x: tensor<?x10xui8>) -> tensor<?xui8> {
  %0 = kiln.max %x, 1 : (tensor<?x10xui8>) -> tensor<?xui8>
  return %0 : tensor<?xui8>
}

// -----

// log_softmax subtracts the row max before exp.
// CHECK-LABEL: func.func @log_softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: math.log
func.func @log_softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = kiln.log_softmax %x, 1 : tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// cross_entropy gathers x[n, t[n]] with a clamped index; out of range is NaN.
// CHECK-LABEL: func.func @cross_entropy
// CHECK: linalg.index 0
// CHECK: arith.index_cast %{{.*}} : i64 to index
// CHECK: arith.select
// CHECK: tensor.extract %arg0
// CHECK: arith.constant 0x7FC00000 : f32
// CHECK: arith.divf
// CHECK: tensor.from_elements
func.func @cross_entropy(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// concat writes each piece at its offset along the joined dim.
// CHECK-LABEL: func.func @concat
// CHECK: tensor.empty(%{{.*}}) : tensor<?x7xf32>
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, %{{.*}}] [%{{.*}}, 3]
// CHECK: tensor.insert_slice %arg1 into %{{.*}}[0, %{{.*}}] [%{{.*}}, 4]
func.func @concat(%a: tensor<?x3xf32>, %b: tensor<?x4xf32>) -> tensor<?x7xf32> {
  %0 = kiln.concat %a, %b dim 1 : (tensor<?x3xf32>, tensor<?x4xf32>) -> tensor<?x7xf32>
  return %0 : tensor<?x7xf32>
}

// -----

// reshape to a dynamic shape computes the batch from the element count.
// CHECK-LABEL: func.func @reshape
// CHECK: arith.divui
// CHECK: tensor.from_elements
// CHECK: tensor.reshape %arg0(%{{.*}}) : (tensor<?x28x28xf32>, tensor<2xindex>) -> tensor<?x784xf32>
func.func @reshape(%x: tensor<?x28x28xf32>) -> tensor<?x784xf32> {
  %0 = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
  return %0 : tensor<?x784xf32>
}

// -----

// conv2d: pad H (zeros), im2col in columns [C*KH*KW, N*OH*OW] as a generic
// reading the padded input at (n, c, oh * 2 + kh, ow + kw) with (c, kh, kw)
// outermost, then one 2-D linalg.matmul (the runtime's GEMM) of the weight
// rows [O, CKK] by the columns, accumulating into the bias broadcast along
// rows, and a transpose of the channel planes back to NCHW.
// CHECK-DAG: #[[WINDOW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1, d2 + d5)>
// CHECK-DAG: #[[BY_ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @conv2d
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x3x9x6xf32>)
// CHECK: tensor.extract %arg0
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[WINDOW]], {{.*}} outs(%{{.*}} : tensor<3x3x3x?x4x4xf32>)
// CHECK: %[[COLS2D:.*]] = tensor.reshape %[[COLS]]{{.*}} -> tensor<27x?xf32>
// CHECK: %[[BIAS:.*]] = linalg.generic {indexing_maps = [#[[BY_ROW]], {{.*}} ins(%arg2 : tensor<4xf32>) outs(%{{.*}} : tensor<4x?xf32>)
// CHECK: %[[W:.*]] = tensor.reshape %arg1{{.*}} -> tensor<4x27xf32>
// CHECK: %[[Y:.*]] = linalg.matmul ins(%[[W]], %[[COLS2D]] : tensor<4x27xf32>, tensor<27x?xf32>) outs(%[[BIAS]] : tensor<4x?xf32>)
// CHECK: %[[PLANES:.*]] = tensor.reshape %[[Y]]{{.*}} -> tensor<4x?x4x4xf32>
// CHECK: linalg.transpose ins(%[[PLANES]] : tensor<4x?x4x4xf32>) {{.*}} permutation = [1, 0, 2, 3]
func.func @conv2d(%x: tensor<?x3x7x6xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<?x4x4x4xf32> {
  %0 = kiln.conv2d %x, %w, %b stride [2, 1] padding [1, 0] : (tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
  return %0 : tensor<?x4x4x4xf32>
}

// -----

// conv2d_input_grad: weight^T [CKK, O] @ the gradient's channel rows
// [O, N*OH*OW] (a transpose of whole planes) gives each window's share in
// [C, KH, KW, N, OH, OW]; col2im gathers them per input pixel, reducing over
// (kh, kw), so no two iterations write one element.
// CHECK-LABEL: func.func @conv2d_input_grad
// CHECK: %[[W:.*]] = tensor.reshape %arg1{{.*}} -> tensor<4x27xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<4x27xf32>) outs(%{{.*}} : tensor<27x4xf32>) permutation = [1, 0]
// CHECK: %[[GT:.*]] = linalg.transpose ins(%arg0 : tensor<?x4x4x4xf32>) outs(%{{.*}} : tensor<4x?x4x4xf32>) permutation = [1, 0, 2, 3]
// CHECK: %[[G:.*]] = tensor.reshape %[[GT]]{{.*}} -> tensor<4x?xf32>
// CHECK: %[[SHARES:.*]] = linalg.matmul ins(%[[WT]], %[[G]] : tensor<27x4xf32>, tensor<4x?xf32>)
// CHECK: %[[SIX:.*]] = tensor.reshape %[[SHARES]]{{.*}} -> tensor<3x3x3x?x4x4xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x3x7x6xf32>)
// CHECK: tensor.extract %[[SIX]]
func.func @conv2d_input_grad(%g: tensor<?x4x4x4xf32>, %w: tensor<4x3x3x3xf32>, %x: tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32> {
  %0 = kiln.conv2d_input_grad %g, %w, %x stride [2, 1] padding [1, 0] : (tensor<?x4x4x4xf32>, tensor<4x3x3x3xf32>, tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32>
  return %0 : tensor<?x3x7x6xf32>
}

// -----

// conv2d_weight_grad: the gradient's channel rows [O, N*OH*OW] @ im2col in
// rows [N*OH*OW, CKK] (read at (n, c, oh * 2 + kh, ow + kw), (n, oh, ow)
// outermost), reshaped to the weight.
// CHECK-DAG: #[[WINDOW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 + d5)>
// CHECK-LABEL: func.func @conv2d_weight_grad
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[WINDOW]], {{.*}} outs(%{{.*}} : tensor<?x4x4x3x3x3xf32>)
// CHECK: %[[ROWS:.*]] = tensor.reshape %[[COLS]]{{.*}} -> tensor<?x27xf32>
// CHECK: %[[GT:.*]] = linalg.transpose ins(%arg0 : tensor<?x4x4x4xf32>) {{.*}} permutation = [1, 0, 2, 3]
// CHECK: %[[G:.*]] = tensor.reshape %[[GT]]{{.*}} -> tensor<4x?xf32>
// CHECK: %[[DW:.*]] = linalg.matmul ins(%[[G]], %[[ROWS]] : tensor<4x?xf32>, tensor<?x27xf32>) outs(%{{.*}} : tensor<4x27xf32>)
// CHECK: tensor.reshape %[[DW]]{{.*}} -> tensor<4x3x3x3xf32>
func.func @conv2d_weight_grad(%g: tensor<?x4x4x4xf32>, %x: tensor<?x3x7x6xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32> {
  %0 = kiln.conv2d_weight_grad %g, %x, %w stride [2, 1] padding [1, 0] : (tensor<?x4x4x4xf32>, tensor<?x3x7x6xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  return %0 : tensor<4x3x3x3xf32>
}

// -----

// max_pool2d: a reduction over (kh, kw) of the -inf padded input; it also
// yields where each maximum is, which only the gradient reads.
// CHECK-LABEL: func.func @max_pool2d
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2x3x4xf32>, tensor<?x2x3x4xi64>)
// CHECK: arith.cmpf ogt
func.func @max_pool2d(%x: tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32> {
  %0 = kiln.max_pool2d %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32>
  return %0 : tensor<?x2x3x4xf32>
}

// -----

// max_pool2d_grad: no mask per element; per-window argmax indices (i64),
// then each input pixel gathers, over the windows that hold it, the grads of
// those whose argmax it is.
// CHECK-LABEL: func.func @max_pool2d_grad
// CHECK: %[[POOL:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2x3x4xf32>, tensor<?x2x3x4xi64>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x2x5x7xf32>)
// CHECK: arith.divsi
// CHECK: arith.remsi
// CHECK: tensor.extract %arg0
// CHECK: tensor.extract %[[POOL]]#1
// CHECK: arith.cmpi eq
func.func @max_pool2d_grad(%g: tensor<?x2x3x4xf32>, %x: tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32> {
  %0 = kiln.max_pool2d_grad %g, %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x3x4xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
  return %0 : tensor<?x2x5x7xf32>
}

// -----

// avg_pool2d: a window sum of the zero-padded input over kh*kw (padding
// counted, as PyTorch's default).
// CHECK-LABEL: func.func @avg_pool2d
// CHECK: linalg.generic {{.*}}"reduction", "reduction"]
// CHECK: arith.addf
// CHECK: arith.constant 9.000000e+00 : f32
// CHECK: arith.divf
func.func @avg_pool2d(%x: tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32> {
  %0 = kiln.avg_pool2d %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32>
  return %0 : tensor<?x2x3x4xf32>
}

// -----

// rnn: the input projection of all steps is one matmul [N*T, in] x [in, H];
// the recurrence an scf.for over T of [N, H] x [H, H] matmuls and tanh,
// carrying one time-major [T+1, N, H] tensor.
// CHECK-LABEL: func.func @rnn
// CHECK: linalg.transpose {{.*}} permutation = [1, 0, 2]
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x3xf32>, tensor<3x4xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<6x?x4xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4x4xf32>)
// CHECK: math.tanh
// CHECK: tensor.insert_slice
// CHECK: scf.yield
func.func @rnn(%x: tensor<?x5x3xf32>, %wih: tensor<4x3xf32>, %whh: tensor<4x4xf32>, %bih: tensor<4xf32>, %bhh: tensor<4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// rnn_step_grad: a reverse loop, t = T-1 - i.
// CHECK-LABEL: func.func @rnn_step_grad
// CHECK: scf.for
// CHECK: arith.subi %c4{{.*}}, %{{.*}} : index
// CHECK: linalg.matmul
func.func @rnn_step_grad(%s: tensor<?x5x4xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<4x4xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.rnn_step_grad %s, %g, %whh : (tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<4x4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// dropout: the identity without a seed; with one, a splitmix64 hash of the
// seed, salt and row-major index, kept when its top 24 bits reach p * 2^24
// (2^23 for p = 0.5), scaled by 1 / (1 - p).
// CHECK-LABEL: func.func @dropout
// CHECK: arith.fptoui %{{.*}} : f64 to i64
// CHECK: linalg.generic
// CHECK: arith.constant -4658895280553007687 : i64
// CHECK: arith.shrui
// CHECK: arith.cmpi uge, %{{.*}}, %c8388608_i64
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.select
// CHECK: return %{{.*}}, %arg0
func.func @dropout(%x: tensor<?x4xf32>, %seed: tensor<f64>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %0 = kiln.dropout %x, 0.5 seed %seed salt 3 : tensor<?x4xf32>
  %1 = kiln.dropout %x, 0.5 : tensor<?x4xf32>
  return %0, %1 : tensor<?x4xf32>, tensor<?x4xf32>
}
