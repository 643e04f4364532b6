// kiln-gpu-native-math: after convert-gpu-to-nvvm, the kernels' calls into
// CUDA's libdevice for operations PTX has as single IEEE instructions become
// the LLVM intrinsics the NVPTX backend selects directly: __nv_fabs[f]
// (abs), __nv_fma[f] (fma.rn), __nv_sqrt[f] (sqrt.rn), __nv_floor[f],
// __nv_ceil[f], __nv_trunc[f] (cvt.r*i) and __nv_copysign[f]. (The
// conversion itself marks these intrinsics illegal, so the rewrite comes
// after it.) Models using only these then compile with no CUDA toolkit, and
// the results are the exact IEEE operations the CPU computes. exp, log, erf,
// pow and tanh (without kiln-approximate-tanh) stay libdevice calls.
#include "codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_GPUNATIVEMATH
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

template <typename To> Operation *make(OpBuilder &b, LLVM::CallOp call) {
  return To::create(b, call.getLoc(), call.getResult().getType(), call.getArgOperands());
}

Operation *intrinsic(OpBuilder &b, LLVM::CallOp call) {
  std::optional<StringRef> callee = call.getCallee();
  if (!callee || !callee->starts_with("__nv_") || call.getNumResults() != 1)
    return nullptr;
  StringRef name = callee->drop_front(5);
  name.consume_back("f"); // the f32 variant
  if (name == "fabs")
    return make<LLVM::FAbsOp>(b, call);
  if (name == "fma")
    return make<LLVM::FMAOp>(b, call);
  if (name == "sqrt")
    return make<LLVM::SqrtOp>(b, call);
  if (name == "floor")
    return make<LLVM::FFloorOp>(b, call);
  if (name == "ceil")
    return make<LLVM::FCeilOp>(b, call);
  if (name == "trunc")
    return make<LLVM::FTruncOp>(b, call);
  if (name == "copysign")
    return make<LLVM::CopySignOp>(b, call);
  return nullptr;
}

struct GpuNativeMathPass : public kiln::impl::GpuNativeMathBase<GpuNativeMathPass> {
  void runOnOperation() override {
    SmallVector<LLVM::CallOp> calls;
    getOperation().walk([&](LLVM::CallOp call) { calls.push_back(call); });
    OpBuilder b(&getContext());
    for (LLVM::CallOp call : calls) {
      b.setInsertionPoint(call);
      if (Operation *op = intrinsic(b, call)) {
        call.getResult().replaceAllUsesWith(op->getResult(0));
        call.erase();
      }
    }
    // Declarations nothing calls any more.
    SmallVector<LLVM::LLVMFuncOp> unused;
    getOperation().walk([&](LLVM::LLVMFuncOp func) {
      if (func.isExternal() && func.getName().starts_with("__nv_") &&
          SymbolTable::symbolKnownUseEmpty(func, func->getParentOp()))
        unused.push_back(func);
    });
    for (LLVM::LLVMFuncOp func : unused)
      func.erase();
  }
};

} // namespace
