// kiln-merge-parallel-loops: neighbouring loops (and untiled ops) on buffers
// that do not depend on each other become one scf.forall over all their
// tiles; a tile runs the body of the loop that owns it.
// RUN: kiln-opt %s --kiln-merge-parallel-loops | FileCheck %s

#rows = affine_map<(d0) -> (-d0 + 10, 4)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>

// Three updates: a tiled one (3 tiles of 4 rows), an untiled one (1 tile)
// and another tiled one (2 tiles of 1 row). The dealloc between them moves
// after the loop, the subview before it.
// CHECK-LABEL: func.func @updates(
// CHECK: %[[V:.*]] = memref.subview %arg4[0] [8] [1]
// CHECK: %[[T0:.*]] = arith.ceildivsi %{{.*}}, %c4{{.*}}
// CHECK: %[[S1:.*]] = arith.addi %c0{{.*}}, %[[T0]]
// CHECK: %[[S2:.*]] = arith.addi %[[S1]], %c1{{.*}}
// CHECK: %[[T2:.*]] = arith.ceildivsi %{{.*}}, %c1{{.*}}
// CHECK: %[[ALL:.*]] = arith.addi %[[S2]], %[[T2]]
// CHECK: scf.forall (%[[I:.*]]) in (%[[ALL]]) {
// CHECK:   %[[IN0:.*]] = arith.cmpi slt, %[[I]], %[[S1]]
// CHECK:   scf.if %[[IN0]] {
// CHECK:     %[[K0:.*]] = arith.subi %[[I]], %c0
// CHECK:     %[[M0:.*]] = arith.muli %[[K0]], %c4
// CHECK:     %[[IV0:.*]] = arith.addi %c0{{.*}}, %[[M0]]
// CHECK:     affine.min #{{.*}}(%[[IV0]])
// CHECK:     linalg.generic
// CHECK:   } else {
// CHECK:     %[[IN1:.*]] = arith.cmpi slt, %[[I]], %[[S2]]
// CHECK:     scf.if %[[IN1]] {
// CHECK:       linalg.generic {{.*}} outs(%arg3 : memref<8xf32>)
// CHECK:     } else {
// CHECK:       %[[K2:.*]] = arith.subi %[[I]], %[[S2]]
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : memref<1x3xf32, strided<[3, 1], offset: ?>>)
// CHECK: memref.dealloc %arg6
// CHECK-NOT: scf.forall
// CHECK: return
func.func @updates(%w: memref<10x5xf32>, %g: memref<10x5xf32>, %nw: memref<10x5xf32>,
                   %b: memref<8xf32>, %gb: memref<16xf32>, %v: memref<2x3xf32>, %tmp: memref<4xf32>,
                   %nv: memref<2x3xf32>) {
  scf.forall (%i) = (0) to (10) step (4) {
    %rows = affine.min #rows(%i)
    %sw = memref.subview %w[%i, 0] [%rows, 5] [1, 1] : memref<10x5xf32> to memref<?x5xf32, strided<[5, 1], offset: ?>>
    %sn = memref.subview %nw[%i, 0] [%rows, 5] [1, 1] : memref<10x5xf32> to memref<?x5xf32, strided<[5, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%sw : memref<?x5xf32, strided<[5, 1], offset: ?>>) outs(%sn : memref<?x5xf32, strided<[5, 1], offset: ?>>) {
    ^bb0(%x: f32, %y: f32):
      linalg.yield %x : f32
    }
  }
  memref.dealloc %tmp : memref<4xf32>
  %gv = memref.subview %gb[0] [8] [1] : memref<16xf32> to memref<8xf32, strided<[1]>>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%gv : memref<8xf32, strided<[1]>>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  scf.forall (%i) = (0) to (2) step (1) {
    %sv = memref.subview %v[%i, 0] [1, 3] [1, 1] : memref<2x3xf32> to memref<1x3xf32, strided<[3, 1], offset: ?>>
    %sn = memref.subview %nv[%i, 0] [1, 3] [1, 1] : memref<2x3xf32> to memref<1x3xf32, strided<[3, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%sv : memref<1x3xf32, strided<[3, 1], offset: ?>>) outs(%sn : memref<1x3xf32, strided<[3, 1], offset: ?>>) {
    ^bb0(%x: f32, %y: f32):
      linalg.yield %x : f32
    }
  }
  return
}

