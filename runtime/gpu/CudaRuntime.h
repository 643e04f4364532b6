// The CUDA side of the runtime for `kiln build --target cuda` executables:
// the driver API through dlopen("libcuda.so.1") (no link-time CUDA
// dependency), the kernels' image loaded on the first launch, and
// kiln_cuda_launch, which the generated host code calls for every kernel
// (codegen/GpuLaunchToRuntime.cpp). Ran on an H200 once: docs/gpu-notes.md.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::runtime::gpu {

/// Loads the driver, initializes it, makes the first GPU's primary context
/// current and routes the runtime's tensor storage to CUDA managed memory.
/// On failure returns false with one line in `error` (no driver, no GPU,
/// a driver call that failed, naming it).
bool startDevice(std::string &error);

/// Whether this executable holds kernels (a --target cuda build).
bool hasKernels();

/// Whether startDevice succeeded: entry points run their kernels on the GPU.
bool deviceStarted();

/// Whether the host may read managed memory (the data set) while kernels
/// run: a started device whose driver reports concurrent managed access
/// (Linux, Pascal and later; not WSL or Windows, where touching managed
/// memory while a kernel runs faults). train runs a step ahead only then.
bool hostMayRunAhead();

/// In a cuda run an entry point returns with its kernels submitted, not
/// finished (kiln_cuda_submit): each call that submitted kernels gets the
/// next ticket, and submitted() is the last one handed out on any thread.
/// waitFor(t) returns once the kernels of ticket t and all before it are
/// done. Both do nothing useful on the CPU (no tickets; nothing to wait for).
uint64_t submitted();
void waitFor(uint64_t ticket);

} // namespace kiln::runtime::gpu

/// Submits the calling thread's recorded launches and waits for every
/// kernel (codegen/GpuLaunchToRuntime.cpp calls it; a runtime call that
/// reads what an entry point or the generated code wrote calls it first).
/// Does nothing before the device started, so in CPU executables.
extern "C" void kiln_cuda_sync();

/// For a program that loads a cuda model's object itself (test/e2e/kilnlib.py
/// through ctypes): starts the device as the commands do (startDevice).
/// Returns null, or one line saying why it cannot.
extern "C" const char *kiln_cuda_start();

/// Submits the calling thread's recorded launches without waiting, and
/// records the ticket's event: the generated code calls it where a function
/// returns with launches pending.
extern "C" void kiln_cuda_submit();
