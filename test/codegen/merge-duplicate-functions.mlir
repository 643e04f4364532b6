// kiln-merge-duplicate-functions: a private function equal to an earlier one
// (type and body; locations do not count) is erased and its uses name the
// earlier one. A different constant, type or a public function stays.
// RUN: kiln-opt %s --kiln-merge-duplicate-functions | FileCheck %s

// CHECK-LABEL: func.func private @forward_tile0(
// CHECK-NOT: func.func private @train_step_tile3(
// CHECK-LABEL: func.func private @train_step_tile4(
// CHECK: arith.constant 3.000000e+00
// CHECK-LABEL: func.func private @train_step_tile5(
// CHECK-SAME: memref<?xf64>
// CHECK-LABEL: func.func @forward(
// CHECK: kiln.parallel_for @forward_tile0(
// CHECK-LABEL: func.func @train_step(
// CHECK: kiln.parallel_for @forward_tile0(
// CHECK: kiln.parallel_for @train_step_tile4(
// CHECK: call @train_step_tile5(
// CHECK-LABEL: func.func @public_copy(
func.func private @forward_tile0(%t: index, %x: memref<?xf32>) {
  %c = arith.constant 2.0 : f32
  memref.store %c, %x[%t] : memref<?xf32>
  return
}
func.func private @train_step_tile3(%t: index, %x: memref<?xf32>) {
  %c = arith.constant 2.0 : f32 loc("elsewhere")
  memref.store %c, %x[%t] : memref<?xf32>
  return
}
func.func private @train_step_tile4(%t: index, %x: memref<?xf32>) {
  %c = arith.constant 3.0 : f32
  memref.store %c, %x[%t] : memref<?xf32>
  return
}
func.func private @train_step_tile5(%t: index, %x: memref<?xf64>) {
  %c = arith.constant 2.0 : f64
  memref.store %c, %x[%t] : memref<?xf64>
  return
}
func.func @forward(%x: memref<?xf32>, %n: index) {
  kiln.parallel_for @forward_tile0(%n) captures(%x) : memref<?xf32>
  return
}
func.func @train_step(%x: memref<?xf32>, %y: memref<?xf64>, %n: index) {
  kiln.parallel_for @train_step_tile3(%n) captures(%x) : memref<?xf32>
  kiln.parallel_for @train_step_tile4(%n) captures(%x) : memref<?xf32>
  call @train_step_tile5(%n, %y) : (index, memref<?xf64>) -> ()
  return
}
// An entry point equal to a private function keeps its name.
func.func @public_copy(%t: index, %x: memref<?xf32>) {
  %c = arith.constant 2.0 : f32
  memref.store %c, %x[%t] : memref<?xf32>
  return
}
