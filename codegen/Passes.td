//===- Passes.td - Kiln's code generation passes ----------*- tablegen -*-===//
#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def LowerToLinalg : Pass<"kiln-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower primitive kiln ops to linalg, tensor, arith, math and scf";
  let description = [{
    One conversion pattern per op (codegen/KilnToLinalg/, a file per family
    of ops): element-wise ops become linalg.generic ops with broadcasting as
    indexing maps, reductions use reduction iterators, 2-D products
    linalg.matmul (a product's addend becomes its accumulator), windows and
    pools generics over (kh, kw). Composite ops (linear, the losses,
    softmax, conv2d, rnn) must have been expanded by kiln-decompose: an op
    without a pattern fails the conversion, naming the op. Unsigned element
    types (u8) become signless integers; the patterns that care (casts, max,
    argmax, class indices) read the signedness off the original op. A
    dropout without a seed is the identity (evaluation and prediction).
    `kiln.all_reduce_mean` copies its operands into one flat buffer per
    element type and calls the runtime's `kiln_all_reduce_mean_f32/f64` on it.
    An embedding's gradient is an `scf.for` over the positions, each adding
    its gradient row onto its index's row (in order: deterministic, no
    atomics); with `scatter-by-owner` (the CUDA target) it is one generic
    where each element of the result sums the positions whose index is its
    row, in the same order: parallel over the result, and bit-identical, at
    `num` times the loop's work. With `window-products` (the CPU), a 2-D
    product whose B is a `kiln.im2col` is one generic over the product's
    loops that reads B's elements from the image, marked
    `kiln.window_product` (the column matrix is never written;
    kiln-matmul-to-call makes it the runtime's `kiln_conv_matmul`).
  }];
  let options = [
    Option<"scatterByOwner", "scatter-by-owner", "bool", /*default=*/"false",
           "An embedding's gradient as one generic over its result (for the GPU)">,
    Option<"windowProducts", "window-products", "bool", /*default=*/"false",
           "A product with an im2col as one generic reading the image (for the CPU)">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
    "mlir::bufferization::BufferizationDialect"
  ];
}

