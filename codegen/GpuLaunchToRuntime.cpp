// kiln-gpu-launch-to-runtime: the host side of a cuda executable. After
// gpu-module-to-binary and the host's lowering to the LLVM dialect
// (gpu-to-llvm has turned every gpu.launch_func's operands into LLVM values,
// memrefs expanded to their descriptors' fields), each gpu.launch_func
// becomes a call into the Kiln runtime (runtime/gpu/CudaRuntime.cpp):
//
//   void kiln_cuda_launch(i32 kernel, i64 gx, i64 gy, i64 gz,
//                         i64 bx, i64 by, i64 bz, i32 sharedBytes,
//                         ptr args, i32 nargs)
//
// where `kernel` indexes the NUL-separated name table and `args` is an array
// of pointers to the kernel's parameters (cuLaunchKernel's kernelParams).
// The gpu.binary becomes globals the runtime loads lazily, on the first
// launch: kiln_cuda_image (a fatbin holding the cubin and the PTX when ptxas
// was there at build time, else the PTX, NUL-terminated, for the driver's
// JIT), kiln_cuda_image_size, kiln_cuda_image_is_ptx, kiln_cuda_kernel_names
// (each name NUL-terminated, in kernel-index order), kiln_cuda_kernel_count,
// and each kernel's parameter sizes (kiln_cuda_kernel_param_start and
// kiln_cuda_kernel_param_bytes).
//
// Launches are asynchronous (one stream). Before the first host operation
// after a launch that may touch memory the kernels use (a load or store not
// into the function's own stack slots, a call other than the launcher, the
// generated code's alloc/free and the all-reduce: conservative), the pass
// calls kiln_cuda_sync(), so the host's scalar code reads finished results.
// A return submits the launches it recorded without waiting
// (kiln_cuda_submit()): the runtime waits before it reads what the call
// wrote, and the train loop stages the next step meanwhile. A call to a
// function of the module may return with its launches submitted and not
// finished, so its caller synchronizes before the host touches memory after
// it. "After" follows the branches (a dataflow over the blocks): a run of
// launches with nothing between them, a loop of them included, is not
// synchronized.
#include "codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>

namespace kiln {
#define GEN_PASS_DEF_GPULAUNCHTORUNTIME
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

void addGlobal(OpBuilder &b, Location loc, StringRef name, Type type, Attribute value) {
  auto global = LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true, LLVM::Linkage::External,
                                       name, value);
  (void)global;
}

void addBytes(OpBuilder &b, Location loc, StringRef name, StringRef bytes) {
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
  addGlobal(b, loc, name, type, b.getStringAttr(bytes));
}

