// kiln-plan-memory: each buffer with its dealloc in its block becomes a
// view of the runtime's workspace, at an offset that no buffer alive at the
// same time overlaps; sizes are constants or a constant times the batch.
// RUN: kiln-opt %s --kiln-plan-memory | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0)[s0] -> (-d0 + s0, 4)>

// The module records the largest fixed part (@reuse's) and the largest
// part per sample (@per_sample's), each with one thread's tile workspace.
// CHECK: module attributes {kiln.workspace = {fixed_bytes = 8128 : i64, per_sample_bytes = 1024 : i64}}
// CHECK-DAG: func.func private @kiln_workspace(index, index) -> memref<?xi8> attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_reserve_tile_workspaces(index) attributes {llvm.emit_c_interface}

// %a and %b are alive at the same time, %c only after %a is freed: %c
// reuses %a's bytes. Sizes are rounded up to 64 bytes.
// CHECK-LABEL: func.func @reuse(
// CHECK-NOT: memref.alloc
// CHECK: %[[BYTES:.*]] = arith.constant 8128 : index
// CHECK: %[[WS:.*]] = call @kiln_workspace(%c0{{.*}}, %[[BYTES]])
// CHECK: memref.view %[[WS]][%c0{{.*}}][] : memref<?xi8> to memref<1024xf32>
// CHECK: memref.view %[[WS]][%c4096{{.*}}][] : memref<?xi8> to memref<1000xf32>
// CHECK: memref.view %[[WS]][%c0{{.*}}][] : memref<?xi8> to memref<16xi8>
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @reuse(%out: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %a = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<1024xf32>)
  linalg.fill ins(%zero : f32) outs(%b : memref<1000xf32>)
  memref.dealloc %a : memref<1024xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xi8>
  %v = memref.load %b[%c0] : memref<1000xf32>
  memref.store %v, %out[] : memref<f32>
  memref.dealloc %b : memref<1000xf32>
  memref.dealloc %c : memref<16xi8>
  return
}

// Sizes proportional to the batch (the input's first dimension, seen
// through the arithmetic bufferization leaves) go after the fixed stretch,
// at offsets that are multiples of the batch: workspace = 64 + 1024 * N.
// %y is only copied into the out-parameter %out at the end: it is computed
// in %out instead. The scalar buffer inside the loop is freed in the loop's
// body: it gets a slot too, reused by every iteration.
// CHECK-LABEL: func.func @per_sample(
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0{{.*}} : memref<?x28xf32>
// CHECK: %[[PER:.*]] = arith.muli %c1024{{.*}}, %[[N]]
// CHECK: %[[TOTAL:.*]] = arith.addi %c64{{.*}}, %[[PER]]
// CHECK: %[[WS:.*]] = call @kiln_workspace(%c0{{.*}}, %[[TOTAL]])
// CHECK: %[[OFF:.*]] = arith.muli %c0{{.*}}, %[[N]]
// CHECK: %[[AT:.*]] = arith.addi %c64{{.*}}, %[[OFF]]
// CHECK: %[[H:.*]] = memref.view %[[WS]][%[[AT]]][%{{.*}}] : memref<?xi8> to memref<?x256xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[H]] : memref<?x256xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2 : memref<?x10xf32>)
// CHECK: scf.for
// CHECK: memref.view %[[WS]][%c0{{.*}}][] : memref<?xi8> to memref<f64>
// CHECK-NOT: memref.copy
// A product of two sizes that both vary is left to the heap.
// CHECK: memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK: memref.dealloc %{{.*}} : memref<?x?xf32>
func.func @per_sample(%x: memref<?x28xf32>, %m: index, %out: memref<?x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c28 = arith.constant 28 : index
  %zero = arith.constant 0.0 : f32
  %n0 = memref.dim %x, %c0 : memref<?x28xf32>
  %flat = arith.muli %n0, %c28 : index
  %n = arith.divui %flat, %c28 : index
  %h = memref.alloc(%n) {alignment = 64 : i64} : memref<?x256xf32>
  %y = memref.alloc(%n) {alignment = 64 : i64} : memref<?x10xf32>
  linalg.fill ins(%zero : f32) outs(%h : memref<?x256xf32>)
  linalg.fill ins(%zero : f32) outs(%y : memref<?x10xf32>)
  memref.dealloc %h : memref<?x256xf32>
  scf.for %i = %c0 to %c28 step %c1 {
    %s = memref.alloc() {alignment = 64 : i64} : memref<f64>
    memref.dealloc %s : memref<f64>
  }
  memref.copy %y, %out : memref<?x10xf32> to memref<?x10xf32>
  memref.dealloc %y : memref<?x10xf32>
  %q = memref.alloc(%n, %m) {alignment = 64 : i64} : memref<?x?xf32>
  memref.dealloc %q : memref<?x?xf32>
  return
}

