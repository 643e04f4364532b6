// The folders: casts and reshapes to the same type, identity transposes,
// double negation, constants.
// RUN: kiln-opt %s --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.cast %x : tensor<?x3xf32> to tensor<?x3xf32>
  %1 = kiln.reshape %x : tensor<?x3xf32> to tensor<?x3xf32>
  %2 = kiln.transpose %x [0, 1] : (tensor<?x3xf32>) -> tensor<?x3xf32>
  %n = kiln.neg %x : tensor<?x3xf32>
  %3 = kiln.neg %n : tensor<?x3xf32>
  return %0, %1, %2, %3 : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>
}

// CHECK-LABEL: func.func @kept
// CHECK: kiln.cast
// CHECK: kiln.transpose
// CHECK: kiln.neg
func.func @kept(%x: tensor<2x3xf32>) -> (tensor<2x3xf64>, tensor<3x2xf32>, tensor<2x3xf32>) {
  %0 = kiln.cast %x : tensor<2x3xf32> to tensor<2x3xf64>
  %1 = kiln.transpose %x [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = kiln.neg %x : tensor<2x3xf32>
  return %0, %1, %2 : tensor<2x3xf64>, tensor<3x2xf32>, tensor<2x3xf32>
}

// An unused constant goes; a used one stays.
// CHECK-LABEL: func.func @constants
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: return %[[C]]
func.func @constants() -> tensor<f32> {
  %0 = kiln.constant dense<1.0> : tensor<f32>
  %1 = kiln.constant dense<2.0> : tensor<f32>
  return %1 : tensor<f32>
}
