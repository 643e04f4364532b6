// The ABI between the code Kiln generates and this runtime. Fixed: the
// compiler emits exactly these symbols, the runtime calls them.
//
// Every tensor crosses the boundary as an MLIR strided memref descriptor:
//   struct { void *allocated; void *aligned; int64_t offset;
//            int64_t sizes[R]; int64_t strides[R]; }
// Element (i0, ..., iR-1) lives at aligned[offset + sum(ik * strides[k])].
// The runtime always passes contiguous row-major buffers with offset 0 and
// `aligned` 64-byte aligned; the batch dimension of inputs, targets and
// outputs is the run's batch size (the last batch may be smaller), every
// other size is the static one from the manifest.
//
// Dtypes: f32 float, f64 double, i32 int32_t, i64 int64_t, u8 uint8_t.
#pragma once

#include <cstdint>

namespace kiln {

/// The descriptor of a rank-R memref (R = 0 for scalars), as MLIR lays it out.
template <int R> struct MemRefDescriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[R];
  int64_t strides[R];
};
template <> struct MemRefDescriptor<0> {
  void *allocated;
  void *aligned;
  int64_t offset;
};

} // namespace kiln

extern "C" {
/// The model's manifest: NUL-terminated JSON (schema in runtime/Manifest.h).
extern const char kiln_manifest_json[];

/// args[i] points to a memref descriptor, in manifest order:
///   inputs..., params..., outputs...
/// Outputs are buffers the runtime allocated; the generated code fills them.
void kiln_forward(void **args);

/// Present when the manifest lists the "loss" entry point:
///   inputs..., targets..., params..., loss (rank 0, only when the manifest's
///   "loss" is true), metrics (rank 0 each, manifest order)...
/// The scalars are batch means, of the manifest's "scalar_dtype" (f32 unless
/// it says f64).
void kiln_loss(void **args);

/// Present when the manifest lists the "train_step" entry point: one step of
/// the optimizer on one batch. args, in this order:
///   inputs..., targets..., params..., state..., hyper...   (arguments)
///   loss, metrics...                                       (results)
/// params in manifest "params" order; state in manifest "state" order (static
/// shapes, the dtype of their param; zero before the first step); hyper in
/// manifest "hyper" order, each a rank-0 f64: "lr" (the learning rate) and
/// "step" (1-based count of steps over the whole run, across epochs and
/// resumes: a resumed run continues the count from its checkpoint). The step
/// writes the new params and state into the params' and state's own buffers
/// (updated in place; no two of the buffers may overlap). loss (rank 0) and
/// metrics (rank 0 each, manifest order) go into buffers the runtime
/// allocated; they are batch means of the manifest's "scalar_dtype", computed
/// with the parameters before the update.
void kiln_train_step(void **args);

/// Called by the generated code, defined by the runtime
/// (runtime/kernels/Allocator.cpp): the memory plan's workspace of `bytes`
/// bytes, 64-byte aligned, kept between calls. Slot 0 serves the entry
/// points, slot 1 a parallel loop's tiles; each thread has its own.
void _mlir_ciface_kiln_workspace(kiln::MemRefDescriptor<1> *result, int64_t slot, int64_t bytes);
/// Before a parallel loop whose tiles use slot 1: every pool thread's slot-1
/// workspace grows to `bytes`.
void _mlir_ciface_kiln_reserve_tile_workspaces(int64_t bytes);

/// The workspaces grown plus the buffers generated code took from the heap,
/// since the start: a warm training step adds none.
int64_t kiln_heap_allocations();
}
