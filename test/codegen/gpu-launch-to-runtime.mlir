// RUN: kiln-opt %s --kiln-gpu-launch-to-runtime | FileCheck %s

// Each gpu.launch_func becomes a kiln_cuda_launch call; kiln_cuda_sync goes
// before the first host operation that may touch memory after launches,
// following the branches: a loop of launches synchronizes once, at its
// exit, not once per iteration. A return submits what is pending without
// waiting (kiln_cuda_submit: the caller waits before it reads), so a
// function starts with the last call's kernels maybe still running: it
// waits before it touches memory, even before its first launch.

module attributes {gpu.container_module} {
  gpu.binary @kiln_kernels [#gpu.object<#nvvm.target, assembly = ".entry k(\0A.param .u64 p0)\0A.entry k2(\0A.param .u64 p0, .param .f32 p1)">]

  // CHECK-LABEL: llvm.func @loop
  // CHECK: ^bb1(
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.cond_br
  // CHECK: ^bb2:
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.br ^bb1
  // CHECK: ^bb3:
  // CHECK-NEXT: llvm.call @kiln_cuda_sync()
  // CHECK-NEXT: llvm.load %arg0
  llvm.func @loop(%buf: !llvm.ptr, %n: i64) -> f32 {
    %c0 = llvm.mlir.constant(0 : i64) : i64
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %i1 = arith.constant 1 : index
    llvm.br ^head(%c0 : i64)
  ^head(%i: i64):
    %more = llvm.icmp "slt" %i, %n : i64
    llvm.cond_br %more, ^body, ^exit
  ^body:
    gpu.launch_func @kiln_kernels::@k blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr)
    %next = llvm.add %i, %c1 : i64
    llvm.br ^head(%next : i64)
  ^exit:
    %v = llvm.load %buf : !llvm.ptr -> f32
    llvm.return %v : f32
  }

  // A run of launches is one; the return submits it.
  // CHECK-LABEL: llvm.func @run
  // CHECK-NOT: kiln_cuda_s
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NOT: kiln_cuda_s
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NEXT: llvm.call @kiln_cuda_submit()
  // CHECK-NEXT: llvm.return
  llvm.func @run(%buf: !llvm.ptr) {
    %i1 = arith.constant 1 : index
    gpu.launch_func @kiln_kernels::@k blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr)
    gpu.launch_func @kiln_kernels::@k blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr)
    llvm.return
  }

  // Launches pending on one of two paths: the join's host store waits; the
  // path that launches nothing has nothing to wait for before the join.
  // CHECK-LABEL: llvm.func @join
  // CHECK: llvm.cond_br
  // CHECK: ^bb1:
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NEXT: llvm.br ^bb3
  // CHECK: ^bb2:
  // CHECK-NEXT: llvm.br ^bb3
  // CHECK: ^bb3:
  // CHECK-NEXT: llvm.call @kiln_cuda_sync()
  // CHECK-NEXT: llvm.store
  // CHECK-NOT: kiln_cuda_s
  // CHECK: llvm.return
  llvm.func @join(%buf: !llvm.ptr, %c: i1, %x: f32) {
    %i1 = arith.constant 1 : index
    llvm.cond_br %c, ^launch, ^skip
  ^launch:
    gpu.launch_func @kiln_kernels::@k2 blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr, %x : f32)
    llvm.br ^join
  ^skip:
    llvm.br ^join
  ^join:
    llvm.store %x, %buf : f32, !llvm.ptr
    llvm.return
  }

  // The all-reduce's wrapper does not wait (it reads nothing with one
  // process, and waits itself with several), nor does a call to a function
  // of the module (it waits itself: @host_only below); the return submits
  // what may still be recorded.
  // CHECK-LABEL: llvm.func @calls
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.call @kiln_all_reduce_mean_f32(
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.call @kiln_cuda_launch(
  // CHECK-NOT: kiln_cuda_sync
  // CHECK: llvm.call @host_only(
  // CHECK-NEXT: llvm.call @kiln_cuda_submit()
  // CHECK-NEXT: llvm.return
  llvm.func @kiln_all_reduce_mean_f32(!llvm.ptr, !llvm.ptr)
  llvm.func @calls(%buf: !llvm.ptr, %share: !llvm.ptr, %x: f32) {
    %i1 = arith.constant 1 : index
    gpu.launch_func @kiln_kernels::@k blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr)
    llvm.call @kiln_all_reduce_mean_f32(%buf, %share) : (!llvm.ptr, !llvm.ptr) -> ()
    gpu.launch_func @kiln_kernels::@k blocks in (%i1, %i1, %i1) threads in (%i1, %i1, %i1) args(%buf : !llvm.ptr)
    llvm.call @host_only(%buf, %x) : (!llvm.ptr, f32) -> ()
    llvm.return
  }

  // No launch, but a store: it waits first (for its caller's launches, or
  // the last call's), and submits nothing.
  // CHECK-LABEL: llvm.func @host_only
  // CHECK-NEXT: llvm.call @kiln_cuda_sync()
  // CHECK-NEXT: llvm.store
  // CHECK-NEXT: llvm.return
  llvm.func @host_only(%buf: !llvm.ptr, %x: f32) {
    llvm.store %x, %buf : f32, !llvm.ptr
    llvm.return
  }

  // A function of the module may return with its launches submitted, not
  // finished: a load after a call to one waits. A call to a declaration
  // (the runtime's) at the start waits for the last call's kernels, and
  // leaves nothing pending.
  // CHECK-LABEL: llvm.func @caller
  // CHECK-NEXT: llvm.call @kiln_cuda_sync()
  // CHECK-NEXT: llvm.call @external(
  // CHECK-NEXT: llvm.load
  // CHECK-NEXT: llvm.call @run(
  // CHECK-NEXT: llvm.call @kiln_cuda_sync()
  // CHECK-NEXT: llvm.load
  // CHECK-NOT: kiln_cuda_s
  // CHECK: llvm.return
  llvm.func @external(!llvm.ptr)
  llvm.func @caller(%buf: !llvm.ptr) -> f32 {
    llvm.call @external(%buf) : (!llvm.ptr) -> ()
    %a = llvm.load %buf : !llvm.ptr -> f32
    llvm.call @run(%buf) : (!llvm.ptr) -> ()
    %b = llvm.load %buf : !llvm.ptr -> f32
    %s = llvm.fadd %a, %b : f32
    llvm.return %s : f32
  }

  // The kernel table, in order of first launch, with each kernel's
  // parameter sizes in bytes (k: a pointer; k2: a pointer and an f32).
  // CHECK: llvm.mlir.global external constant @kiln_cuda_kernel_names("k\00k2\00\00")
  // CHECK: @kiln_cuda_kernel_count(2 : i32)
  // CHECK: @kiln_cuda_kernel_param_start(dense<[0, 1, 3]> : tensor<3xi32>)
  // CHECK: @kiln_cuda_kernel_param_bytes(dense<[8, 8, 4]> : tensor<3xi32>)
}
