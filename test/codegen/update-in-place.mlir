// kiln-update-in-place and kiln-drop-updated-results: a train step computes
// each new parameter, buffer and optimizer state in its argument's buffer,
// and only the loss is left a result.
// RUN: kiln-opt %s --kiln-update-in-place | FileCheck %s --check-prefix=TENSOR
// The self-copies one-shot bufferization leaves (a tile written back onto
// itself, the argument onto itself) go with CSE and canonicalization, as
// they do in the pipeline.
// RUN: kiln-opt %s --kiln-update-in-place --cse --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --kiln-drop-updated-results --cse --canonicalize | FileCheck %s

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>

// A weight updated in two tiles of 4 rows (as kiln-tile-regions leaves an
// update), its momentum untiled, a buffer that keeps its value.
// TENSOR-LABEL: func.func @train_step(
// TENSOR-SAME: %[[W:[a-z0-9]+]]: tensor<8x4xf32>
// TENSOR-SAME: %[[M:[a-z0-9]+]]: tensor<8x4xf32>
// TENSOR: %[[NEWM:.*]] = linalg.generic {{.*}} outs(%[[M]] : tensor<8x4xf32>)
// TENSOR: %[[NEWW:.*]] = scf.forall (%[[I:.*]]) = (0) to (8) step (4) shared_outs(%[[S:.*]] = %[[W]])
// TENSOR:   tensor.extract_slice %[[S]][%[[I]], 0] [4, 4] [1, 1]
// TENSOR:   tensor.extract_slice %[[NEWM]][%[[I]], 0]
// TENSOR:   tensor.extract_slice %[[S]][%[[I]], 0] [4, 4] [1, 1]
// TENSOR: %[[MW:.*]] = bufferization.materialize_in_destination %[[NEWW]] in %[[W]]
// TENSOR: %[[MM:.*]] = bufferization.materialize_in_destination %[[NEWM]] in %[[M]]
// TENSOR: return %[[MW]], %{{[a-z0-9]+}}, %[[MM]], %{{.*}} :

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<8x4xf32> {kiln.role = #kiln.param<"w", zeros>}
// CHECK-SAME: %[[B:[a-z0-9]+]]: memref<4xf32> {kiln.role = #kiln.buffer<"b", ones>}
// CHECK-SAME: %[[M:[a-z0-9]+]]: memref<8x4xf32> {kiln.role = #kiln.state<"w.momentum_buffer">}
// CHECK-SAME: -> (memref<f32> {kiln.role = #kiln.loss})
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: linalg.generic {{.*}} outs(%[[M]] : memref<8x4xf32>)
// CHECK: scf.forall
// CHECK:   %[[TILE:.*]] = memref.subview %[[W]]
// CHECK:   linalg.generic {{.*}} ins(%[[TILE]], {{.*}}) outs(%[[TILE]] :
// CHECK-NOT: memref.copy
// CHECK: return %{{.*}} : memref<f32>
func.func @train_step(%w: tensor<8x4xf32> {kiln.role = #kiln.param<"w", zeros>},
                      %b: tensor<4xf32> {kiln.role = #kiln.buffer<"b", ones>},
                      %m: tensor<8x4xf32> {kiln.role = #kiln.state<"w.momentum_buffer">},
                      %g: tensor<8x4xf32> {kiln.role = #kiln.input<"g">},
                      %lr: tensor<f32> {kiln.role = #kiln.input<"lr">})
    -> (tensor<8x4xf32> {kiln.role = #kiln.param<"w">},
        tensor<4xf32> {kiln.role = #kiln.buffer<"b">},
        tensor<8x4xf32> {kiln.role = #kiln.state<"w.momentum_buffer">},
        tensor<f32> {kiln.role = #kiln.loss})
    attributes {kiln.entry = #kiln.entry<train_step>} {
  %cst = arith.constant 0.9 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %newm = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%m, %g : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%mi: f32, %gi: f32, %o: f32):
    %s = arith.mulf %mi, %cst : f32
    %t = arith.addf %s, %gi : f32
    linalg.yield %t : f32
  } -> tensor<8x4xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %neww = scf.forall (%i) = (0) to (8) step (4) shared_outs(%out = %e2) -> (tensor<8x4xf32>) {
    %wt = tensor.extract_slice %w[%i, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
    %mt = tensor.extract_slice %newm[%i, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
    %ot = tensor.extract_slice %out[%i, 0] [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
    %r = linalg.generic {indexing_maps = [#id2, #id2, affine_map<(d0, d1) -> ()>, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%wt, %mt, %lr : tensor<4x4xf32>, tensor<4x4xf32>, tensor<f32>) outs(%ot : tensor<4x4xf32>) {
    ^bb0(%wi: f32, %mi: f32, %l: f32, %o: f32):
      %s = arith.mulf %l, %mi : f32
      %t = arith.subf %wi, %s : f32
      linalg.yield %t : f32
    } -> tensor<4x4xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %r into %out[%i, 0] [4, 4] [1, 1] : tensor<4x4xf32> into tensor<8x4xf32>
    }
  }
  %loss = tensor.empty() : tensor<f32>
  %l = linalg.fill ins(%cst : f32) outs(%loss : tensor<f32>) -> tensor<f32>
  return %neww, %b, %newm, %l : tensor<8x4xf32>, tensor<4xf32>, tensor<8x4xf32>, tensor<f32>
}
