// kiln-gpu-scalar-kernels: the host's scalar code between kernels becomes a
// 0-d linalg.generic (kiln-gpu-map-loops makes it a one-thread kernel): a
// store with the loads and pure ops that compute its value and that nothing
// else uses (the batch size's conversion included). Values the host also
// uses stay outside, as the kernel's arguments; a load's address stays
// outside as a 0-d view.
// RUN: kiln-opt %s --kiln-gpu-scalar-kernels | FileCheck %s

// A mean's division: load the sum, divide by the batch, store the loss.
// CHECK-LABEL: func.func @mean(
// CHECK: %[[SUM:.*]] = memref.subview %arg0[0] [1] [1] : memref<1xf64> to memref<f64, strided<[]>>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = []} ins(%[[SUM]] : memref<f64, strided<[]>>) outs(%arg1 : memref<f32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f64, %{{.*}}: f32):
// CHECK: %[[N:.*]] = arith.sitofp
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[IN]], %[[N]] : f64
// CHECK-NEXT: %[[T:.*]] = arith.truncf %[[Q]] : f64 to f32
// CHECK-NEXT: linalg.yield %[[T]] : f32
// CHECK-NOT: memref.load
// CHECK: return
func.func @mean(%sum: memref<1xf64>, %loss: memref<f32>, %x: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %d = memref.dim %x, %c0 : memref<?x4xf32>
  %i = arith.index_cast %d : index to i64
  %n = arith.sitofp %i : i64 to f64
  %s = memref.load %sum[%c0] : memref<1xf64>
  %q = arith.divf %s, %n : f64
  %t = arith.truncf %q : f64 to f32
  memref.store %t, %loss[] : memref<f32>
  return
}

// Stay on the host: a store into a stack slot; a load from a global (host
// memory: the kernel gets the loaded value); a store whose value the host
// also returns (its load and division stay, the store alone becomes a
// kernel of the host value); a store with a call between its load and it.
// CHECK-LABEL: func.func @stay(
// CHECK: memref.store %{{.*}}, %[[SLOT:.*]][] : memref<f32>
// CHECK: %[[G:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK: linalg.generic {{.*}} outs(%arg1 : memref<f32>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32):
// CHECK-NEXT: %[[H:.*]] = arith.negf %[[G]]
// CHECK-NEXT: linalg.yield %[[H]] : f32
// CHECK: %[[V:.*]] = memref.load %arg0[] : memref<f32>
// CHECK: %[[W:.*]] = arith.negf %[[V]]
// CHECK: linalg.generic {{.*}} outs(%arg1 : memref<f32>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[W]] : f32
// CHECK: %[[U:.*]] = memref.load %arg0[] : memref<f32>
// CHECK: call @touch(%arg0)
// CHECK: memref.store %[[U]], %arg1[] : memref<f32>
func.func private @touch(memref<f32>)
memref.global "private" constant @half : memref<f32> = dense<0.5>
func.func @stay(%a: memref<f32>, %b: memref<f32>) -> f32 {
  %slot = memref.alloca() : memref<f32>
  %one = arith.constant 1.0 : f32
  memref.store %one, %slot[] : memref<f32>
  %g = memref.get_global @half : memref<f32>
  %gv = memref.load %g[] : memref<f32>
  %gn = arith.negf %gv : f32
  memref.store %gn, %b[] : memref<f32>
  %v = memref.load %a[] : memref<f32>
  %w = arith.negf %v : f32
  memref.store %w, %b[] : memref<f32>
  %u = memref.load %a[] : memref<f32>
  call @touch(%a) : (memref<f32>) -> ()
  memref.store %u, %b[] : memref<f32>
  return %w : f32
}

// In a host loop (the RNN's steps): each iteration's store is a kernel.
// CHECK-LABEL: func.func @loop(
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : memref<f32, strided<[], offset: ?>>) outs(%{{.*}} : memref<f32, strided<[], offset: ?>>)
// CHECK: arith.mulf
func.func @loop(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %a[%i] : memref<8xf32>
    %m = arith.mulf %v, %two : f32
    memref.store %m, %b[%i] : memref<8xf32>
  }
  return
}
