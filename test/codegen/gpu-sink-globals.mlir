// RUN: kiln-opt %s --split-input-file --verify-diagnostics --kiln-gpu-sink-globals --gpu-kernel-outlining | FileCheck %s

// A literal tensor read by a kernel: its global goes into the GPU module and
// the kernel takes its address there, not the host's as an argument.
// CHECK-LABEL: func.func @literal
// CHECK:         gpu.launch_func @literal_kernel::@literal_kernel
// CHECK-SAME:      args(%{{.*}} : memref<4xf32>)
// CHECK-NOT:     memref<2xf32>
// CHECK:       gpu.module @literal_kernel
// CHECK:         gpu.func @literal_kernel(%{{.*}}: memref<4xf32>) kernel
// CHECK:           memref.get_global @c : memref<2xf32>
// CHECK:         memref.global "private" constant @c : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>
module attributes {gpu.container_module} {
  memref.global "private" constant @c : memref<2xf32> = dense<[1.0, 2.0]>
  func.func @literal(%out: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %g = memref.get_global @c : memref<2xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %i = arith.remui %tx, %c2 : index
      %v = memref.load %g[%i] : memref<2xf32>
      memref.store %v, %out[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}

// -----

// A view of a literal (a reshape, which also reads its shape from a global):
// the view and both globals go into the kernel; only the output is passed.
// CHECK-LABEL: func.func @reshaped
// CHECK:         gpu.launch_func @reshaped_kernel::@reshaped_kernel
// CHECK-SAME:      args(%{{[^ ]*}} : memref<2x2xf32>)
// CHECK:       gpu.module @reshaped_kernel
// CHECK:         gpu.func @reshaped_kernel(%{{.*}}: memref<2x2xf32>) kernel
// CHECK-DAG:       %[[FLAT:.*]] = memref.get_global @flat : memref<4xf32>
// CHECK-DAG:       %[[SHAPE:.*]] = memref.get_global @shape : memref<2xindex>
// CHECK:           memref.reshape %[[FLAT]](%[[SHAPE]])
// CHECK-DAG:     memref.global "private" constant @flat
// CHECK-DAG:     memref.global "private" constant @shape
module attributes {gpu.container_module} {
  memref.global "private" constant @flat : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  memref.global "private" constant @shape : memref<2xindex> = dense<[2, 2]>
  func.func @reshaped(%out: memref<2x2xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %g = memref.get_global @flat : memref<4xf32>
    %s = memref.get_global @shape : memref<2xindex>
    %r = memref.reshape %g(%s) : (memref<4xf32>, memref<2xindex>) -> memref<2x2xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c2, %sz = %c1) {
      %v = memref.load %r[%tx, %ty] : memref<2x2xf32>
      memref.store %v, %out[%tx, %ty] : memref<2x2xf32>
      gpu.terminator
    }
    return
  }
}

// -----

// A global that is not constant may change on the host: an error.
module attributes {gpu.container_module} {
  memref.global "private" @state : memref<2xf32> = dense<[1.0, 2.0]>
  func.func @mutable(%out: memref<2xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    // expected-error @below {{a kernel reads a global that is not a constant}}
    %g = memref.get_global @state : memref<2xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c1, %sz = %c1) {
      %v = memref.load %g[%tx] : memref<2xf32>
      memref.store %v, %out[%tx] : memref<2xf32>
      gpu.terminator
    }
    return
  }
}
