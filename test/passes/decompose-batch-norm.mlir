// kiln-decompose writes batch norm as PyTorch's CPU kernel computes it:
// per channel alpha = weight * invstd, beta = bias - mean * alpha, then
// x * alpha + beta; in train mode the batch's mean and biased variance
// normalize and the running statistics move by momentum towards the mean
// and the unbiased variance.
// RUN: kiln-opt %s --kiln-decompose | FileCheck %s

// CHECK-LABEL: func.func @eval
// CHECK: %[[SUM:.*]] = kiln.add %arg4, %{{.*}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK: %[[ROOT:.*]] = kiln.sqrt %[[SUM]]
// CHECK: %[[INV:.*]] = kiln.div %{{.*}}, %[[ROOT]]
// CHECK: %[[ALPHA:.*]] = kiln.mul %arg1, %[[INV]]
// CHECK: %[[MA:.*]] = kiln.mul %arg3, %[[ALPHA]]
// CHECK: %[[BETA:.*]] = kiln.sub %arg2, %[[MA]]
// CHECK: %[[A4:.*]] = kiln.reshape %[[ALPHA]] : tensor<4xf32> to tensor<1x4x1x1xf32>
// CHECK: %[[XA:.*]] = kiln.mul %arg0, %[[A4]]
// CHECK: %[[B4:.*]] = kiln.reshape %[[BETA]] : tensor<4xf32> to tensor<1x4x1x1xf32>
// CHECK: kiln.add %[[XA]], %[[B4]]
// CHECK-NOT: kiln.batch_norm
func.func @eval(%x: tensor<?x4x5x5xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %n: tensor<i64>) -> tensor<?x4x5x5xf32> {
  %0 = kiln.batch_norm %x, %w, %b, %m, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> tensor<?x4x5x5xf32>
  return %0 : tensor<?x4x5x5xf32>
}

// CHECK-LABEL: func.func @train
// CHECK: %[[SUMX:.*]] = kiln.sum %arg0 [0, 2, 3] : (tensor<?x4x5x5xf32>) -> tensor<4xf32>
// CHECK: %[[MEAN:.*]] = kiln.div %[[SUMX]], %[[COUNT:.*]] : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK: %[[SQ:.*]] = kiln.sum %{{.*}} [0, 2, 3]
// CHECK: %[[VAR:.*]] = kiln.div %[[SQ]], %[[COUNT]]
// CHECK: %[[COUNT1:.*]] = kiln.sub %[[COUNT]], %{{.*}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK: %[[UNB:.*]] = kiln.div %[[SQ]], %[[COUNT1]]
// CHECK: %[[MM:.*]] = kiln.mul %[[MEAN]], %{{.*}}
// CHECK: %[[MR:.*]] = kiln.mul %arg3, %{{.*}}
// CHECK: %[[NEWM:.*]] = kiln.add %[[MM]], %[[MR]]
// CHECK: %[[VM:.*]] = kiln.mul %[[UNB]], %{{.*}}
// CHECK: %[[NEWN:.*]] = kiln.add %arg5, %{{.*}} : (tensor<i64>, tensor<i64>) -> tensor<i64>
// CHECK: return %{{.*}}, %[[NEWM]], %{{.*}}, %[[NEWN]]
func.func @train(%x: tensor<?x4x5x5xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %n: tensor<i64>) -> (tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) {
  %y, %m2, %v2, %n2 = kiln.batch_norm_train %x, %w, %b, %m, %v, %n {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64} : (tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> (tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  return %y, %m2, %v2, %n2 : tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>
}
