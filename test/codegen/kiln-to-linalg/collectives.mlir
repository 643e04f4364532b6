// kiln.all_reduce_mean: the operands of one element type are written into
// one flat buffer, the runtime reduces it in place over the processes, the
// results are slices of it; one buffer and call per element type (the
// share as a read-only 0-d buffer, which the runtime reads only when it
// reduces). The buffer and its windows (each shaped as its operand) open
// the function, so that eliminate-empty-tensors can compute a gradient in
// its window.
// RUN: kiln-opt %s --kiln-lower-to-linalg | FileCheck %s

// CHECK-DAG: func.func private @kiln_all_reduce_mean_f32(memref<?xf32>, memref<f64>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_all_reduce_mean_f64(memref<?xf64>, memref<f64>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @grads
// CHECK: %[[BUF64:.*]] = memref.alloc() : memref<2xf64>
// CHECK: %[[W64:.*]] = memref.subview %[[BUF64]][0] [2] [1]
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<13xf32>
// CHECK: %[[W0:.*]] = memref.subview %[[BUF]][0] [12] [1]
// CHECK: %[[G:.*]] = memref.expand_shape %[[W0]] {{\[\[}}0, 1]] output_shape [3, 4] : memref<12xf32, strided<[1]>> into memref<3x4xf32>
// CHECK: %[[W1:.*]] = memref.subview %[[BUF]][12] [1] [1]
// CHECK: %[[L:.*]] = memref.collapse_shape %[[W1]] [] : memref<1xf32, strided<[1], offset: 12>> into memref<f32, strided<[], offset: 12>>
// CHECK: %[[SHARE:.*]] = bufferization.to_buffer %arg3 read_only : tensor<f64> to memref<f64>
// CHECK: bufferization.materialize_in_destination %arg0 in restrict writable %[[G]]
// CHECK: bufferization.materialize_in_destination %arg1 in restrict writable %[[L]]
// CHECK: %[[DYN:.*]] = memref.cast %[[BUF]] : memref<13xf32> to memref<?xf32>
// CHECK: call @kiln_all_reduce_mean_f32(%[[DYN]], %[[SHARE]])
// CHECK: %[[ALL:.*]] = bufferization.to_tensor %[[BUF]] restrict writable
// CHECK: %[[S0:.*]] = tensor.extract_slice %[[ALL]][0] [12] [1]
// CHECK: tensor.expand_shape %[[S0]] {{\[\[}}0, 1]] output_shape [3, 4]
// CHECK: %[[S1:.*]] = tensor.extract_slice %[[ALL]][12] [1] [1]
// CHECK: tensor.collapse_shape %[[S1]] [] : tensor<1xf32> into tensor<f32>
// CHECK: bufferization.materialize_in_destination %arg2 in restrict writable %[[W64]]
// CHECK: call @kiln_all_reduce_mean_f64
func.func @grads(%g: tensor<3x4xf32>, %loss: tensor<f32>, %v: tensor<2xf64>, %share: tensor<f64>)
    -> (tensor<3x4xf32>, tensor<f32>, tensor<2xf64>) {
  %r:3 = kiln.all_reduce_mean %g, %loss, %v share %share : tensor<3x4xf32>, tensor<f32>, tensor<2xf64>
  return %r#0, %r#1, %r#2 : tensor<3x4xf32>, tensor<f32>, tensor<2xf64>
}