// A buffer inside a parallel loop lives in one tile, and tiles run at the
// same time: it goes into the per-thread workspace (slot 1), at its largest
// size (4 rows of 16 f32, from the affine.min) and a per-batch part. Before
// the loop, the calling thread grows every thread's workspace to that size.
// CHECK-LABEL: func.func @tiles(
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0{{.*}}
// CHECK: %[[PER:.*]] = arith.muli %c64{{.*}}, %[[N]]
// CHECK: %[[TOTAL:.*]] = arith.addi %c256{{.*}}, %[[PER]]
// CHECK: call @kiln_reserve_tile_workspaces(%[[TOTAL]])
// CHECK: scf.forall
// CHECK: %[[WS:.*]] = func.call @kiln_workspace(%c1{{.*}}, %[[TOTAL]])
// CHECK: memref.view %[[WS]][%c0{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x16xf32>
// CHECK: memref.view %[[WS]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x8xf32>
// CHECK-NOT: memref.dealloc
// CHECK: }
func.func @tiles(%x: memref<?x16xf32>, %y: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  scf.forall (%i) = (0) to (%n) step (4) {
    %rows = affine.min #rows(%i)[%n]
    %t = memref.alloc(%rows) {alignment = 64 : i64} : memref<?x16xf32>
    %u = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
    linalg.fill ins(%zero : f32) outs(%t : memref<?x16xf32>)
    linalg.fill ins(%zero : f32) outs(%u : memref<?x8xf32>)
    memref.dealloc %t : memref<?x16xf32>
    memref.dealloc %u : memref<?x8xf32>
  }
  return
}

// A buffer freed somewhere else than its block (ownership moved through a
// branch) is left to the heap.
// CHECK-LABEL: func.func @elsewhere(
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<8xf32>
// CHECK: scf.if
// CHECK: memref.dealloc
func.func @elsewhere(%cond: i1) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<8xf32>
  scf.if %cond {
    memref.dealloc %a : memref<8xf32>
  }
  return
}

// A reshape's shape operand (indices the host stores, read back by the
// reshape as sizes) becomes a stack slot in the entry block, its dealloc
// gone: in a cuda executable the workspace is device memory, and the host's
// stores there would wait for the kernels. An index buffer with another
// reader stays in the plan.
// CHECK-LABEL: func.func @shape(
// CHECK: %[[SLOT:.*]] = memref.alloca() : memref<2xindex>
// CHECK: memref.store %{{.*}}, %[[SLOT]][%{{.*}}] : memref<2xindex>
// CHECK: memref.reshape %arg0(%[[SLOT]])
// CHECK: %[[OTHER:.*]] = memref.view
// CHECK: memref.load %[[OTHER]]
// CHECK-NOT: memref.dealloc
func.func @shape(%x: memref<?xf32>, %n: index) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %s = memref.alloc() : memref<2xindex>
  memref.store %n, %s[%c0] : memref<2xindex>
  memref.store %c1, %s[%c1] : memref<2xindex>
  %r = memref.reshape %x(%s) : (memref<?xf32>, memref<2xindex>) -> memref<?x1xf32>
  memref.dealloc %s : memref<2xindex>
  %o = memref.alloc() : memref<2xindex>
  memref.store %n, %o[%c0] : memref<2xindex>
  %v = memref.load %o[%c0] : memref<2xindex>
  memref.dealloc %o : memref<2xindex>
  return %v : index
}

// A size read off a buffer the function made, not off an argument (a dim of
// a reshaped argument, of another planned buffer), is traced back to the
// batch: both buffers are planned.
// CHECK-LABEL: func.func @traced_dims(
// CHECK-NOT: memref.alloc
// CHECK: %[[A:.*]] = memref.view %{{.*}} to memref<?x2x2xf32>
// CHECK: %[[B:.*]] = memref.view %{{.*}} to memref<?x8xf32>
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @traced_dims(%x: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %e = memref.expand_shape %x [[0], [1, 2]] output_shape [%n, 2, 2] : memref<?x4xf32> into memref<?x2x2xf32>
  %m = memref.dim %e, %c0 : memref<?x2x2xf32>
  %a = memref.alloc(%m) {alignment = 64 : i64} : memref<?x2x2xf32>
  %k = memref.dim %a, %c0 : memref<?x2x2xf32>
  %b = memref.alloc(%k) {alignment = 64 : i64} : memref<?x8xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<?x2x2xf32>)
  linalg.fill ins(%zero : f32) outs(%b : memref<?x8xf32>)
  memref.dealloc %a : memref<?x2x2xf32>
  memref.dealloc %b : memref<?x8xf32>
  return
}
