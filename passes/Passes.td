//===- Passes.td - Kiln's passes on the kiln dialect -------*- tablegen -*-===//
#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

def Autodiff : Pass<"kiln-autodiff", "mlir::ModuleOp"> {
  let summary = "Derive @loss_grad from @loss by reverse-mode differentiation";
  let description = [{
    Finds the function marked `kiln.entry = #kiln.entry<loss>` and adds a
    copy marked `#kiln.entry<loss_grad>` (@loss_grad) that takes the same
    arguments and returns the loss, the metrics and the gradient of the loss
    with respect to every parameter (argument with `#kiln.param`), in
    argument order, marked `#kiln.grad<"name">`. Gradients are built only
    for values between a parameter and the loss, from each op's
    GradientOpInterface rule; an op on that path without a rule, or with
    other than one result, is an error naming the op. Each parameter's
    gradient is named `<param>.grad` (a NameLoc).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def TrainStep : Pass<"kiln-train-step", "mlir::ModuleOp"> {
  let summary = "Join @loss_grad and the optimizer update into @train_step";
  let description = [{
    @train_step(inputs..., targets..., params and buffers..., state..., lr,
    step, share[, seed, offset]) returns (new params and buffers..., new
    state..., loss, metrics...). Between the gradients and the update one
    kiln.all_reduce_mean takes the gradients, loss, metrics and new float
    running statistics: under data parallelism (mpirun) they become the
    global batch's means, each process weighing its own by `share` (its
    rows over the global batch's); with one process it changes nothing.
    A model with dropout also takes the step's `seed` and `offset` (the
    process's first sample in the global batch), given to every dropout. The optimizer comes from the module's `#kiln.train`
    attribute: SGD (momentum, weight_decay, nesterov), Adam, AdamW or RMSprop,
    with torch.optim's update rules written as kiln ops, after
    clip_grad_norm's scaling when it is set. `lr` and `step` (1-based, for
    Adam's bias correction) are 0-d f64 tensors; the state (momentum buffers,
    exp_avg and exp_avg_sq, square_avg) starts at zero. A buffer's new value
    is what the step's kiln.batch_norm_train ops made of it.
    The body of the function marked `#kiln.entry<loss_grad>` is inlined;
    that function stays (tests call it). @train_step is marked
    `#kiln.entry<train_step>`; its state and hyperparameter arguments carry
    `#kiln.state<"p.exp_avg">` and `#kiln.hyper<lr>` roles.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def Decompose : Pass<"kiln-decompose", "mlir::ModuleOp"> {
  let summary = "Express composite kiln ops through primitive kiln ops";
  let description = [{
    Runs after the train step and before lowering, so autodiff still sees the
    composite ops and their own gradient rules, and lowering sees only
    primitives. `linear` becomes a transpose, a matrix product and a bias
    add; `softmax` and `log_softmax` the max-shifted exponentials and sums;
    `mse` and `bce_with_logits` element-wise ops and a mean;
    `cross_entropy` is `nll_loss` of `log_softmax`, and its gradient helper
    `(softmax - one_hot) / N`; `conv2d` and its gradients `im2col`/`col2im`
    and products; `rnn` and its backprop through time an `scf.for` over the
    steps of a time-major sequence (products, element-wise ops, tensor
    slices). The order of operations is the one the
    lowering used before, so the numbers do not move.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // KILN_PASSES
