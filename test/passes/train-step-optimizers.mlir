// kiln-train-step's other optimizers and gradient clipping, in torch.optim's
// order of operations.
// RUN: split-file %s %t
// RUN: kiln-opt %t/adamw.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=ADAMW
// RUN: kiln-opt %t/rmsprop.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=RMS
// RUN: kiln-opt %t/nesterov.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=NAG
// RUN: kiln-opt %t/clip.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=CLIP

//--- adamw.mlir
// AdamW: the parameter decays by (1 - lr * weight_decay), computed in f64,
// before Adam's update; the gradient is left alone.
// ADAMW-LABEL: func.func @train_step
// ADAMW-SAME: %[[P:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %{{.*}}: tensor<4xf32> {kiln.role = #kiln.state<"p.exp_avg">}, %{{.*}}: tensor<4xf32> {kiln.role = #kiln.state<"p.exp_avg_sq">}, %[[LR:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<lr>}
// ADAMW: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f64>
// ADAMW: %[[WD:.*]] = kiln.constant dense<1.000000e-01> : tensor<f64>
// ADAMW: %[[LRWD:.*]] = kiln.mul %[[LR]], %[[WD]] : (tensor<f64>, tensor<f64>) -> tensor<f64>
// ADAMW: %[[KEEP:.*]] = kiln.sub %[[ONE]], %[[LRWD]]
// ADAMW: %[[KEEP32:.*]] = kiln.cast %[[KEEP]] : tensor<f64> to tensor<f32>
// ADAMW: %[[DECAYED:.*]] = kiln.mul %[[P]], %[[KEEP32]]
// ADAMW-NOT: kiln.mul %[[P]]
// ADAMW: %[[NEXT:.*]] = kiln.add %[[DECAYED]], %{{.*}} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// ADAMW: return %[[NEXT]],
module attributes {kiln.train = #kiln.train<AdamW, lr = 0.001, weight_decay = 0.1>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

//--- rmsprop.mlir
// RMSprop with momentum: square_avg and momentum_buffer per parameter;
// avg = sqrt(square_avg) + eps; buf = buf * momentum + grad / avg.
// RMS-LABEL: func.func @train_step
// RMS-SAME: %[[P:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %[[SQ:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.square_avg">}, %[[BUF:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.momentum_buffer">}, %[[LR:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<lr>}
// RMS: %[[G:.*]] = kiln.sum %{{.*}} [0]
// RMS: %[[R:[a-z0-9_]+]]:2 = kiln.all_reduce_mean %[[G]], %{{.*}} share
// RMS: %[[ALPHA:.*]] = kiln.constant dense<0.899999976> : tensor<f32>
// RMS: %[[SQ1:.*]] = kiln.mul %[[SQ]], %[[ALPHA]]
// RMS: %[[G1:.*]] = kiln.mul %{{.*}}, %[[R]]#0
// RMS: %[[G2:.*]] = kiln.mul %[[G1]], %[[R]]#0
// RMS: %[[SQ2:.*]] = kiln.add %[[SQ1]], %[[G2]]
// RMS: %[[ROOT:.*]] = kiln.sqrt %[[SQ2]]
// RMS: %[[AVG:.*]] = kiln.add %[[ROOT]], %{{.*}}
// RMS: %[[B1:.*]] = kiln.mul %[[BUF]], %{{.*}}
// RMS: %[[Q:.*]] = kiln.div %[[R]]#0, %[[AVG]]
// RMS: %[[B2:.*]] = kiln.add %[[B1]], %[[Q]]
// RMS: %[[STEP:.*]] = kiln.mul %{{.*}}, %[[B2]]
// RMS: %[[NEXT:.*]] = kiln.add %[[P]], %[[STEP]]
// RMS: return %[[NEXT]], %[[SQ2]], %[[B2]],
module attributes {kiln.train = #kiln.train<RMSprop, lr = 0.01, alpha = 0.9, momentum = 0.5>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

//--- nesterov.mlir
// SGD's nesterov: the step is grad + momentum * buf, the buffer as always.
// NAG-LABEL: func.func @train_step
// NAG-SAME: %[[P:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %[[BUF:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.momentum_buffer">}
// NAG: %[[G:.*]] = kiln.sum %{{.*}} [0]
// NAG: %[[R:[a-z0-9_]+]]:2 = kiln.all_reduce_mean %[[G]], %{{.*}} share
// NAG: %[[MOM:.*]] = kiln.constant dense<0.899999976> : tensor<f32>
// NAG: %[[B1:.*]] = kiln.mul %[[BUF]], %[[MOM]]
// NAG: %[[B2:.*]] = kiln.add %[[B1]], %[[R]]#0
// NAG: %[[LOOK:.*]] = kiln.mul %[[B2]], %{{.*}}
// NAG: %[[D:.*]] = kiln.add %[[R]]#0, %[[LOOK]]
// NAG: %[[STEP:.*]] = kiln.mul %{{.*}}, %[[D]]
// NAG: %[[NEXT:.*]] = kiln.add %[[P]], %[[STEP]]
// NAG: return %[[NEXT]], %[[B2]],
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, momentum = 0.9, nesterov = true>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

//--- clip.mlir
// clip_grad_norm: the total 2-norm over both parameters' gradients, then
// each gradient times min(max_norm / (norm + 1e-6), 1) before the update.
// CLIP-LABEL: func.func @train_step
// CLIP: %[[GP:.*]] = kiln.sum %{{.*}} [0] : (tensor<?x4xf32>) -> tensor<4xf32>
// CLIP: %[[R:[a-z0-9_]+]]:3 = kiln.all_reduce_mean %[[GP]], %{{.*}}, %{{.*}} share
// CLIP: %[[SP:.*]] = kiln.mul %[[R]]#0, %[[R]]#0
// CLIP: %[[NP:.*]] = kiln.sum %[[SP]] [] : (tensor<4xf32>) -> tensor<f32>
// CLIP: %[[NP64:.*]] = kiln.cast %[[NP]] : tensor<f32> to tensor<f64>
// CLIP: %[[SQ:.*]] = kiln.mul %[[R]]#1, %[[R]]#1 : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CLIP: %[[NQ:.*]] = kiln.sum %[[SQ]] []
// CLIP: %[[NQ64:.*]] = kiln.cast %[[NQ]] : tensor<f32> to tensor<f64>
// CLIP: %[[TOTAL:.*]] = kiln.add %[[NP64]], %[[NQ64]]
// CLIP: %[[MAX:.*]] = kiln.constant dense<2.500000e-01> : tensor<f64>
// CLIP: %[[NORM:.*]] = kiln.sqrt %[[TOTAL]] : tensor<f64>
// CLIP: %[[TINY:.*]] = kiln.constant dense<9.9999999999999995E-7> : tensor<f64>
// CLIP: %[[DEN:.*]] = kiln.add %[[NORM]], %[[TINY]]
// CLIP: %[[COEF:.*]] = kiln.div %[[MAX]], %[[DEN]]
// CLIP: %[[CLAMPED:.*]] = kiln.clamp %[[COEF]] max 1.000000e+00 : tensor<f64>
// CLIP: %[[C32:.*]] = kiln.cast %[[CLAMPED]] : tensor<f64> to tensor<f32>
// CLIP: %[[GP2:.*]] = kiln.mul %[[R]]#0, %[[C32]]
// CLIP: kiln.mul %[[R]]#1, %{{.*}}
// CLIP: %[[STEP:.*]] = kiln.mul %{{.*}}, %[[GP2]]
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, clip_grad_norm = 0.25>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %q: tensor<f32> {kiln.role = #kiln.param<"q">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    %2 = kiln.mul %1, %q : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %2 : tensor<f32>
  }
}
