// kiln-matmul-to-call: f32/f64 linalg.matmul on buffers becomes a call to the
// runtime's GEMM with fully dynamic strided operands (a transposed operand as
// a memref.transpose view); other products stay. The last argument is 1
// (C += A * B), or 0 (C = A * B) when a zero fill of C right before the
// product is dropped.
// RUN: kiln-opt %s --kiln-matmul-to-call | FileCheck %s

// CHECK-DAG: func.func private @kiln_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, index) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_matmul_f64(
// CHECK-DAG: func.func private @kiln_conv_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, index, index, index, index, index, index, index, index) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @products
// CHECK: %[[A:.*]] = memref.cast %arg0 : memref<4x3xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[B:.*]] = memref.cast %arg1
// CHECK: %[[C:.*]] = memref.cast %arg2
// CHECK: %[[ADD:.*]] = arith.constant 1 : index
// CHECK: call @kiln_matmul_f32(%[[A]], %[[B]], %[[C]], %[[ADD]])
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

// Operands read transposed through indexing_maps are passed as transposed
// views (swapped strides): the GEMM reads them in place, nothing is copied.
#mk = affine_map<(m, n, k) -> (m, k)>
#km = affine_map<(m, n, k) -> (k, m)>
#kn = affine_map<(m, n, k) -> (k, n)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#k = affine_map<(m, n, k) -> (k)>
// CHECK-LABEL: func.func @transposed
// CHECK: %[[A:.*]] = memref.cast %arg0 : memref<?x4xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[WT:.*]] = memref.transpose %arg1 (d0, d1) -> (d1, d0) : memref<3x4xf32> to memref<4x3xf32, strided<[1, 4]>>
// CHECK: %[[B:.*]] = memref.cast %[[WT]] : memref<4x3xf32, strided<[1, 4]>> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: call @kiln_matmul_f32(%[[A]], %[[B]], %{{.*}})
// CHECK: %[[DYT:.*]] = memref.transpose %arg3 (d0, d1) -> (d1, d0) : memref<?x3xf32> to memref<3x?xf32, strided<[1, 3]>>
// CHECK: %[[DYTC:.*]] = memref.cast %[[DYT]]
// CHECK: call @kiln_matmul_f32(%[[DYTC]], %{{.*}}, %{{.*}})
// Maps that are not a transpose (a broadcast operand) stay linalg.
// CHECK: linalg.matmul
// CHECK-NOT: call
func.func @transposed(%x: memref<?x4xf32>, %w: memref<3x4xf32>, %y: memref<?x3xf32>, %dy: memref<?x3xf32>,
                      %dw: memref<3x4xf32>, %v: memref<4xf32>, %z: memref<3x3xf32>) {
  linalg.matmul indexing_maps = [#mk, #nk, #mn] ins(%x, %w : memref<?x4xf32>, memref<3x4xf32>) outs(%y : memref<?x3xf32>)
  linalg.matmul indexing_maps = [#km, #kn, #mn] ins(%dy, %x : memref<?x3xf32>, memref<?x4xf32>) outs(%dw : memref<3x4xf32>)
  linalg.matmul indexing_maps = [#mk, #k, #mn] ins(%w, %v : memref<3x4xf32>, memref<4xf32>) outs(%z : memref<3x3xf32>)
  return
}

// A product into zeros writes C: the fill goes. A fill of another value, or
// with an op between it and the product, stays, and the product adds.
// CHECK-LABEL: func.func @into_zeros
// CHECK-NOT: linalg.fill
// CHECK: %[[SET:.*]] = arith.constant 0 : index
// CHECK: call @kiln_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[SET]])
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg3 : memref<4x2xf32>)
// CHECK: %[[ADD:.*]] = arith.constant 1 : index
// CHECK: call @kiln_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[ADD]])
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg4 : memref<4x2xf32>)
// CHECK: memref.copy
// CHECK: %[[ADD2:.*]] = arith.constant 1 : index
// CHECK: call @kiln_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[ADD2]])
func.func @into_zeros(%a: memref<4x3xf32>, %b: memref<3x2xf32>, %c: memref<4x2xf32>,
                      %d: memref<4x2xf32>, %e: memref<4x2xf32>, %f: memref<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x2xf32>)
  linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x2xf32>) outs(%c : memref<4x2xf32>)
  linalg.fill ins(%one : f32) outs(%d : memref<4x2xf32>)
  linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x2xf32>) outs(%d : memref<4x2xf32>)
  linalg.fill ins(%zero : f32) outs(%e : memref<4x2xf32>)
  memref.copy %f, %e : memref<4x2xf32> to memref<4x2xf32>
  linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x2xf32>) outs(%e : memref<4x2xf32>)
  return
}

// A window product (kiln-lower-to-linalg's CPU form of A times im2col,
// here bufferized) calls kiln_conv_matmul with the image it reads and its
// window: kernel, stride, padding, rows, then accumulate; after a zero fill
// the fill goes and the call writes C (accumulate 0). The body is not read:
// the attribute and the image say what the runtime computes.
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @window_products
// CHECK-NOT: linalg.fill
// CHECK: %[[G:.*]] = memref.cast %arg1 : memref<4x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[X:.*]] = memref.cast %arg0 : memref<?x3x8x8xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK: %[[DW:.*]] = memref.cast %arg2 : memref<4x27xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[KH:.*]] = arith.constant 3 : index
// CHECK: %[[KW:.*]] = arith.constant 3 : index
// CHECK: %[[SH:.*]] = arith.constant 1 : index
// CHECK: %[[SW:.*]] = arith.constant 1 : index
// CHECK: %[[PH:.*]] = arith.constant 0 : index
// CHECK: %[[PW:.*]] = arith.constant 0 : index
// CHECK: %[[ROWS:.*]] = arith.constant 1 : index
// CHECK: %[[SET:.*]] = arith.constant 0 : index
// CHECK: call @kiln_conv_matmul_f32(%[[G]], %[[X]], %[[DW]], %[[KH]], %[[KW]], %[[SH]], %[[SW]], %[[PH]], %[[PW]], %[[ROWS]], %[[SET]])
// CHECK-NOT: linalg.generic
func.func @window_products(%x: memref<?x3x8x8xf32>, %g: memref<4x?xf32>, %dw: memref<4x27xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  linalg.fill ins(%zero : f32) outs(%dw : memref<4x27xf32>)
  linalg.generic {indexing_maps = [#a, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g : memref<4x?xf32>) outs(%dw : memref<4x27xf32>)
      attrs = {kiln.window_product = {kernel = array<i64: 3, 3>, padding = array<i64: 0, 0>, rows, stride = array<i64: 1, 1>}} {
  ^bb0(%in: f32, %out: f32):
    %v = memref.load %x[%c0, %c0, %c0, %c0] : memref<?x3x8x8xf32>
    %p = arith.mulf %in, %v : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  }
  return
}
