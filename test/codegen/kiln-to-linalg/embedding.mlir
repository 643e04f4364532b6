// Embedding and its gradient: a gather, and a deterministic scatter-add
// loop; an index out of range is clamped for the access and gives NaN.
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg="scatter-by-owner=true" --split-input-file | FileCheck %s --check-prefix=OWNER

// embedding of u8 indices widens them unsigned, clamps each into [0, num)
// for the read, and selects NaN where it was out of range.
// CHECK-LABEL: func.func @embedding
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]{{.*}} ins(%arg0 : tensor<?x4xi8>) outs(%{{.*}} : tensor<?x4x3xf32>)
// CHECK: arith.extui %{{.*}} : i8 to i64
// CHECK: %[[VALID:.*]] = arith.andi
// CHECK: %[[ROW:.*]] = arith.select %[[VALID]]
// CHECK: %[[COL:.*]] = linalg.index 2
// CHECK: %[[V:.*]] = tensor.extract %arg1[%[[ROW]], %[[COL]]] : tensor<7x3xf32>
// CHECK: %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK: arith.select %[[VALID]], %[[V]], %[[NAN]]
func.func @embedding(%ids: tensor<?x4xui8>, %w: tensor<7x3xf32>) -> tensor<?x4x3xf32> {
  %0 = kiln.embedding %ids, %w : (tensor<?x4xui8>, tensor<7x3xf32>) -> tensor<?x4x3xf32>
  return %0 : tensor<?x4x3xf32>
}

// -----

// embedding_grad: zeros, then one position after another (an scf.for over
// the flattened indices) adds its gradient row onto its index's row, read
// and written as slices of the carried tensor (in place once bufferized);
// NaN is added where the index was out of range.
// CHECK-LABEL: func.func @embedding_grad
// CHECK: %[[IDS:.*]] = tensor.reshape %arg1({{.*}}) : (tensor<?x4xi64>, tensor<1xindex>) -> tensor<?xi64>
// CHECK: %[[ROWS:.*]] = tensor.reshape %arg0({{.*}}) : (tensor<?x4x3xf32>, tensor<2xindex>) -> tensor<?x3xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<7x3xf32>
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (tensor<7x3xf32>)
// CHECK: %[[T:.*]] = tensor.extract %[[IDS]][%[[P]]]
// CHECK: %[[VALID:.*]] = arith.andi
// CHECK: %[[ROW:.*]] = arith.select %[[VALID]]
// CHECK: %[[FROM:.*]] = tensor.extract_slice %[[ROWS]][%[[P]], 0] [1, 3] [1, 1] : tensor<?x3xf32> to tensor<3xf32>
// CHECK: %[[ONTO:.*]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[FROM]] : tensor<3xf32>) outs(%[[ONTO]] : tensor<3xf32>)
// CHECK: arith.select %[[VALID]]
// CHECK: arith.addf
// CHECK: %[[NEXT:.*]] = tensor.insert_slice %[[SUM]] into %[[ACC]][%[[ROW]], 0] [1, 3] [1, 1]
// CHECK: scf.yield %[[NEXT]]
// With scatter-by-owner (what --target cuda lowers with): no loop; one
// generic over the table's [7, 3] elements and the positions, the positions
// last (a reduction). An element adds a position's gradient (NaN if its
// index is out of range) only where the clamped index is its row: the
// loop's additions, in the loop's order.
// OWNER: // -----
// OWNER-DAG: #[[IDMAP:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2)>
// OWNER-DAG: #[[GMAP:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// OWNER-DAG: #[[OUTMAP:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// OWNER-LABEL: func.func @embedding_grad
// OWNER-NOT: scf.for
// OWNER: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<7x3xf32>
// OWNER: linalg.generic {indexing_maps = [#[[IDMAP]], #[[GMAP]], #[[OUTMAP]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<?xi64>, tensor<?x3xf32>) outs(%[[ZERO]] : tensor<7x3xf32>)
// OWNER-NEXT: ^bb0(%[[T:.*]]: i64, %[[G:.*]]: f32, %[[ACC:.*]]: f32):
// OWNER: %[[VALID:.*]] = arith.andi
// OWNER: %[[ROW:.*]] = arith.select %[[VALID]]
// OWNER: %[[MINE:.*]] = arith.cmpi eq, %[[ROW]], %{{.*}} : index
// OWNER: %[[GV:.*]] = arith.select %[[VALID]], %[[G]], %{{.*}} : f32
// OWNER: %[[SUM:.*]] = arith.addf %[[ACC]], %[[GV]] : f32
// OWNER: %[[NEXT:.*]] = arith.select %[[MINE]], %[[SUM]], %[[ACC]] : f32
// OWNER: linalg.yield %[[NEXT]] : f32
// OWNER-NOT: scf.for
func.func @embedding_grad(%g: tensor<?x4x3xf32>, %ids: tensor<?x4xi64>) -> tensor<7x3xf32> {
  %0 = kiln.embedding_grad %g, %ids : (tensor<?x4x3xf32>, tensor<?x4xi64>) -> tensor<7x3xf32>
  return %0 : tensor<7x3xf32>
}
