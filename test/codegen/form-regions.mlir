// kiln-form-regions: linalg ops on tensors grouped into kiln.fusion regions,
// grown backwards from each region's last op.
// RUN: kiln-opt %s --split-input-file --kiln-form-regions | FileCheck %s

#row = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>

// A product is a root: its accumulator's producer (the broadcast bias) and
// its element-wise epilogue (ReLU) join it; the producer of an operand (the
// weight's transpose) is a region of its own.
// CHECK-LABEL: func.func @linear_relu
// CHECK: %[[T:.*]] = kiln.fusion "elementwise" -> tensor<8x4xf32> {
// CHECK-NEXT: linalg.transpose
// CHECK-NEXT: kiln.yield
// CHECK: %[[R:.*]] = kiln.fusion "matmul" -> tensor<?x4xf32> {
// CHECK-NEXT: %[[B:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<4xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%arg0, %[[T]] : tensor<?x8xf32>, tensor<8x4xf32>) outs(%[[B]] : tensor<?x4xf32>)
// CHECK-NEXT: %[[E:.*]] = linalg.generic {{.*}} ins(%[[M]] : tensor<?x4xf32>)
// CHECK: kiln.yield %[[E]] : tensor<?x4xf32>
// CHECK: return %[[R]]
func.func @linear_relu(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty() : tensor<8x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %acc0 = tensor.empty(%n) : tensor<?x4xf32>
  %acc = linalg.generic {indexing_maps = [#col, #row], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<4xf32>) outs(%acc0 : tensor<?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x4xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<?x8xf32>, tensor<8x4xf32>) outs(%acc : tensor<?x4xf32>) -> tensor<?x4xf32>
  %r = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<?x4xf32>) outs(%acc0 : tensor<?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>

// A row's maximum and the subtraction that reads it row by row: one region,
// since each tile of rows needs only its rows' maxima. The zero fill read
// by two reductions is cloned, one per reader.
// CHECK-LABEL: func.func @rows
// CHECK: kiln.fusion "reduction" -> tensor<?x10xf32> {
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: kiln.yield
// CHECK: kiln.fusion "reduction" -> tensor<?xf32> {
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: kiln.yield
func.func @rows(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>) -> (tensor<?x10xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x10xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#row, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x10xf32>) outs(%z : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%n) : tensor<?x10xf32>
  %sub = linalg.generic {indexing_maps = [#row, #rowsum, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<?x10xf32>, tensor<?xf32>) outs(%e2 : tensor<?x10xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %s = arith.subf %in, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x10xf32>
  %sum = linalg.generic {indexing_maps = [#row, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<?x10xf32>) outs(%z : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %sub, %sum : tensor<?x10xf32>, tensor<?xf32>
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
#vec = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
#rows = affine_map<(d0, d1) -> (d0)>

// A value every tile would need whole (the sum of a vector, read by every
// row) stays out of its reader's region. A producer also read after the
// region (%neg, returned) joins it, and the region returns it too.
// CHECK-LABEL: func.func @whole
// CHECK: %[[S:.*]] = kiln.fusion "reduction" -> tensor<f32> {
// CHECK: %[[R:.*]]:2 = kiln.fusion "elementwise" -> tensor<?x3xf32>, tensor<?xf32> {
// CHECK-NEXT: %[[NEG:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<?xf32>)
// CHECK: %[[SUB:.*]] = linalg.generic {{.*}} ins(%arg0, %[[S]], %[[NEG]] : tensor<?x3xf32>, tensor<f32>, tensor<?xf32>)
// CHECK: kiln.yield %[[SUB]], %[[NEG]] : tensor<?x3xf32>, tensor<?xf32>
// CHECK-NOT: kiln.fusion
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @whole(%x: tensor<?x3xf32>, %v: tensor<?xf32>) -> (tensor<?x3xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%v : tensor<?xf32>) outs(%z : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<f32>
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %neg = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%v : tensor<?xf32>) outs(%e1 : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.negf %in : f32
    linalg.yield %a : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%n) : tensor<?x3xf32>
  %r = linalg.generic {indexing_maps = [#row, #all, #rows, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s, %neg : tensor<?x3xf32>, tensor<f32>, tensor<?xf32>) outs(%e2 : tensor<?x3xf32>) {
  ^bb0(%in: f32, %m: f32, %g: f32, %out: f32):
    %a = arith.subf %in, %m : f32
    %b = arith.addf %a, %g : f32
    linalg.yield %b : f32
  } -> tensor<?x3xf32>
  return %r, %neg : tensor<?x3xf32>, tensor<?xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#window = affine_map<(d0, d1, d2) -> (d0, d1 * 2 + d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1)>
#k = affine_map<(d0, d1, d2) -> (d2)>

// A window (each output sums two inputs at d1 * 2 + d2) reads its input
// through a sum of loops: its producer stays in a region of its own, since
// a tile of the window needs other columns than the producer's tile.
// CHECK-LABEL: func.func @window
// CHECK: %[[R:.*]] = kiln.fusion "elementwise" -> tensor<?x8xf32> {
// CHECK: kiln.fusion "reduction" -> tensor<?x4xf32> {
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[R]], %arg1 : tensor<?x8xf32>, tensor<2xf32>)
func.func @window(%x: tensor<?x8xf32>, %w: tensor<2xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %e2 = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x4xf32>) -> tensor<?x4xf32>
  %s = linalg.generic {indexing_maps = [#window, #k, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r, %w : tensor<?x8xf32>, tensor<2xf32>) outs(%z : tensor<?x4xf32>) {
  ^bb0(%in: f32, %k: f32, %out: f32):
    %p = arith.mulf %in, %k : f32
    %a = arith.addf %p, %out : f32
    linalg.yield %a : f32
  } -> tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}

// -----

// A window product is a root as a matmul is: the zero fill of its
// accumulator joins it; the image it reads in its body (a ReLU's result)
// stays a region of its own, whole before it.
#ap = affine_map<(d0, d1, d2) -> (d0, d2)>
#ac = affine_map<(d0, d1, d2) -> (d0, d1)>
#img = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @window_product
// CHECK: %[[X:.*]] = kiln.fusion "elementwise" -> tensor<?x1x4x4xf32> {
// CHECK: %[[R:.*]] = kiln.fusion "matmul" -> tensor<2x?xf32> {
// CHECK-NEXT: %[[Z:.*]] = linalg.fill
// CHECK-NEXT: linalg.generic {{.*}} outs(%[[Z]] : tensor<2x?xf32>) attrs = {kiln.window_product
// CHECK: tensor.extract %[[X]]
// CHECK: return %[[R]]
func.func @window_product(%x: tensor<?x1x4x4xf32>, %w: tensor<2x9xf32>, %n: index) -> tensor<2x?xf32> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x1x4x4xf32>
  %e = tensor.empty(%b) : tensor<?x1x4x4xf32>
  %relu = linalg.generic {indexing_maps = [#img, #img], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x1x4x4xf32>) outs(%e : tensor<?x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x1x4x4xf32>
  %acc0 = tensor.empty(%n) : tensor<2x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%acc0 : tensor<2x?xf32>) -> tensor<2x?xf32>
  %y = linalg.generic {indexing_maps = [#ap, #ac], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w : tensor<2x9xf32>) outs(%acc : tensor<2x?xf32>)
      attrs = {kiln.window_product = {kernel = array<i64: 3, 3>, padding = array<i64: 0, 0>, stride = array<i64: 1, 1>}} {
  ^bb0(%in: f32, %out: f32):
    %j = linalg.index 1 : index
    %p = linalg.index 2 : index
    %v = tensor.extract %relu[%c0, %c0, %j, %p] : tensor<?x1x4x4xf32>
    %s = arith.mulf %in, %v : f32
    %t = arith.addf %out, %s : f32
    linalg.yield %t : f32
  } -> tensor<2x?xf32>
  return %y : tensor<2x?xf32>
}
