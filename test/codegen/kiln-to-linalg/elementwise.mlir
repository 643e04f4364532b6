// Element-wise ops: one linalg.generic each, broadcasting as indexing maps.
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

// Integers use the integer arithmetic: sub, mul, neg (0 - x), abs, relu
// (a signed max), and relu of u8 compares unsigned.
// CHECK-LABEL: func.func @integers
// CHECK: arith.subi
// CHECK: arith.muli
// CHECK: arith.subi %c0_i32
// CHECK: math.absi
// CHECK: arith.maxsi
// CHECK: arith.maxui
func.func @integers(%a: tensor<4xi32>, %b: tensor<4xi32>, %u: tensor<4xui8>) -> (tensor<4xi32>, tensor<4xui8>) {
  %0 = kiln.sub %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %1 = kiln.mul %0, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %2 = kiln.neg %1 : tensor<4xi32>
  %3 = kiln.abs %2 : tensor<4xi32>
  %4 = kiln.relu %3 : tensor<4xi32>
  %5 = kiln.relu %u : tensor<4xui8>
  return %4, %5 : tensor<4xi32>, tensor<4xui8>
}

// -----

// Floats: each function its math op; sigmoid is 1 / (1 + exp(-x)), silu
// x / (1 + exp(-x)) as ATen computes it.
// CHECK-LABEL: func.func @floats
// CHECK: arith.negf
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: math.tanh
// CHECK: math.exp
// CHECK: math.log
// CHECK: math.sqrt
// CHECK: math.log1p
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @floats(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.neg %x : tensor<?x3xf32>
  %1 = kiln.abs %0 : tensor<?x3xf32>
  %2 = kiln.relu %1 : tensor<?x3xf32>
  %3 = kiln.sigmoid %2 : tensor<?x3xf32>
  %4 = kiln.tanh %3 : tensor<?x3xf32>
  %5 = kiln.exp %4 : tensor<?x3xf32>
  %6 = kiln.log %5 : tensor<?x3xf32>
  %7 = kiln.sqrt %6 : tensor<?x3xf32>
  %8 = kiln.log1p %7 : tensor<?x3xf32>
  %9 = kiln.silu %8 : tensor<?x3xf32>
  return %9 : tensor<?x3xf32>
}

// -----

// The gradient helpers: sign is -1, 0 or 1; relu_grad passes grad where
// the input is positive.
// CHECK-LABEL: func.func @gradient_helpers
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: arith.select
// CHECK: linalg.generic
// CHECK: arith.cmpf ogt
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst
func.func @gradient_helpers(%x: tensor<?x3xf32>, %g: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.sign %x : tensor<?x3xf32>
  %1 = kiln.relu_grad %x, %g : tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// Constants keep their bits (u8 as i8); fill reads the batch from its size
// operand; broadcast_like reads its sizes off `like`.
// CHECK-LABEL: func.func @constants
// CHECK: arith.constant dense<[1, -1]> : tensor<2xi8>
// CHECK: %[[Z:.*]] = tensor.empty(%arg0) : tensor<?x3xf32>
// CHECK: linalg.fill ins(%cst{{.*}} : f32) outs(%[[Z]] : tensor<?x3xf32>)
// CHECK: %[[N:.*]] = tensor.dim %arg2, %c0
// CHECK: tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<3xf32>)
func.func @constants(%n: index, %b: tensor<3xf32>, %like: tensor<?x3xf32>) -> (tensor<2xui8>, tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.constant dense<[1, 255]> : tensor<2xui8>
  %1 = kiln.fill 2.500000e+00 sizes(%n) : tensor<?x3xf32>
  %2 = kiln.broadcast_like %b, %like : (tensor<3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0, %1, %2 : tensor<2xui8>, tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// dropout: the identity without a seed; with one, a splitmix64 hash of the
// seed, salt and row-major index, kept when its top 24 bits reach p * 2^24
// (2^23 for p = 0.5), scaled by 1 / (1 - p). The seed is the generic's 0-d
// input, read inside it (on the GPU, by the kernel).
// CHECK-LABEL: func.func @dropout
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}]{{.*}} ins(%arg0, %arg1 : tensor<?x4xf32>, tensor<f64>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %[[SEED:.*]]: f64, %{{.*}}: f32):
// CHECK-NEXT: arith.fptoui %[[SEED]] : f64 to i64
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

// -----

// dropout with an offset (data parallelism): the hash's key moves by offset
// times the elements of one sample (4 here), so element i of this batch is
// element offset * 4 + i of the global batch.
// CHECK-LABEL: func.func @dropout_offset
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %arg2 : tensor<?x4xf32>, tensor<f64>, tensor<f64>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %[[SEED:.*]]: f64, %[[OFFSET:.*]]: f64, %{{.*}}: f32):
// CHECK: %[[SEEDKEY:.*]] = arith.addi %{{.*}}, %{{.*}} : i64
// CHECK: %[[PER:.*]] = arith.index_cast %c4 : index to i64
// CHECK: %[[PER1:.*]] = arith.muli %{{.*}}, %[[PER]] : i64
// CHECK: %[[FIRST:.*]] = arith.fptoui %[[OFFSET]] : f64 to i64
// CHECK: %[[SHIFT:.*]] = arith.muli %[[FIRST]], %[[PER1]] : i64
// CHECK: %[[KEY:.*]] = arith.addi %[[SEEDKEY]], %[[SHIFT]] : i64
// CHECK: arith.addi %[[KEY]], %{{.*}} : i64
func.func @dropout_offset(%x: tensor<?x4xf32>, %seed: tensor<f64>, %offset: tensor<f64>) -> tensor<?x4xf32> {
  %0 = kiln.dropout %x, 0.5 seed %seed offset %offset salt 3 : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
