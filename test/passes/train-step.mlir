// kiln-train-step joins @loss_grad with torch.optim's update.
// RUN: split-file %s %t
// RUN: kiln-opt %t/sgd.mlir --kiln-autodiff --kiln-train-step --canonicalize | FileCheck %s --check-prefix=SGD
// RUN: kiln-opt %t/adam.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=ADAM
// RUN: kiln-opt %t/plain.mlir --kiln-autodiff --kiln-train-step | FileCheck %s --check-prefix=PLAIN

//--- sgd.mlir
// SGD with momentum and weight decay: one momentum buffer per parameter.
// SGD-LABEL: func.func @train_step
// SGD-SAME: %[[P:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %[[BUF:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.momentum_buffer">}, %[[LR:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<lr>}, %{{.*}}: tensor<f64> {kiln.role = #kiln.hyper<step>}, %[[SHARE:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<share>})
// SGD-SAME: -> (tensor<4xf32> {kiln.role = #kiln.param<"p">}, tensor<4xf32> {kiln.role = #kiln.state<"p.momentum_buffer">}, tensor<f32> {kiln.role = #kiln.loss})
// SGD-DAG: %[[MOM:.*]] = kiln.constant dense<0.899999976> : tensor<f32>
// SGD-DAG: %[[WD:.*]] = kiln.constant dense<0.00999999977> : tensor<f32>
// The gradient and the loss, weighted by this process's share of the global
// batch and summed over the processes, before the update.
// SGD: %[[R:[a-z0-9_]+]]:2 = kiln.all_reduce_mean %{{.*}}, %{{.*}} share %[[SHARE]] : tensor<4xf32>, tensor<f32>
// grad + weight_decay * param
// SGD: %[[DECAY:.*]] = kiln.mul %[[P]], %[[WD]]
// SGD: %[[D:.*]] = kiln.add %[[R]]#0, %[[DECAY]]
// buf * momentum + d
// SGD: %[[B1:.*]] = kiln.mul %[[BUF]], %[[MOM]]
// SGD: %[[B2:.*]] = kiln.add %[[B1]], %[[D]]
// param + (-lr) * buf
// SGD: %[[LR32:.*]] = kiln.cast %[[LR]] : tensor<f64> to tensor<f32>
// SGD: %[[NLR:.*]] = kiln.neg %[[LR32]]
// SGD: %[[STEP:.*]] = kiln.mul %[[NLR]], %[[B2]]
// SGD: %[[NEXT:.*]] = kiln.add %[[P]], %[[STEP]]
// SGD: return %[[NEXT]], %[[B2]], %[[R]]#1 :
module attributes {kiln.train = #kiln.train<SGD, lr = 0.1, momentum = 0.9, weight_decay = 0.01>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

//--- adam.mlir
// Adam: exp_avg and exp_avg_sq per parameter, bias corrections in f64.
// ADAM-LABEL: func.func @train_step
// ADAM-SAME: %[[P:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %[[M:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.exp_avg">}, %[[V:[a-z0-9_]+]]: tensor<4xf32> {kiln.role = #kiln.state<"p.exp_avg_sq">}, %[[LR:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<lr>}, %[[T:[a-z0-9_]+]]: tensor<f64> {kiln.role = #kiln.hyper<step>}, %{{.*}}: tensor<f64> {kiln.role = #kiln.hyper<share>})
// ADAM: %[[M1:.*]] = kiln.mul %[[M]], %{{.*}}
// ADAM: %[[M2:.*]] = kiln.add %[[M1]], %{{.*}}
// ADAM: %[[V1:.*]] = kiln.mul %[[V]], %{{.*}}
// ADAM: %[[V2:.*]] = kiln.add %[[V1]], %{{.*}}
// beta1 ** step as exp(step * log(beta1)), in f64
// ADAM: kiln.mul %[[T]], %{{.*}} : (tensor<f64>, tensor<f64>) -> tensor<f64>
// ADAM: kiln.exp %{{.*}} : tensor<f64>
// ADAM: %[[SIZE:.*]] = kiln.div %[[LR]], %{{.*}} : (tensor<f64>, tensor<f64>) -> tensor<f64>
// ADAM: %[[ROOT:.*]] = kiln.sqrt %[[V2]] : tensor<4xf32>
// ADAM: %[[DEN:.*]] = kiln.div %[[ROOT]], %{{.*}}
// ADAM: %[[DENE:.*]] = kiln.add %[[DEN]], %{{.*}}
// ADAM: %[[S32:.*]] = kiln.cast %[[SIZE]] : tensor<f64> to tensor<f32>
// ADAM: %[[NS:.*]] = kiln.neg %[[S32]]
// ADAM: %[[SM:.*]] = kiln.mul %[[NS]], %[[M2]]
// ADAM: %[[UPD:.*]] = kiln.div %[[SM]], %[[DENE]]
// ADAM: %[[NEXT:.*]] = kiln.add %[[P]], %[[UPD]]
// ADAM: return %[[NEXT]], %[[M2]], %[[V2]], %{{.*}} :
module attributes {kiln.train = #kiln.train<Adam, lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08>} {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}

//--- plain.mlir
// Plain SGD keeps no state; without a loss there is no train step.
// PLAIN-LABEL: func.func @train_step
// PLAIN-SAME: (%{{.*}}: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %{{.*}}: tensor<4xf32> {kiln.role = #kiln.param<"p">}, %{{.*}}: tensor<f64> {kiln.role = #kiln.hyper<lr>}, %{{.*}}: tensor<f64> {kiln.role = #kiln.hyper<step>}, %{{.*}}: tensor<f64> {kiln.role = #kiln.hyper<share>})
// PLAIN-SAME: -> (tensor<4xf32> {kiln.role = #kiln.param<"p">}, tensor<f32> {kiln.role = #kiln.loss})
module {
  func.func @loss(%x: tensor<?x4xf32> {kiln.role = #kiln.input<"x">}, %p: tensor<4xf32> {kiln.role = #kiln.param<"p">}) -> (tensor<f32> {kiln.role = #kiln.loss}) attributes {kiln.entry = #kiln.entry<loss>} {
    %0 = kiln.mul %x, %p : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %1 = kiln.mean %0 [] : (tensor<?x4xf32>) -> tensor<f32>
    return %1 : tensor<f32>
  }
}
