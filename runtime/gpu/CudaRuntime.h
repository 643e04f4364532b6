// The CUDA side of the runtime for `kiln build --target cuda` executables:
// the driver API through dlopen("libcuda.so.1") (no link-time CUDA
// dependency), the kernels' image loaded on the first launch, and
// kiln_cuda_launch, which the generated host code calls for every kernel
// (codegen/GpuLaunchToRuntime.cpp). NOT YET RUN ON A GPU: see docs/runtime.md.
#pragma once

#include <string>

namespace kiln::runtime::gpu {

/// Loads the driver, initializes it, makes the first GPU's primary context
/// current and routes the runtime's tensor storage to CUDA managed memory.
/// On failure returns false with one line in `error` (no driver, no GPU,
/// a driver call that failed, naming it).
bool startDevice(std::string &error);

/// Whether this executable holds kernels (a --target cuda build).
bool hasKernels();

} // namespace kiln::runtime::gpu

/// Submits the calling thread's recorded launches and waits for every
/// kernel (codegen/GpuLaunchToRuntime.cpp calls it; a runtime call that
/// reads memory the generated code did not wait for calls it first). Does
/// nothing before the device started, so in CPU executables.
extern "C" void kiln_cuda_sync();
