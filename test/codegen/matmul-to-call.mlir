// kiln-matmul-to-call: f32/f64 linalg.matmul on buffers becomes a call to the
// runtime's GEMM with fully dynamic strided operands; other products stay.
// RUN: kiln-opt %s --kiln-matmul-to-call | FileCheck %s

// CHECK-DAG: func.func private @kiln_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_matmul_f64(
// CHECK-LABEL: func.func @products
// CHECK: %[[A:.*]] = memref.cast %arg0 : memref<4x3xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[B:.*]] = memref.cast %arg1
// CHECK: %[[C:.*]] = memref.cast %arg2
// CHECK: call @kiln_matmul_f32(%[[A]], %[[B]], %[[C]])
// CHECK: call @kiln_matmul_f64(
// Integer products have no GEMM: they stay linalg (and become loops).
// CHECK: linalg.matmul ins(%arg6, %arg7 : memref<2x2xi32>, memref<2x2xi32>)
// CHECK-NOT: linalg.matmul
func.func @products(%a: memref<4x3xf32>, %b: memref<3x?xf32>, %c: memref<4x?xf32>,
                    %d: memref<2x2xf64>, %e: memref<2x2xf64>, %f: memref<2x2xf64>,
                    %g: memref<2x2xi32>, %h: memref<2x2xi32>, %i: memref<2x2xi32>) {
  linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x?xf32>) outs(%c : memref<4x?xf32>)
  linalg.matmul ins(%d, %e : memref<2x2xf64>, memref<2x2xf64>) outs(%f : memref<2x2xf64>)
  linalg.matmul ins(%g, %h : memref<2x2xi32>, memref<2x2xi32>) outs(%i : memref<2x2xi32>)
  return
}

// A product on tensors is left for bufferization.
// CHECK-LABEL: func.func @on_tensors
// CHECK: linalg.matmul
func.func @on_tensors(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>, %c: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<2x2xf32>, tensor<2x2xf32>) outs(%c : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
