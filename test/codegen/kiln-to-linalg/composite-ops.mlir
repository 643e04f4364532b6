// Lowering has patterns for primitive ops only: a composite op that
// kiln-decompose did not expand is an error that names it.
// RUN: not kiln-opt %s --kiln-lower-to-linalg 2>&1 | FileCheck %s
// RUN: kiln-opt %s --kiln-decompose --kiln-lower-to-linalg | FileCheck %s --check-prefix=DECOMPOSED

// CHECK: error: failed to legalize operation 'kiln.linear'
// DECOMPOSED-NOT: kiln.
// DECOMPOSED: linalg.matmul
func.func @linear(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}
