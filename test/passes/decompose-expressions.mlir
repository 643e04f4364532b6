// kiln-decompose: l1_loss is the mean of the absolute difference, the
// operations of PyTorch's composite l1_loss.
// RUN: kiln-opt %s --kiln-decompose | FileCheck %s

// CHECK-LABEL: func.func @l1_loss
// CHECK: %[[D:.*]] = kiln.sub %arg0, %arg1
// CHECK: %[[A:.*]] = kiln.abs %[[D]]
// CHECK: kiln.mean %[[A]] [] : (tensor<?x3xf32>) -> tensor<f32>
// CHECK-NOT: kiln.l1_loss
func.func @l1_loss(%x: tensor<?x3xf32>, %y: tensor<?x3xf32>) -> tensor<f32> {
  %0 = kiln.l1_loss %x, %y : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
