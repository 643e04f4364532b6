// kiln-interchange-reductions: a reduction into few static outputs whose
// parallel loops have reduction loops inside them runs the parallel loops
// innermost, each kind of loop in its own order: a conv's bias gradient
// (n, c, h, w) -> (n, h, w, c). The body's linalg.index follow their loops.
// RUN: kiln-opt %s --kiln-interchange-reductions | FileCheck %s

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#channel = affine_map<(d0, d1, d2, d3) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#column = affine_map<(d0, d1) -> (d1)>

// The bias gradient: the input is read at (d0, d3, d1, d2), the sums at d3;
// linalg.index 1 (the channel) is now loop 3, the same map as the sums'.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-LABEL: func.func @bias_grad(
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
// CHECK: affine.apply #[[OUT]]
func.func @bias_grad(%g: memref<?x16x28x28xf32>, %sum: memref<16xf64>) {
  linalg.generic {indexing_maps = [#nchw, #channel], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%g : memref<?x16x28x28xf32>) outs(%sum : memref<16xf64>) {
  ^bb0(%v: f32, %s: f64):
    %c = linalg.index 1 : index
    %w = arith.extf %v : f32 to f64
    %r = arith.addf %s, %w : f64
    linalg.yield %r : f64
  }
  return
}

// Stay: row sums over a dynamic number of rows (outputs not static), a
// reduction with no reduction inside a parallel loop (already parallel
// innermost), and one into more than 256 outputs.
// CHECK-LABEL: func.func @stay(
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: iterator_types = ["parallel", "reduction"]
func.func @stay(%x: memref<?x10xf32>, %rowsum: memref<?xf32>, %colsum: memref<10xf32>,
                %wide: memref<300x4xf32>, %widesum: memref<300xf32>) {
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x10xf32>) outs(%rowsum : memref<?xf32>) {
  ^bb0(%v: f32, %s: f32):
    %r = arith.addf %s, %v : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#rows, #column], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x10xf32>) outs(%colsum : memref<10xf32>) {
  ^bb0(%v: f32, %s: f32):
    %r = arith.addf %s, %v : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%wide : memref<300x4xf32>) outs(%widesum : memref<300xf32>) {
  ^bb0(%v: f32, %s: f32):
    %r = arith.addf %s, %v : f32
    linalg.yield %r : f32
  }
  return
}
