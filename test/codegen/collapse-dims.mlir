// kiln-collapse-dims: an element-wise op on buffers runs its contiguous
// trailing loops as one loop; windows, index arithmetic and operands whose
// strides do not allow it stay as they are.
// RUN: kiln-opt %s --kiln-collapse-dims | FileCheck %s

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#t2 = affine_map<(d0, d1) -> (d1, d0)>
#win = affine_map<(d0, d1, d2, d3) -> (d0, d1 + d2, d3)>
#out4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// The image conversion: [N, 28, 28] becomes [N, 784]; a per-row operand
// (d0) keeps its shape.
// CHECK-LABEL: func.func @pixels(
// CHECK: %[[X:.*]] = memref.collapse_shape %arg0 {{\[\[}}0], [1, 2]] : memref<?x28x28xi8> into memref<?x784xi8>
// CHECK: %[[Y:.*]] = memref.collapse_shape %arg2 {{\[\[}}0], [1, 2]] : memref<?x28x28xf32> into memref<?x784xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %arg1 : memref<?x784xi8>, memref<?xf32>) outs(%[[Y]] : memref<?x784xf32>)
func.func @pixels(%x: memref<?x28x28xi8>, %s: memref<?xf32>, %y: memref<?x28x28xf32>) {
  linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %s : memref<?x28x28xi8>, memref<?xf32>) outs(%y : memref<?x28x28xf32>) {
  ^bb0(%in: i8, %scale: f32, %out: f32):
    %f = arith.uitofp %in : i8 to f32
    %r = arith.divf %f, %scale : f32
    linalg.yield %r : f32
  }
  return
}

// A bias broadcast along rows reads d1 only: no run of two loops is
// contiguous in it, so the op stays; so does a transposed operand, a window
// (d1 + d2) and an op that reads its indices.
// CHECK-LABEL: func.func @stay(
// CHECK-NOT: memref.collapse_shape
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : memref<?x256xf32>, memref<256xf32>) outs(%arg2 : memref<?x256xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg3 : memref<4x8xf32>) outs(%arg4 : memref<8x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg5 : memref<2x9x3xf32>) outs(%arg6 : memref<2x7x3x3xf32>)
// CHECK: linalg.index
func.func @stay(%h: memref<?x256xf32>, %b: memref<256xf32>, %o: memref<?x256xf32>,
                %t: memref<4x8xf32>, %tt: memref<8x4xf32>,
                %img: memref<2x9x3xf32>, %cols: memref<2x7x3x3xf32>, %idx: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%h, %b : memref<?x256xf32>, memref<256xf32>) outs(%o : memref<?x256xf32>) {
  ^bb0(%a: f32, %c: f32, %out: f32):
    %r = arith.addf %a, %c : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x8xf32>) outs(%tt : memref<8x4xf32>) {
  ^bb0(%a: f32, %out: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#win, #out4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%img : memref<2x9x3xf32>) outs(%cols : memref<2x7x3x3xf32>) {
  ^bb0(%a: f32, %out: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%idx : memref<4x4xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 1 : index
    %n = arith.index_cast %i : index to i32
    %f = arith.sitofp %n : i32 to f32
    linalg.yield %f : f32
  }
  return
}
