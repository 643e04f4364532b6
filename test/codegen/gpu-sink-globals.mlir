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