struct GpuLaunchToRuntimePass
    : public kiln::impl::GpuLaunchToRuntimeBase<GpuLaunchToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Location loc = module.getLoc();

    // The kernels' image: one gpu.binary (@kiln_kernels), one object.
    std::string image;
    bool isPtx = true;
    SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
    if (binaries.size() != 1) {
      module.emitError("kiln-gpu-launch-to-runtime: expected one gpu.binary, found ")
          << binaries.size();
      return signalPassFailure();
    }
    for (Attribute attr : binaries[0].getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attr);
      if (!object)
        continue;
      image = object.getObject().getValue().str();
      isPtx = object.getFormat() == gpu::CompilationTarget::Assembly;
      break;
    }
    if (image.empty()) {
      binaries[0].emitError("kiln-gpu-launch-to-runtime: the gpu.binary holds no object");
      return signalPassFailure();
    }
    if (isPtx && image.back() != '\0')
      image.push_back('\0');

    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    auto i32 = b.getI32Type();
    auto i64 = b.getI64Type();
    b.setInsertionPointToEnd(module.getBody());
    auto launchTy = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(ctx), {i32, i64, i64, i64, i64, i64, i64, i32, ptrTy, i32});
    if (!module.lookupSymbol("kiln_cuda_launch"))
      LLVM::LLVMFuncOp::create(b, loc, "kiln_cuda_launch", launchTy);

    llvm::StringMap<unsigned> indexOf;
    std::vector<std::string> names;
    // Each kernel's parameter sizes in bytes: the runtime copies the
    // parameters by value to replay a run of launches as a CUDA graph.
    std::vector<SmallVector<int32_t>> paramBytes;
    DataLayout layout(module);
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    for (gpu::LaunchFuncOp launch : launches) {
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.hasClusterSize()) {
        launch.emitError("kiln-gpu-launch-to-runtime: async or clustered launches are not supported");
        return signalPassFailure();
      }
      auto func = launch->getParentOfType<LLVM::LLVMFuncOp>();
      if (!func) {
        launch.emitError("kiln-gpu-launch-to-runtime: run after the host's lowering to LLVM");
        return signalPassFailure();
      }
      std::string name = launch.getKernelName().getValue().str();
      auto [it, inserted] = indexOf.try_emplace(name, names.size());
      Location l = launch.getLoc();
      ValueRange operands = launch.getKernelOperands();
      SmallVector<int32_t> sizes;
      for (Value operand : operands)
        sizes.push_back(int32_t(layout.getTypeSize(operand.getType()).getFixedValue()));
      if (inserted) {
        names.push_back(name);
        paramBytes.push_back(sizes);
      } else if (paramBytes[it->second] != sizes) {
        launch.emitError("kiln-gpu-launch-to-runtime: kernel ")
            << name << " is launched with parameters of different sizes";
        return signalPassFailure();
      }
      // The argument slots live in the function's entry block: a launch
      // inside a loop reuses them.
      OpBuilder entry(ctx);
      entry.setInsertionPointToStart(&func.getBody().front());
      Value count = LLVM::ConstantOp::create(entry, l, i64,
                                             entry.getI64IntegerAttr(std::max<size_t>(1, operands.size())));
      Value one = LLVM::ConstantOp::create(entry, l, i64, entry.getI64IntegerAttr(1));
      Value args = LLVM::AllocaOp::create(entry, l, ptrTy, ptrTy, count, 8);
      SmallVector<Value> slots;
      for (Value operand : operands)
        slots.push_back(LLVM::AllocaOp::create(entry, l, ptrTy, operand.getType(), one, 8));

      b.setInsertionPoint(launch);
      for (auto [i, operand] : llvm::enumerate(operands)) {
        LLVM::StoreOp::create(b, l, operand, slots[i]);
        Value at = LLVM::GEPOp::create(b, l, ptrTy, ptrTy, args,
                                       ArrayRef<LLVM::GEPArg>{int32_t(i)});
        LLVM::StoreOp::create(b, l, slots[i], at);
      }
      auto toI64 = [&](Value v) -> Value {
        if (v.getType() == i64)
          return v;
        if (v.getType().isIndex())
          return UnrealizedConversionCastOp::create(b, l, i64, v).getResult(0);
        return LLVM::ZExtOp::create(b, l, i64, v);
      };
      Value shared = launch.getDynamicSharedMemorySize()
                         ? launch.getDynamicSharedMemorySize()
                         : LLVM::ConstantOp::create(b, l, i32, b.getI32IntegerAttr(0)).getResult();
      SmallVector<Value> callArgs = {
          LLVM::ConstantOp::create(b, l, i32, b.getI32IntegerAttr(it->second)),
          toI64(launch.getGridSizeX()),  toI64(launch.getGridSizeY()),
          toI64(launch.getGridSizeZ()),  toI64(launch.getBlockSizeX()),
          toI64(launch.getBlockSizeY()), toI64(launch.getBlockSizeZ()),
          shared,
          args,
          LLVM::ConstantOp::create(b, l, i32, b.getI32IntegerAttr(operands.size()))};
      LLVM::CallOp::create(b, l, launchTy, "kiln_cuda_launch", callArgs);
      launch.erase();
    }

    // Synchronize before the host may touch memory after a launch; submit
    // at a return.
    auto syncTy = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {});
    for (StringRef name : {"kiln_cuda_sync", "kiln_cuda_submit"})
      if (!module.lookupSymbol(name)) {
        b.setInsertionPointToEnd(module.getBody());
        LLVM::LLVMFuncOp::create(b, loc, name, syncTy);
      }
    // A call to a function defined here: it may have launched and returned
    // without waiting.
    auto mayLeaveLaunches = [&](Operation &op) {
      auto call = dyn_cast<LLVM::CallOp>(op);
      if (!call || !call.getCallee())
        return false;
      auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(*call.getCallee());
      return callee && !callee.getBody().empty();
    };
    auto onStack = [](Value addr) {
      while (Operation *def = addr.getDefiningOp()) {
        if (isa<LLVM::AllocaOp>(def))
          return true;
        auto gep = dyn_cast<LLVM::GEPOp>(def);
        if (!gep)
          return false;
        addr = gep.getBase();
      }
      return false;
    };
    auto isCallTo = [](Operation &op, StringRef name) {
      auto call = dyn_cast<LLVM::CallOp>(op);
      return call && call.getCallee() && *call.getCallee() == name;
    };
    // A branch carries pending launches to its successors (their code runs
    // in stream order after them), so a loop of launches synchronizes once,
    // where the host first touches memory after it; `llvm.return` submits
    // them (the caller waits before it reads the results).
    auto needsSync = [&](Operation &op) {
      if (op.hasTrait<OpTrait::IsTerminator>())
        return !isa<LLVM::BrOp, LLVM::CondBrOp, LLVM::SwitchOp>(op);
      // A pointer or a descriptor is argument plumbing (the C-interface
      // wrappers read the caller's descriptors); the kernels' data is
      // numbers.
      if (auto load = dyn_cast<LLVM::LoadOp>(op))
        return !onStack(load.getAddr()) &&
               !isa<LLVM::LLVMPointerType, LLVM::LLVMStructType>(load.getType());
      if (auto store = dyn_cast<LLVM::StoreOp>(op))
        return !onStack(store.getAddr());
      // The all-reduce (its C-interface wrapper: the descriptors it stores
      // are stack slots) reads nothing with one process and waits itself
      // (kiln_cuda_sync) before it reads with several.
      // The workspace and alloc/free hand out memory without touching it
      // (kernels using a block before and after are ordered by the stream).
      // A function of the module waits itself before it touches memory
      // (its entry starts with work submitted).
      if (isCallTo(op, "kiln_cuda_launch") || isCallTo(op, "_mlir_memref_to_llvm_alloc") ||
          isCallTo(op, "_mlir_memref_to_llvm_free") || mayLeaveLaunches(op))
        return false;
      for (StringRef callee : {"kiln_all_reduce_mean_f32", "kiln_all_reduce_mean_f64",
                               "kiln_workspace"})
        if (isCallTo(op, callee) || isCallTo(op, ("_mlir_ciface_" + callee).str()))
          return false;
      if (isa<LLVM::AllocaOp, LLVM::LifetimeStartOp, LLVM::LifetimeEndOp>(op))
        return false;
      return !isMemoryEffectFree(&op);
    };
    // What may be unfinished at a point, ordered so that a join takes the
    // larger: nothing, work submitted by a callee (the host must wait before
    // it touches memory; a return has nothing to submit), or launches
    // recorded here (a return submits them).
    enum Pending { None, Submitted, Recorded };
    // What may be unfinished when `block` ends, given what may be when it
    // begins; `insert` places the synchronizations and submissions.
    auto scan = [&](Block &block, Pending pending, bool insert) {
      for (Operation &op : block) {
        if (isCallTo(op, "kiln_cuda_launch")) {
          pending = Recorded;
          continue;
        }
        if (pending != None && needsSync(op)) {
          bool ret = isa<LLVM::ReturnOp>(op);
          if (insert && (!ret || pending == Recorded)) {
            b.setInsertionPoint(&op);
            LLVM::CallOp::create(b, op.getLoc(), syncTy,
                                 ret ? "kiln_cuda_submit" : "kiln_cuda_sync", ValueRange{});
          }
          pending = None;
        }
        if (mayLeaveLaunches(op))
          pending = std::max(pending, Submitted);
      }
      return pending;
    };
    module.walk([&](LLVM::LLVMFuncOp func) {
      if (func.getBody().empty())
        return;
      // Forward dataflow to a fixed point: pending at a block's start if it
      // may be at the end of any predecessor. The entry starts with work
      // submitted: the previous call's kernels may still run (train keeps a
      // step in flight), so the host waits before it touches memory even
      // before its first launch.
      llvm::DenseMap<Block *, Pending> pendingAtEnd;
      auto pendingAtStart = [&](Block *block) {
        Pending p = block->isEntryBlock() ? Submitted : None;
        for (Block *pred : block->getPredecessors())
          p = std::max(p, pendingAtEnd.lookup(pred));
        return p;
      };
      for (bool changed = true; changed;) {
        changed = false;
        for (Block &block : func.getBody()) {
          Pending end = scan(block, pendingAtStart(&block), /*insert=*/false);
          if (end > pendingAtEnd.lookup(&block)) {
            pendingAtEnd[&block] = end;
            changed = true;
          }
        }
      }
      for (Block &block : func.getBody())
        scan(block, pendingAtStart(&block), /*insert=*/true);
    });

    std::string table;
    for (const std::string &name : names)
      table += name + '\0';
    table.push_back('\0');
    b.setInsertionPointToEnd(module.getBody());
    addBytes(b, loc, "kiln_cuda_image", image);
    addGlobal(b, loc, "kiln_cuda_image_size", i64, b.getI64IntegerAttr(image.size()));
    addGlobal(b, loc, "kiln_cuda_image_is_ptx", i32, b.getI32IntegerAttr(isPtx ? 1 : 0));
    addBytes(b, loc, "kiln_cuda_kernel_names", table);
    addGlobal(b, loc, "kiln_cuda_kernel_count", i32, b.getI32IntegerAttr(names.size()));
    // kiln_cuda_kernel_param_start[k] .. [k + 1] index kernel k's sizes in
    // kiln_cuda_kernel_param_bytes.
    SmallVector<int32_t> starts = {0}, bytes;
    for (const SmallVector<int32_t> &sizes : paramBytes) {
      llvm::append_range(bytes, sizes);
      starts.push_back(int32_t(bytes.size()));
    }
    if (bytes.empty())
      bytes.push_back(0);
    auto i32Array = [&](StringRef name, ArrayRef<int32_t> values) {
      auto type = RankedTensorType::get({int64_t(values.size())}, i32);
      addGlobal(b, loc, name, LLVM::LLVMArrayType::get(i32, values.size()),
                DenseElementsAttr::get(type, values));
    };
    i32Array("kiln_cuda_kernel_param_start", starts);
    i32Array("kiln_cuda_kernel_param_bytes", bytes);
    binaries[0].erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