def MatmulToCall : Pass<"kiln-matmul-to-call", "mlir::ModuleOp"> {
  let summary = "Turn f32/f64 linalg.matmul on buffers into calls to the runtime's GEMM";
  let description = [{
    After bufferization, each `linalg.matmul` on f32 or f64 memrefs (C += A * B,
    default indexing maps, or maps that read A and/or B transposed) becomes
    `func.call @kiln_matmul_f32(A, B, C, accumulate)` (or `_f64`), with
    operands cast to fully dynamic strided memrefs; a transposed operand is
    passed as a `memref.transpose` view (swapped strides, no copy). A zero
    fill of C right before the product is dropped and `accumulate` is 0
    (C = A * B); otherwise 1 (C += A * B). The runtime implements them (runtime/kernels/Gemm.cpp) as a packed, register-blocked
    GEMM; other linalg ops keep lowering to loops.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect"];
}

def FormRegions : Pass<"kiln-form-regions", "mlir::ModuleOp"> {
  let summary = "Group linalg ops on tensors into kiln.fusion regions, one kernel each";
  let description = [{
    Each block's linalg ops become `kiln.fusion` regions (`--emit=fused`
    prints them), grown backwards from a region's last op: a producer joins
    when the region uses all of its results and each tile of the last op's
    first loop needs only the matching tile of the producer. A matrix
    product is a root with its accumulator's producer and its element-wise
    epilogue; the producers of its operands stay out. Zero fills read by
    several ops are cloned per reader. Nothing is computed differently:
    the regions only group ops.
  }];
  let dependentDialects = ["kiln::ir::KilnDialect"];
}

def TileRegions : Pass<"kiln-tile-regions", "mlir::ModuleOp"> {
  let summary = "Tile each kiln.fusion region's last op over rows and fuse the region into the tiles";
  let description = [{
    The last op of each region is tiled along its first loop (when it is
    parallel) into an `scf.forall` of tiles of about 16K elements, with the
    region's other ops fused into the tile as producers (all but matrix
    products, which the runtime's GEMM splits itself); then the region's
    ops are put back into their block. Only parallel loops are split, so
    results are the same bits as untiled.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::affine::AffineDialect"];
}

def ForallToThreads : Pass<"kiln-forall-to-threads", "mlir::ModuleOp"> {
  let summary = "Outline each bufferized scf.forall into a tile function run on the runtime's threads";
  let description = [{
    The body of each one-dimensional `scf.forall` on buffers becomes a
    private function `<function>_tile<N>(i, lb, step, captures...)` (the
    values from above it reads; constants are cloned into it), and the loop
    a `kiln.parallel_for` over the number of tiles. Each tile writes only
    its own slice, so the thread count does not change the results.
  }];
  let dependentDialects = ["kiln::ir::KilnDialect", "mlir::func::FuncDialect",
                           "mlir::arith::ArithDialect"];
}

def MergeDuplicateFunctions : Pass<"kiln-merge-duplicate-functions", "mlir::ModuleOp"> {
  let summary = "Merge private functions with the same type and the same body";
  let description = [{
    `forward`, `loss` and `train_step` each run the model's forward ops, so
    `kiln-forall-to-threads` outlines the same tile function up to three
    times. A private function whose type, body (locations aside) and
    attributes equal an earlier one's is erased, and its uses name the
    earlier one: LLVM optimizes and compiles each kind of tile once.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def ParallelToLLVM : Pass<"kiln-parallel-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower kiln.parallel_for to a call of the runtime's kiln_parallel_for";
  let description = [{
    After the func and memref conversions: the captures go to stack slots
    made in the caller's entry block, and a trampoline `<callee>_task(context,
    i)` passes them to the tile function's C interface (a buffer by its
    descriptor's address). `kiln_parallel_for(task, context, tasks)` runs
    the tasks on the runtime's thread pool.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def ApproximateTanh : Pass<"kiln-approximate-tanh", "mlir::ModuleOp"> {
  let summary = "Replace f32 math.tanh by MLIR's polynomial approximation, which vectorizes";
  let description = [{
    glibc's tanhf is a scalar call (through expm1f); the approximation is
    arith ops on a clamped input that LLVM vectorizes like any loop body.
    f64 tanh stays libm's. test/e2e checks the recurrent models against
    PyTorch with it.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def ApproximateExp : Pass<"kiln-approximate-exp", "mlir::ModuleOp"> {
  let summary = "Replace f32 math.exp by MLIR's polynomial approximation, which vectorizes";
  let description = [{
    glibc's expf is a scalar call; the approximation (2^k times a
    polynomial on the reduced argument) is arith ops that LLVM vectorizes
    like any loop body. f64 exp stays libm's. The CPU pipeline only.
    test/e2e checks every model against PyTorch with it.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def GpuMatmul : Pass<"kiln-gpu-matmul", "mlir::ModuleOp"> {
  let summary = "Turn f32/f64 linalg.matmul on buffers into gpu.launch ops of Kiln's tiled GEMM kernel";
  let description = [{
    The GPU target's matrix products (codegen/GpuMatmul.cpp): a block computes
    a 64x64 tile of C with 16x16 threads, each a 4x4 register block; A and B
    are staged through shared memory (workgroup attributions) 16 steps of k
    at a time. The accumulators start from C and add one fused multiply-add
    per k, in k order, in the element type (no TF32). The launch is named
    `<function>_matmul<N>`.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::memref::MemRefDialect"];
}

def GpuMapLoops : Pass<"kiln-gpu-map-loops", "mlir::ModuleOp"> {
  let summary = "Lower linalg ops on buffers to scf.parallel loops mapped to GPU blocks and threads";
  let description = [{
    Each linalg op (and memref.copy) outside a gpu.launch becomes one
    scf.parallel over its parallel loops (reductions inside as scf.for, after
    the parallel loops), collapsed to one dimension and tiled by 256: tiles on
    block_x, elements on thread_x. An op without a parallel loop runs on one
    thread. The loop's location is a NameLoc with the kernel's name
    (`<function>_<kind><N>`); convert-parallel-loops-to-gpu makes the launches.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect"];
}

def GpuNameKernels : Pass<"kiln-gpu-name-kernels", "mlir::ModuleOp"> {
  let summary = "Give every gpu.launch its kernel name and the @kiln_kernels module";
  let description = [{
    Before gpu-kernel-outlining: the kernel name comes from the launch's
    NameLoc (kiln-gpu-map-loops) or its `function` attribute
    (kiln-gpu-matmul), made unique; every kernel is outlined into one
    gpu.module, @kiln_kernels.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def GpuNativeMath : Pass<"kiln-gpu-native-math", "mlir::gpu::GPUModuleOp"> {
  let summary = "After convert-gpu-to-nvvm, libdevice calls for IEEE instructions PTX has become LLVM intrinsics";
  let description = [{
    Calls to __nv_fabs[f], __nv_fma[f], __nv_sqrt[f], __nv_floor[f],
    __nv_ceil[f], __nv_trunc[f] and __nv_copysign[f] become llvm.intr.fabs,
    fma, sqrt, floor, ceil, trunc and copysign, which the NVPTX backend
    selects as single instructions (abs, fma.rn, sqrt.rn, cvt.r*i); unused
    declarations go. convert-gpu-to-nvvm marks those intrinsics illegal, so
    this runs after it.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def PlanMemory : Pass<"kiln-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place a function's buffers in one workspace by lifetime (the memory plan)";
  let description = [{
    After the deallocation pipeline: each `memref.alloc` whose one
    `memref.dealloc` is in its block becomes a `memref.view` of a workspace
    that the runtime keeps between calls (`kiln_workspace(slot, bytes)`),
    and the dealloc goes. Sizes must be constants or a constant times one
    dimension of an argument (the batch); buffers alive at the same time
    never overlap. Buffers inside an `scf.forall` get their own plan per
    loop body, at their largest size, in a workspace per thread. The module
    gets `kiln.workspace = {fixed_bytes, per_sample_bytes}`, the largest
    entry point's plan, which the manifest records and `info` prints.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def UpdateInPlace : Pass<"kiln-update-in-place", "mlir::ModuleOp"> {
  let summary = "Make @train_step write its new parameters, buffers and optimizer state into their arguments";
  let description = [{
    On tensors, before bufferization: each such result of the train step
    becomes `bufferization.materialize_in_destination %new in %old`; then
    upstream's empty tensor elimination (for the whole module) makes the
    argument the update's destination, and a tiled update reads its tile of
    the old value through its `scf.forall`'s shared output, so one-shot
    bufferization computes the update in the argument's buffer
    (codegen/UpdateInPlace.cpp). kiln-drop-updated-results then removes the
    results from the signature.
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect"];
}

def DropUpdatedResults : Pass<"kiln-drop-updated-results", "mlir::ModuleOp"> {
  let summary = "Remove @train_step's results that bufferization computed in their argument's buffer";
  let description = [{
    After one-shot bufferization: a train step's parameter, buffer and state
    results must each be the matching argument's buffer (through casts); they
    leave the signature, so the runtime passes one set of parameters and
    state, updated in place (codegen/DropUpdatedResults.cpp). Any other
    value is an error.
  }];
}

def MergeParallelLoops : Pass<"kiln-merge-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Merge neighbouring independent scf.forall loops on buffers into one loop";
  let description = [{
    Horizontal fusion: a run of one-dimensional `scf.forall` loops on
    buffers, where no loop writes a buffer another reads or writes (buffers
    compared by root: an alloc or a function argument), becomes one loop
    over the sum of their tile counts, whose body runs the body of the loop
    that owns the tile (an `scf.if` chain). Ops without memory effects
    between the loops move before them, deallocs after them. The
    optimizer's per-parameter updates become one pass over all parameters.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

def CollapseDims : Pass<"kiln-collapse-dims", "mlir::ModuleOp"> {
  let summary = "Run the contiguous trailing loops of an element-wise op on buffers as one loop";
  let description = [{
    Before linalg becomes loops: an all-parallel `linalg.generic` on buffers
    (no `linalg.index`) whose trailing loops every operand reads or writes
    as a contiguous run of its dimensions gets those loops collapsed into
    one (`linalg::collapseOpIterationDims`, through `memref.collapse_shape`
    views). LLVM then vectorizes one long contiguous loop instead of
    unrolling a short one and vectorizing the next with gathers. An operand
    whose strides do not allow the view leaves the op as it is.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::linalg::LinalgDialect"];
}

def GpuScalarKernels : Pass<"kiln-gpu-scalar-kernels", "mlir::ModuleOp"> {
  let summary = "Make the host's scalar stores into device memory one-thread kernels";
  let description = [{
    CUDA target, on buffers, before `kiln-gpu-map-loops`: a `memref.store`
    outside any linalg op or parallel loop (not into a stack slot), with
    the loads and pure ops of its block that compute its value and that
    nothing else uses, becomes a 0-d `linalg.generic` (inputs the loaded
    elements, output the stored one, through 0-d views), which
    `kiln-gpu-map-loops` makes a one-thread kernel. Values from outside the
    slice (the batch size) become kernel arguments. Taken only when no op
    with memory effects lies between the first op moved and the store. The
    host then does not touch device memory there, so no synchronization.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::memref::MemRefDialect"];
}

def GpuSinkGlobals : Pass<"kiln-gpu-sink-globals", "mlir::ModuleOp"> {
  let summary = "Move the constant globals a kernel reads into the kernel";
  let description = [{
    CUDA target, before `gpu-kernel-outlining`: each value a `gpu.launch`
    body uses that is a `memref.get_global` of a constant global, or a view
    of one (view-like ops: reshape, subview, cast, ...), is cloned into that
    body with the ops it is made of (a reshape's shape global too), so that
    outlining copies the globals into the GPU module (device memory) instead
    of passing the kernel the host's address. A kernel that reads a global
    that is not constant is an error.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def InterchangeWindows : Pass<"kiln-interchange-windows", "mlir::ModuleOp"> {
  let summary = "Run a window op's kernel loops outside its last parallel loop";
  let description = [{
    Before linalg becomes loops: a `linalg.generic` on buffers whose loops
    are parallel ones followed by a small static window of reductions (each
    at most 16, together at most 64 iterations: pooling), that writes every
    output along its last parallel loop and reads an input through the
    window (`oh * 2 + kh`), is interchanged so that the last parallel
    loop is innermost: (n, c, oh, kh, kw, ow). LLVM vectorizes that loop
    instead of unrolling the window. Every output element still meets its
    kernel offsets in the same order: the same bits.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def InterchangeReductions : Pass<"kiln-interchange-reductions", "mlir::ModuleOp"> {
  let summary = "Run a small reduction's parallel loops inside its reduction loops";
  let description = [{
    Before linalg becomes loops: a `linalg.generic` on buffers that reduces
    into at most 256 static outputs, indexed by its parallel loops alone,
    with a reduction loop inside a parallel one (a conv's bias gradient:
    (n, c, h, w) summed into c), is interchanged so that the parallel loops
    run innermost, each kind of loop in its own order: (n, h, w, c). The
    innermost loop then adds to independent sums instead of a chain of
    adds into one. Every output still meets its reduction iterations in
    the same order: the same bits.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def GpuLaunchToRuntime : Pass<"kiln-gpu-launch-to-runtime", "mlir::ModuleOp"> {
  let summary = "The host side of a cuda executable: each gpu.launch_func a kiln_cuda_launch call, the gpu.binary globals the runtime loads lazily";
  let description = [{
    After gpu-module-to-binary, the host's lowering to LLVM and gpu-to-llvm:
    every gpu.launch_func becomes `kiln_cuda_launch(kernel index, grid xyz,
    block xyz, shared bytes, void **args, nargs)` (args points at the
    kernel's parameters, memref descriptors expanded), and the one
    gpu.binary becomes the globals kiln_cuda_image (fatbin, or
    NUL-terminated PTX), kiln_cuda_image_size, kiln_cuda_image_is_ptx,
    kiln_cuda_kernel_names (NUL-separated, by index) and
    kiln_cuda_kernel_count, which runtime/gpu loads on the first launch.
    Launches are asynchronous: `kiln_cuda_sync()` comes before the first
    host operation that may touch memory after a launch (following the
    branches), and a return with launches pending calls `kiln_cuda_submit()`
    (submitted, not waited for: the caller waits). After a call to a
    function of the module, launches count as pending.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // KILN_CODEGEN_PASSES
