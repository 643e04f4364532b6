//===- KilnAttrs.td - the kiln dialect's attributes -------*- tablegen -*-===//
//
// The model's metadata as typed attributes that the dialect verifies
// (KilnAttrs.cpp): what each function is (`kiln.entry`), what each argument
// and result is (`kiln.role`), how parameters start, and the train block
// (`kiln.train`). MLIRGen writes them, autodiff and the train step extend
// them, and the manifest reads them; nothing finds a function by its name.
//
//   module attributes {kiln.model = "FashionMLP",
//                      kiln.train = #kiln.train<SGD, lr = 0.1, ...>} {
//     func.func @forward(%image: tensor<?x28x28xui8> {kiln.role = #kiln.input<"image">},
//         %net.0.weight: tensor<256x784xf32>
//             {kiln.role = #kiln.param<"net.0.weight", uniform<-0.0357, 0.0357>>})
//         -> (tensor<?x10xf32> {kiln.role = #kiln.output<"logits">})
//         attributes {kiln.entry = #kiln.entry<forward>}
//
//===----------------------------------------------------------------------===//
#ifndef KILN_ATTRS
#define KILN_ATTRS

include "ir/KilnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Kiln_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kiln_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// A double (stored as an APFloat, which hashes), printed as the shortest
// decimal that reads back to it: 0.1, 1.0e-08.
class Kiln_RealParameter<string desc> : APFloatParameter<desc> {
  let printer = "::kiln::ir::printReal($_printer, $_self)";
}

//===----------------------------------------------------------------------===//
// Entry points: `kiln.entry` on a function
//===----------------------------------------------------------------------===//

def Kiln_Entry : I32EnumAttr<"Entry", "what an entry point computes", [
    I32EnumAttrCase<"Forward", 0, "forward">,
    I32EnumAttrCase<"Loss", 1, "loss">,
    I32EnumAttrCase<"LossGrad", 2, "loss_grad">,
    I32EnumAttrCase<"TrainStep", 3, "train_step">]> {
  let cppNamespace = "::kiln::ir";
  let genSpecializedAttr = 0;
}

