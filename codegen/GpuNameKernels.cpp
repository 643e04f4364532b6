// kiln-gpu-name-kernels: before gpu-kernel-outlining, each gpu.launch gets
// the kernel name it will be outlined under (`function`) and the one GPU
// module all of the model's kernels go to (`module`, @kiln_kernels: one
// PTX text, one cubin, one module for the runtime to load). The name is the
// NameLoc that kiln-gpu-map-loops put on the loop the launch was made from
// (convert-parallel-loops-to-gpu gives the launch the loop's location), or
// the one kiln-gpu-matmul set; a launch with neither is named
// `<function>_kernel<N>`. Names are made unique in the module.
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_GPUNAMEKERNELS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

std::optional<StringRef> nameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = nameOf(inner))
        return name;
  return std::nullopt;
}

struct GpuNameKernelsPass : public kiln::impl::GpuNameKernelsBase<GpuNameKernelsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    llvm::StringSet<> used;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      unsigned n = 0;
      func.walk([&](gpu::LaunchOp launch) {
        std::string name;
        if (auto f = launch.getFunctionAttr())
          name = f.getValue().str();
        else if (auto fromLoc = nameOf(launch.getLoc()))
          name = fromLoc->str();
        else
          name = (func.getName() + "_kernel" + Twine(n++)).str();
        std::string unique = name;
        for (unsigned i = 1; used.contains(unique); ++i)
          unique = name + "_" + std::to_string(i);
        used.insert(unique);
        // The kernel's arguments keep plain locations: a NameLoc would
        // print them all as %<kernel name>_N.
        for (BlockArgument arg : launch.getBody().getArguments())
          if (auto named = dyn_cast<NameLoc>(arg.getLoc()))
            arg.setLoc(named.getChildLoc());
        launch.setFunctionAttr(FlatSymbolRefAttr::get(ctx, unique));
        launch.setModuleAttr(FlatSymbolRefAttr::get(ctx, "kiln_kernels"));
      });
    }
  }
};

} // namespace
