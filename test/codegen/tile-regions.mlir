// kiln-tile-regions: each region's last op is tiled over rows of its first
// loop into an scf.forall, with the region's other ops (but products) fused
// into every tile; then the regions are gone.
// RUN: kiln-opt %s --split-input-file --kiln-form-regions --kiln-tile-regions | FileCheck %s

#row = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>

// Rows of 10 elements: 1638 rows a tile (about 16K elements). The row
// maxima are computed inside the tile, for its rows only.
// CHECK-LABEL: func.func @rows
// CHECK-NOT: kiln.fusion
// CHECK: scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (1638) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<?x10xf32>)
// CHECK: tensor.extract_slice %arg0[%[[I]], 0] [%{{.*}}, 10] [1, 1]
// CHECK: linalg.fill
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<?x10xf32>)
// CHECK: %[[SUB:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[MAX]] : tensor<?x10xf32>, tensor<?xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[SUB]] into %[[OUT]][%[[I]], 0]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rows(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
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
  return %sub : tensor<?x10xf32>
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// A product is not tiled (the runtime's GEMM splits it); its epilogue is,
// 16 rows of 1024 a tile. A result of one tile or less (8 rows) is not.
// CHECK-LABEL: func.func @epilogue
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<1024xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%arg0, %arg1 : {{.*}}) outs(%[[ACC]] : tensor<?x1024xf32>)
// CHECK: scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (16)
// CHECK: tensor.extract_slice %[[M]][%[[I]], 0]
// CHECK: arith.maximumf
// CHECK: scf.forall.in_parallel
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg3 : tensor<8x1024xf32>)
// CHECK-NOT: scf.forall
// CHECK: return
func.func @epilogue(%x: tensor<?x8xf32>, %w: tensor<8x1024xf32>, %b: tensor<1024xf32>,
                    %small: tensor<8x1024xf32>) -> (tensor<?x1024xf32>, tensor<8x1024xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %acc0 = tensor.empty(%n) : tensor<?x1024xf32>
  %acc = linalg.generic {indexing_maps = [#col, #row], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<1024xf32>) outs(%acc0 : tensor<?x1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x1024xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x1024xf32>) outs(%acc : tensor<?x1024xf32>) -> tensor<?x1024xf32>
  %r = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<?x1024xf32>) outs(%acc0 : tensor<?x1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x1024xf32>
  %e = tensor.empty() : tensor<8x1024xf32>
  %s = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%small : tensor<8x1024xf32>) outs(%e : tensor<8x1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x1024xf32>
  return %r, %s : tensor<?x1024xf32>, tensor<8x1024xf32>
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>

// A producer the region also returns (exp, read after the region) is
// computed once, in the tiles, and the loop returns its tiles too; the
// loop's bound reads the destination's size, so no untiled copy of either
// op is left.
// CHECK-LABEL: func.func @returned
// CHECK: %[[LOOP:.*]]:2 = scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (1638) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?xf32>, tensor<?x10xf32>)
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[EXP]] : tensor<?x10xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[SUM]]
// CHECK-NEXT: tensor.parallel_insert_slice %[[EXP]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[LOOP]]#0, %[[LOOP]]#1
func.func @returned(%x: tensor<?x10xf32>) -> (tensor<?xf32>, tensor<?x10xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x10xf32>
  %e = tensor.empty(%n) : tensor<?x10xf32>
  %exp = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x10xf32>) outs(%e : tensor<?x10xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = math.exp %in : f32
    linalg.yield %y : f32
  } -> tensor<?x10xf32>
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#row, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<?x10xf32>) outs(%z : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %sum, %exp : tensor<?xf32>, tensor<?x10xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d1)>

// A sum whose first loop reduces (a bias's gradient: over the batch and the
// positions, per channel) gets its parallel loop first, the reduction loops
// after it in their order (each channel is summed in the same order), and
// is tiled over channels: 64 a tile, the batch counting as 32 samples.
// CHECK-LABEL: func.func @bias_grad
// CHECK: scf.forall (%[[I:.*]]) = (0) to (512) step (64)
// CHECK: tensor.extract_slice %arg0[0, %[[I]], 0] [%{{.*}}, 64, 8] [1, 1, 1]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]
// CHECK: scf.forall.in_parallel
func.func @bias_grad(%g: tensor<?x512x8xf32>) -> tensor<512xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<512xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<512xf32>) -> tensor<512xf32>
  %s = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "parallel", "reduction"]}
      ins(%g : tensor<?x512x8xf32>) outs(%z : tensor<512xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<512xf32>
  return %s : tensor<512xf32>
}
