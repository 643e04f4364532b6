// Convolution windows and pooling (conv2d and its gradients are decomposed
// into im2col, col2im and matrix products before lowering).
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// im2col: pad H with zeros, then one generic reading the padded input at
// (n, c, oh * 2 + kh, ow + kw). In columns [C*KH*KW, N*OH*OW] (Caffe's
// layout) (c, kh, kw) are outermost; with `rows`, (n, oh, ow).
// CHECK-DAG: #[[COLUMNS:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1, d2 + d5)>
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 + d5)>
// CHECK-LABEL: func.func @im2col
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x3x9x6xf32>)
// CHECK: tensor.extract %arg0
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[COLUMNS]], {{.*}} outs(%{{.*}} : tensor<3x3x3x?x4x4xf32>)
// CHECK: tensor.reshape %[[COLS]]{{.*}} -> tensor<27x?xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ROWS]], {{.*}} outs(%{{.*}} : tensor<?x4x4x3x3x3xf32>)
// CHECK: tensor.reshape %[[R]]{{.*}} -> tensor<?x27xf32>
func.func @im2col(%x: tensor<?x3x7x6xf32>) -> (tensor<27x?xf32>, tensor<?x27xf32>) {
  %0 = kiln.im2col %x kernel [3, 3] stride [2, 1] padding [1, 0] : (tensor<?x3x7x6xf32>) -> tensor<27x?xf32>
  %1 = kiln.im2col %x kernel [3, 3] stride [2, 1] padding [1, 0] rows : (tensor<?x3x7x6xf32>) -> tensor<?x27xf32>
  return %0, %1 : tensor<27x?xf32>, tensor<?x27xf32>
}

// -----