def Kiln_EntryAttr : EnumAttr<Kiln_Dialect, Kiln_Entry, "entry"> {
  let summary = "marks a function as one of the model's entry points";
  let description = [{
    `kiln.entry` on a function says which entry point it is; passes and the
    manifest look functions up by it, never by symbol name. The runtime
    calls an entry point `E` through the symbol `kiln_E` (its name in the
    manifest's `entry_points`), whatever the function is called. At most one
    function of a module is each kind.

    - `forward(inputs..., params...) -> outputs...` (MLIRGen)
    - `loss(inputs..., targets..., params...) -> loss?, metrics...` (MLIRGen)
    - `loss_grad(same) -> loss, metrics..., grads...` (kiln-autodiff)
    - `train_step(inputs..., targets..., params..., state..., hypers...)
       -> params..., state..., loss, metrics...` (kiln-train-step)

    ```mlir
    func.func @forward(...) attributes {kiln.entry = #kiln.entry<forward>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Initializers (inside #kiln.param)
//===----------------------------------------------------------------------===//

def Kiln_InitAttrInterface : AttrInterface<"InitAttrInterface"> {
  let cppNamespace = "::kiln::ir";
  let description = [{
    How a parameter starts when the executable trains from scratch:
    `#kiln.zeros`, `#kiln.ones`, `#kiln.uniform<low, high>` or
    `#kiln.normal<mean, std>` (torch.nn.init's functions). Inside
    `#kiln.param` they print without the `#kiln.` prefix.
  }];
}

def Kiln_ZerosAttr : Kiln_Attr<"Zeros", "zeros", [Kiln_InitAttrInterface]> {
  let summary = "a parameter initialized to zeros";
}

def Kiln_OnesAttr : Kiln_Attr<"Ones", "ones", [Kiln_InitAttrInterface]> {
  let summary = "a parameter initialized to ones";
}

def Kiln_UniformAttr : Kiln_Attr<"Uniform", "uniform", [Kiln_InitAttrInterface]> {
  let summary = "a parameter drawn from U(low, high)";
  let description = [{
    Drawn from the uniform distribution on [low, high]; low <= high.
    ```mlir
    #kiln.uniform<-0.0357, 0.0357>
    ```
  }];
  let parameters = (ins Kiln_RealParameter<"the lower bound">:$low,
                        Kiln_RealParameter<"the upper bound">:$high);
  let builders = [
    AttrBuilder<(ins "double":$low, "double":$high), [{
      return $_get($_ctxt, ::llvm::APFloat(low), ::llvm::APFloat(high));
    }]>
  ];
  let assemblyFormat = "`<` custom<Real>($low) `,` custom<Real>($high) `>`";
  let genVerifyDecl = 1;
}

def Kiln_NormalAttr : Kiln_Attr<"Normal", "normal", [Kiln_InitAttrInterface]> {
  let summary = "a parameter drawn from N(mean, std^2)";
  let description = [{
    Drawn from the normal distribution with that mean and standard
    deviation; std >= 0.
    ```mlir
    #kiln.normal<0.0, 0.01>
    ```
  }];
  let parameters = (ins Kiln_RealParameter<"the mean">:$mean,
                        Kiln_RealParameter<"the standard deviation">:$std);
  let builders = [
    AttrBuilder<(ins "double":$mean, "double":$std), [{
      return $_get($_ctxt, ::llvm::APFloat(mean), ::llvm::APFloat(std));
    }]>
  ];
  let assemblyFormat = "`<` custom<Real>($mean) `,` custom<Real>($std) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Roles: `kiln.role` on a function's arguments and results
//===----------------------------------------------------------------------===//

class Kiln_NamedRole<string name, string attrMnemonic, string what>
    : Kiln_Attr<name, attrMnemonic> {
  let summary = what;
  let parameters = (ins StringRefParameter<"the model file's name">:$name);
  let assemblyFormat = "`<` $name `>`";
}

def Kiln_InputAttr : Kiln_NamedRole<"Input", "input",
    "an argument that is one of the model's inputs"> {
  let description = [{
    ```mlir
    %image: tensor<?x28x28xui8> {kiln.role = #kiln.input<"image">}
    ```
  }];
}

def Kiln_TargetAttr : Kiln_NamedRole<"Target", "target",
    "an argument that is one of the model's targets (labels)">;

def Kiln_ParamAttr : Kiln_Attr<"Param", "param"> {
  let summary = "a learnable parameter, by its state_dict name";
  let description = [{
    On an argument: a parameter, with its initializer where it has one
    (MLIRGen always writes it; the manifest takes zeros without one). On a
    result of a train step: the parameter's new value.
    ```mlir
    %net.0.weight: tensor<256x784xf32>
        {kiln.role = #kiln.param<"net.0.weight", uniform<-0.0357, 0.0357>>}
    -> (tensor<256x784xf32> {kiln.role = #kiln.param<"net.0.weight">}, ...)
    ```
  }];
  let parameters = (ins StringRefParameter<"the state_dict name">:$name,
                        OptionalParameter<"InitAttrInterface">:$init);
  let builders = [
    AttrBuilder<(ins "::llvm::StringRef":$name), [{
      return $_get($_ctxt, name, InitAttrInterface());
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
}

def Kiln_BufferAttr : Kiln_Attr<"Buffer", "buffer"> {
  let summary = "a buffer: saved and loaded with the parameters, never trained";
  let description = [{
    As a parameter (a state_dict name and an initializer), but it gets no
    gradient and no optimizer update: BatchNorm's running statistics. On a
    result of a train step: the buffer's new value (what the step's batch
    statistics made of it).
    ```mlir
    %bn.running_var: tensor<16xf32> {kiln.role = #kiln.buffer<"bn.running_var", ones>}
    ```
  }];
  let parameters = (ins StringRefParameter<"the state_dict name">:$name,
                        OptionalParameter<"InitAttrInterface">:$init);
  let builders = [
    AttrBuilder<(ins "::llvm::StringRef":$name), [{
      return $_get($_ctxt, name, InitAttrInterface());
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
}

def Kiln_StateAttr : Kiln_NamedRole<"State", "state",
    "optimizer state of a parameter (an argument and a result of a train step)"> {
  let description = [{
    Named as torch.optim's state_dict names it, after the parameter:
    ```mlir
    %net.0.weight.momentum_buffer: tensor<256x784xf32>
        {kiln.role = #kiln.state<"net.0.weight.momentum_buffer">}
    ```
  }];
}

def Kiln_Hyper : I32EnumAttr<"Hyper", "a train step's run-time hyperparameter", [
    I32EnumAttrCase<"Lr", 0, "lr">,
    I32EnumAttrCase<"Step", 1, "step">,
    I32EnumAttrCase<"Seed", 2, "seed">,
    I32EnumAttrCase<"Share", 3, "share">,
    I32EnumAttrCase<"Offset", 4, "offset">]> {
  let cppNamespace = "::kiln::ir";
  let genSpecializedAttr = 0;
}

def Kiln_HyperAttr : EnumAttr<Kiln_Dialect, Kiln_Hyper, "hyper"> {
  let summary = "a train step's 0-d f64 hyperparameter argument";
  let description = [{
    `lr` (so --lr needs no recompilation), `step` (Adam's bias
    corrections count from 1), `share` (this process's part of the global
    batch: 1 without data parallelism) and, with dropout, the step's `seed`
    and `offset` (this process's first sample in the global batch).
    ```mlir
    %lr: tensor<f64> {kiln.role = #kiln.hyper<lr>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Kiln_OutputAttr : Kiln_NamedRole<"Output", "output",
    "a result that is one of the model's outputs (forward)">;

def Kiln_LossAttr : Kiln_Attr<"Loss", "loss"> {
  let summary = "the result that is the loss";
  let description = [{
    ```mlir
    -> (tensor<f32> {kiln.role = #kiln.loss}, tensor<f32> {kiln.role = #kiln.metric<"accuracy">})
    ```
  }];
}

def Kiln_MetricAttr : Kiln_NamedRole<"Metric", "metric",
    "a result that is one of the model's metrics">;

def Kiln_GradAttr : Kiln_NamedRole<"Grad", "grad",
    "a result that is the gradient of the loss with respect to the named parameter">;

//===----------------------------------------------------------------------===//
// The train block: `kiln.train` on the module
//===----------------------------------------------------------------------===//

def Kiln_Optimizer : I32EnumAttr<"Optimizer", "a torch.optim optimizer", [
    I32EnumAttrCase<"SGD", 0>,
    I32EnumAttrCase<"Adam", 1>,
    I32EnumAttrCase<"AdamW", 2>,
    I32EnumAttrCase<"RMSprop", 3>]> {
  let cppNamespace = "::kiln::ir";
  let genSpecializedAttr = 0;
}

def Kiln_Scheduler : I32EnumAttr<"Scheduler", "a torch.optim.lr_scheduler, stepped per epoch", [
    I32EnumAttrCase<"None", 0>,
    I32EnumAttrCase<"StepLR", 1>,
    I32EnumAttrCase<"CosineAnnealingLR", 2>]> {
  let cppNamespace = "::kiln::ir";
  let genSpecializedAttr = 0;
}

def Kiln_TrainAttr : Kiln_Attr<"Train", "train"> {
  let summary = "the train block's settings";
  let description = [{
    The optimizer and its settings (torch.optim's names and defaults), the
    learning-rate schedule and gradient clipping, then the loop's: batch
    size, epochs, seed and shuffling. The executable's flags override the
    loop's settings and lr; the train step builds the optimizer and the
    clipping from them; the runtime steps the schedule once per epoch.
    The optimizer's and the loop's settings are always printed; `nesterov`,
    `alpha` (RMSprop's), `clip_grad_norm` and the schedule only where they
    are set. When parsed, every key but `lr` may be left out (the defaults:
    momentum 0, weight_decay 0, beta1 0.9, beta2 0.999, eps 1e-8, nesterov
    false, alpha 0.99, clip_grad_norm 0 (none), no scheduler, gamma 0.1,
    eta_min 0, batch 64, epochs 1, seed 0, shuffle true), in any order.
    ```mlir
    #kiln.train<SGD, lr = 0.1, momentum = 0.0, weight_decay = 0.0, beta1 = 0.9,
                beta2 = 0.999, eps = 1.0e-08, batch = 64, epochs = 3, seed = 42,
                shuffle = true>
    #kiln.train<AdamW, lr = 0.001, momentum = 0.0, weight_decay = 0.01,
                beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, clip_grad_norm = 1.0,
                scheduler = CosineAnnealingLR, t_max = 5, eta_min = 0.0,
                batch = 64, epochs = 5, seed = 0, shuffle = true>
    ```
  }];
  let parameters = (ins EnumParameter<Kiln_Optimizer>:$optimizer,
                        Kiln_RealParameter<"learning rate">:$lr,
                        Kiln_RealParameter<"SGD's and RMSprop's momentum">:$momentum,
                        Kiln_RealParameter<"L2 penalty (decoupled in AdamW)">:$weightDecay,
                        Kiln_RealParameter<"Adam's beta1">:$beta1,
                        Kiln_RealParameter<"Adam's beta2">:$beta2,
                        Kiln_RealParameter<"Adam's and RMSprop's eps">:$eps,
                        "bool":$nesterov,
                        Kiln_RealParameter<"RMSprop's smoothing constant">:$alpha,
                        Kiln_RealParameter<"the gradients' largest total 2-norm (0: none)">:$clipGradNorm,
                        EnumParameter<Kiln_Scheduler>:$scheduler,
                        "int64_t":$stepSize,
                        Kiln_RealParameter<"StepLR's gamma">:$gamma,
                        "int64_t":$tMax,
                        Kiln_RealParameter<"CosineAnnealingLR's eta_min">:$etaMin,
                        "int64_t":$batch, "int64_t":$epochs, "uint64_t":$seed,
                        "bool":$shuffle);
  let builders = [
    AttrBuilder<(ins "const ::kiln::TrainSettings &":$s), [{
      using ::llvm::APFloat;
      return $_get($_ctxt, Optimizer(s.optimizer), APFloat(s.lr), APFloat(s.momentum),
                   APFloat(s.weightDecay), APFloat(s.beta1), APFloat(s.beta2),
                   APFloat(s.eps), s.nesterov, APFloat(s.alpha), APFloat(s.clipGradNorm),
                   Scheduler(s.scheduler), s.stepSize, APFloat(s.gamma), s.tMax, APFloat(s.etaMin),
                   s.batch, s.epochs, s.seed, s.shuffle);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The settings as plain numbers, as the builder takes them.
    ::kiln::TrainSettings getSettings() const;
  }];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // KILN_ATTRS
