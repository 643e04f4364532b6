// kiln-forall-to-threads: a bufferized scf.forall becomes a tile function
// and a kiln.parallel_for over the number of tiles.
// RUN: kiln-opt %s --kiln-forall-to-threads | FileCheck %s

#rows = affine_map<(d0)[s0] -> (-d0 + s0, 4)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// The body reads the tile's rows (from the induction variable and %n) and
// two buffers; the constant 0.0 is cloned into the tile function.
// CHECK-LABEL: func.func private @relu_rows_tile0(
// CHECK-SAME: %[[T:[^:]*]]: index, %[[LB:[^:]*]]: index, %[[STEP:[^:]*]]: index, %[[N:[^:]*]]: index, %[[X:[^:]*]]: memref<?x16xf32>, %[[Y:[^:]*]]: memref<?x16xf32>)
// Constant bounds are constants inside (the arguments stay, unused).
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[OFFSET:.*]] = arith.muli %[[T]], %[[C4]]
// CHECK: %[[I:.*]] = arith.addi %[[C0]], %[[OFFSET]]
// CHECK: affine.min #{{.*}}(%[[I]])[%[[N]]]
// CHECK: memref.subview %[[X]][%[[I]], 0]
// CHECK: arith.maximumf %{{.*}}, %[[ZERO]]
// CHECK: return
// CHECK-LABEL: func.func @relu_rows(
// CHECK-NOT: scf.forall
// CHECK: %[[DIM:.*]] = memref.dim %arg0
// CHECK: %[[SPAN:.*]] = arith.subi %[[DIM]], %[[C0:.*]] : index
// CHECK: %[[TILES:.*]] = arith.ceildivsi %[[SPAN]], %[[C4:.*]] : index
// CHECK: kiln.parallel_for @relu_rows_tile0(%[[TILES]]) captures(%[[C0]], %[[C4]], %[[DIM]], %arg0, %arg1) : index, index, index, memref<?x16xf32>, memref<?x16xf32>
// CHECK-NEXT: return
func.func @relu_rows(%x: memref<?x16xf32>, %y: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  scf.forall (%i) = (0) to (%n) step (4) {
    %rows = affine.min #rows(%i)[%n]
    %xs = memref.subview %x[%i, 0] [%rows, 16] [1, 1]
        : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
    %ys = memref.subview %y[%i, 0] [%rows, 16] [1, 1]
        : memref<?x16xf32> to memref<?x16xf32, strided<[16, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%xs : memref<?x16xf32, strided<[16, 1], offset: ?>>)
        outs(%ys : memref<?x16xf32, strided<[16, 1], offset: ?>>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.maximumf %in, %zero : f32
      linalg.yield %m : f32
    }
  }
  return
}
