// kiln-interchange-windows: a pooling window's kernel loops move outside the
// last parallel loop, (n, c, oh, ow, kh, kw) -> (n, c, oh, kh, kw, ow), so
// the innermost loop walks an output row; the body's linalg.index follow
// their loops. Reductions that are not small windows, outputs not written
// along the last parallel loop, and ops that read no window stay.
// RUN: kiln-opt %s --kiln-interchange-windows | FileCheck %s

#in = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
#kernel = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
#out = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
#outT = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d2)>
#rows = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rowOut = affine_map<(d0, d1, d2) -> (d0, d1)>
#rowWin = affine_map<(d0, d1, d2) -> (d0, d1 + d2)>

// Max pooling 2x2 with its argmax: the window loops (now d3, d4) are read
// at d2 * 2 + d3 and d5 * 2 + d4, the outputs at (d0, d1, d2, d5); the
// argmax's kh and kw are linalg.index 3 and 4.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d3, d5 * 2 + d4)>
// CHECK-DAG: #[[KERNEL:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-DAG: #[[KH:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3)>
// CHECK-DAG: #[[KW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4)>
// CHECK-LABEL: func.func @max_pool(
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[KERNEL]], #[[OUT]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK: affine.apply #[[KH]]
// CHECK: affine.apply #[[KW]]
func.func @max_pool(%x: memref<?x16x28x28xf32>, %k: memref<2x2xi8>, %best: memref<?x16x14x14xf32>, %at: memref<?x16x14x14xi64>) {
  linalg.generic {indexing_maps = [#in, #kernel, #out, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %k : memref<?x16x28x28xf32>, memref<2x2xi8>) outs(%best, %at : memref<?x16x14x14xf32>, memref<?x16x14x14xi64>) {
  ^bb0(%v: f32, %unused: i8, %b: f32, %a: i64):
    %kh = linalg.index 4 : index
    %kw = linalg.index 5 : index
    %c2 = arith.constant 2 : index
    %r = arith.muli %kh, %c2 : index
    %f = arith.addi %r, %kw : index
    %i = arith.index_cast %f : index to i64
    %gt = arith.cmpf ogt, %v, %b : f32
    %m = arith.select %gt, %v, %b : f32
    %w = arith.select %gt, %i, %a : i64
    linalg.yield %m, %w : f32, i64
  }
  return
}

// Stay: an output written transposed (not along the last parallel loop), a
// window of 17 (longer than a kernel side), a reduction over a dynamic
// size, and a reduction that reads no window.
// CHECK-LABEL: func.func @stay(
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
func.func @stay(%x: memref<?x16x28x28xf32>, %k: memref<2x2xi8>, %t: memref<?x16x14x14xf32>,
                %a: memref<4x40xf32>, %k17: memref<4x24x17xf32>, %o: memref<4x24xf32>,
                %d: memref<4x24x?xf32>, %o2: memref<4x24xf32>, %e: memref<4x24x3xf32>) {
  linalg.generic {indexing_maps = [#in, #kernel, #outT], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %k : memref<?x16x28x28xf32>, memref<2x2xi8>) outs(%t : memref<?x16x14x14xf32>) {
  ^bb0(%v: f32, %unused: i8, %b: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#rowWin, #rows, #rowOut], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %k17 : memref<4x40xf32>, memref<4x24x17xf32>) outs(%o : memref<4x24xf32>) {
  ^bb0(%v: f32, %unused: f32, %b: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#rows, #rowOut], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d : memref<4x24x?xf32>) outs(%o2 : memref<4x24xf32>) {
  ^bb0(%v: f32, %b: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#rows, #rowOut], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : memref<4x24x3xf32>) outs(%o2 : memref<4x24xf32>) {
  ^bb0(%v: f32, %b: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  return
}
