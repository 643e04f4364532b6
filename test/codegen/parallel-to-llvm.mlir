// kiln-parallel-to-llvm: kiln.parallel_for becomes kiln_parallel_for(task,
// context, tasks); the captures are stored in stack slots made in the
// caller's entry block, and the task passes them to the tile function's C
// interface (a buffer by its descriptor's address, a size by value). The
// tile function and its C interface are called through the task alone:
// internal, so LLVM inlines them into it and keeps no other copy.
// RUN: kiln-opt %s --llvm-request-c-wrappers --finalize-memref-to-llvm --convert-arith-to-llvm --convert-func-to-llvm --kiln-parallel-to-llvm --reconcile-unrealized-casts | FileCheck %s

// CHECK-LABEL: llvm.func @kiln_parallel_for(!llvm.ptr, !llvm.ptr, i64)
// CHECK-LABEL: llvm.func internal @scale_tile0_task(%arg0: !llvm.ptr, %arg1: i64)
// CHECK: %[[E0:.*]] = llvm.getelementptr %arg0[0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<2 x ptr>
// CHECK: %[[S0:.*]] = llvm.load %[[E0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[N:.*]] = llvm.load %[[S0]] : !llvm.ptr -> i64
// CHECK: %[[E1:.*]] = llvm.getelementptr %arg0[0, 1]
// CHECK: %[[S1:.*]] = llvm.load %[[E1]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @_mlir_ciface_scale_tile0(%arg1, %[[N]], %[[S1]]) : (i64, i64, !llvm.ptr) -> ()
// CHECK-NEXT: llvm.return
// CHECK: llvm.func internal @scale_tile0(
// CHECK: llvm.func internal @_mlir_ciface_scale_tile0(
func.func private @scale_tile0(%i: index, %n: index, %x: memref<?xf32>) {
  return
}

// CHECK-LABEL: llvm.func @scale(
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK-NEXT: %[[CONTEXT:.*]] = llvm.alloca %[[ONE]] x !llvm.array<2 x ptr>
// CHECK-NEXT: %[[SLOT0:.*]] = llvm.alloca %[[ONE]] x i64
// CHECK-NEXT: %[[SLOT1:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK: llvm.store %{{.*}}, %[[SLOT0]] : i64, !llvm.ptr
// CHECK: llvm.store %[[SLOT0]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %{{.*}}, %[[SLOT1]] : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, !llvm.ptr
// CHECK: %[[TASK:.*]] = llvm.mlir.addressof @scale_tile0_task : !llvm.ptr
// CHECK: llvm.call @kiln_parallel_for(%[[TASK]], %[[CONTEXT]], %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64) -> ()
func.func @scale(%x: memref<?xf32>, %tiles: index, %n: index) {
  kiln.parallel_for @scale_tile0(%tiles) captures(%n, %x) : index, memref<?xf32>
  return
}