// The second loop reads what the first writes (through a view of it): they
// stay two loops. Two untiled ops alone stay as they are.
// CHECK-LABEL: func.func @dependent(
// CHECK: scf.forall
// CHECK: scf.forall
// CHECK-NOT: scf.forall
// CHECK: linalg.fill
// CHECK: linalg.fill
func.func @dependent(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>, %d: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) = (0) to (8) step (4) {
    %sb = memref.subview %b[%i] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: ?>>
    linalg.fill ins(%zero : f32) outs(%sb : memref<4xf32, strided<[1], offset: ?>>)
  }
  %view = memref.subview %b[0] [8] [1] : memref<8xf32> to memref<8xf32, strided<[1]>>
  scf.forall (%i) = (0) to (8) step (4) {
    %sv = memref.subview %view[%i] [4] [1] : memref<8xf32, strided<[1]>> to memref<4xf32, strided<[1], offset: ?>>
    %sc = memref.subview %c[%i] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: ?>>
    memref.copy %sv, %sc : memref<4xf32, strided<[1], offset: ?>> to memref<4xf32, strided<[1], offset: ?>>
  }
  func.call @opaque() : () -> ()
  linalg.fill ins(%zero : f32) outs(%a : memref<8xf32>)
  linalg.fill ins(%zero : f32) outs(%d : memref<4xf32>)
  return
}
func.func private @opaque()

// Inside a loop's body the loops merge too (the body's terminator stays last).
// CHECK-LABEL: func.func @in_a_loop(
// CHECK: scf.for
// CHECK: scf.forall
// CHECK: scf.if
// CHECK-NOT: scf.forall
// CHECK: return
func.func @in_a_loop(%a: memref<8xf32>, %b: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  scf.for %t = %c0 to %c3 step %c1 {
    scf.forall (%i) = (0) to (8) step (4) {
      %sa = memref.subview %a[%i] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: ?>>
      linalg.fill ins(%zero : f32) outs(%sa : memref<4xf32, strided<[1], offset: ?>>)
    }
    scf.forall (%i) = (0) to (8) step (4) {
      %sb = memref.subview %b[%i] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: ?>>
      linalg.fill ins(%zero : f32) outs(%sb : memref<4xf32, strided<[1], offset: ?>>)
    }
  }
  return
}

// A product's zero fill right before the product stays out of the merged
// loop (kiln-matmul-to-call drops it and has the GEMM overwrite); the fill of
// another buffer merges with the loop before it.
// CHECK-LABEL: func.func @product_fill(
// CHECK: scf.forall
// CHECK:   linalg.fill ins(%{{.*}} : f32) outs(%subview
// CHECK:   linalg.fill ins(%{{.*}} : f32) outs(%arg4 :
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%arg2 :
// CHECK-NEXT: linalg.matmul
func.func @product_fill(%a: memref<8x4xf32>, %b: memref<4x8xf32>, %c: memref<8x8xf32>,
                        %d: memref<8xf32>, %e: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) = (0) to (8) step (4) {
    %sd = memref.subview %d[%i] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: ?>>
    linalg.fill ins(%zero : f32) outs(%sd : memref<4xf32, strided<[1], offset: ?>>)
  }
  linalg.fill ins(%zero : f32) outs(%e : memref<8xf32>)
  linalg.fill ins(%zero : f32) outs(%c : memref<8x8xf32>)
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x8xf32>) outs(%c : memref<8x8xf32>)
  return
}