// col2im as a gather: the columns seen as [C, KH, KW, N, OH, OW]; each
// input pixel sums, over the kernel offsets (a reduction over (kh, kw)),
// the entries of the windows that exist (start >= 0, divisible by the
// stride, in range), so no two iterations write one element.
// CHECK-LABEL: func.func @col2im
// CHECK: %[[SIX:.*]] = tensor.reshape %arg0{{.*}} -> tensor<3x3x3x?x4x4xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x3x7x6xf32>)
// CHECK: arith.divsi
// CHECK: arith.remsi
// CHECK: tensor.extract %[[SIX]]
func.func @col2im(%c: tensor<27x?xf32>, %x: tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32> {
  %0 = kiln.col2im %c, %x kernel [3, 3] stride [2, 1] padding [1, 0] : (tensor<27x?xf32>, tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32>
  return %0 : tensor<?x3x7x6xf32>
}

// -----

// col2im without padding as a scatter: loops (n, c, kh, kw, oh, ow) add
// column entry (c, kh, kw, n, oh, ow) to pixel (n, c, oh * 2 + kh, ow + kw),
// every window in bounds: no index arithmetic, no clamped reads.
// CHECK-DAG: #[[ENTRY:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d2, d3, d0, d4, d5)>
// CHECK-DAG: #[[PIXEL:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 * 2 + d2, d3 + d5)>
// CHECK-LABEL: func.func @col2im_unpadded
// CHECK: %[[SIX:.*]] = tensor.reshape %arg0{{.*}} -> tensor<3x3x3x?x3x4xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[ENTRY]], #[[PIXEL]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]} ins(%[[SIX]] : {{.*}}) outs(%[[ZERO]] : tensor<?x3x7x6xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK-NEXT: arith.addf %[[OUT]], %[[IN]]
// CHECK-NOT: arith.divsi
func.func @col2im_unpadded(%c: tensor<27x?xf32>, %x: tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32> {
  %0 = kiln.col2im %c, %x kernel [3, 3] stride [2, 1] padding [0, 0] : (tensor<27x?xf32>, tensor<?x3x7x6xf32>) -> tensor<?x3x7x6xf32>
  return %0 : tensor<?x3x7x6xf32>
}

// -----

// max_pool2d with a small window (3x3 here, at most 16 elements): one
// parallel op reading the -inf padded input through a map per kernel offset,
// (n, c, oh * 2 + kh, ow * 2 + kw), the steps unrolled in (kh, kw) order; it
// also yields where each maximum is (i32), which only the gradient reads.
// CHECK-DAG: #[[FIRST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2)>
// CHECK-DAG: #[[LAST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 2, d3 * 2 + 2)>
// CHECK-LABEL: func.func @max_pool2d
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: %[[PADDED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x7x9xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[FIRST]], {{.*}}, #[[LAST]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[PADDED]], {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<?x2x3x4xf32>, tensor<?x2x3x4xi32>)
// CHECK-COUNT-9: arith.cmpf ogt
// CHECK-NOT: arith.cmpf ogt
// CHECK: linalg.yield
func.func @max_pool2d(%x: tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32> {
  %0 = kiln.max_pool2d %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x5x7xf32>) -> tensor<?x2x3x4xf32>
  return %0 : tensor<?x2x3x4xf32>
}

// -----

// max_pool2d with a larger window (5x5): a reduction over (kh, kw).
// CHECK-LABEL: func.func @max_pool2d_large
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2x3x3xf32>, tensor<?x2x3x3xi32>)
// CHECK: arith.cmpf ogt
func.func @max_pool2d_large(%x: tensor<?x2x7x7xf32>) -> tensor<?x2x3x3xf32> {
  %0 = kiln.max_pool2d %x kernel [5, 5] stride [1, 1] padding [0, 0] : (tensor<?x2x7x7xf32>) -> tensor<?x2x3x3xf32>
  return %0 : tensor<?x2x3x3xf32>
}

// -----

// max_pool2d_grad: no mask per element; per-window argmax indices (i32),
// then each input pixel gathers, over the windows that hold it, the grads of
// those whose argmax it is.
// CHECK-LABEL: func.func @max_pool2d_grad
// CHECK: %[[POOL:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2x3x4xf32>, tensor<?x2x3x4xi32>)
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

// max_pool2d_grad over windows that tile the input (stride = kernel, no
// padding): each pixel is in at most one window, (h / 2, w / 2) at offset
// (h % 2, w % 2), so one parallel op with no kernel loops; rows and columns
// past the last whole window (row 4 of 5, column 6 of 7) get 0.
// CHECK-LABEL: func.func @max_pool2d_grad_tiled
// CHECK: %[[POOL:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<?x2x2x3xf32>, tensor<?x2x2x3xi32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<?x2x5x7xf32>)
// CHECK: arith.divui %{{.*}}, %c2
// CHECK: arith.remui %{{.*}}, %c2
// CHECK: arith.cmpi ult, %{{.*}}, %c2
// CHECK: arith.cmpi ult, %{{.*}}, %c3
// CHECK: tensor.extract %arg0
// CHECK: tensor.extract %[[POOL]]#1
// CHECK: arith.cmpi eq
// CHECK-NOT: reduction
func.func @max_pool2d_grad_tiled(%g: tensor<?x2x2x3xf32>, %x: tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32> {
  %0 = kiln.max_pool2d_grad %g, %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x2x2x3xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
  return %0 : tensor<?x2x5x7xf32>
}

// -----

// max_pool2d_grad over windows that cover the input (4x6 in 2x2 windows):
// the input seen as [N, C, OH, KH, OW, KW], element (oh, kh, ow, kw) reads
// window (oh, ow) at the loop indices (no division), then collapsed back.
// CHECK-LABEL: func.func @max_pool2d_grad_covered
// CHECK: %[[POOL:.*]]:2 = linalg.generic
// CHECK: %[[EACH:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%{{.*}} : tensor<?x2x2x2x3x2xf32>)
// CHECK-NOT: arith.divui
// CHECK: %[[OH:.*]] = linalg.index 2
// CHECK: %[[OW:.*]] = linalg.index 4
// CHECK: tensor.extract %arg0[%{{.*}}, %{{.*}}, %[[OH]], %[[OW]]]
// CHECK: tensor.extract %[[POOL]]#1[%{{.*}}, %{{.*}}, %[[OH]], %[[OW]]]
// CHECK: arith.cmpi eq
// CHECK: tensor.collapse_shape %[[EACH]] {{\[\[}}0], [1], [2, 3], [4, 5]] : tensor<?x2x2x2x3x2xf32> into tensor<?x2x4x6xf32>
func.func @max_pool2d_grad_covered(%g: tensor<?x2x2x3xf32>, %x: tensor<?x2x4x6xf32>) -> tensor<?x2x4x6xf32> {
  %0 = kiln.max_pool2d_grad %g, %x kernel [2, 2] stride [2, 2] padding [0, 0] : (tensor<?x2x2x3xf32>, tensor<?x2x4x6xf32>) -> tensor<?x2x4x6xf32>
  return %0 : tensor<?x2x4x6xf32>
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

// avg_pool2d_grad: each pixel gathers grad / (kh*kw) from the windows that
// hold it.
// CHECK-LABEL: func.func @avg_pool2d_grad
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x2x5x7xf32>)
// CHECK: arith.divsi
// CHECK: tensor.extract %arg0
// CHECK: arith.divf %{{.*}}, %cst
func.func @avg_pool2d_grad(%g: tensor<?x2x3x4xf32>, %x: tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32> {
  %0 = kiln.avg_pool2d_grad %g, %x kernel [3, 3] stride [2, 2] padding [1, 1] : (tensor<?x2x3x4xf32>, tensor<?x2x5x7xf32>) -> tensor<?x2x5x7xf32>
  return %0 : tensor<?x2x5x7xf32>
}
