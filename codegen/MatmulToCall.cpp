// kiln-matmul-to-call: linalg.matmul on buffers -> the runtime's GEMM.
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_MATMULTOCALL
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct MatmulToCallPass : public kiln::impl::MatmulToCallBase<MatmulToCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::MatmulOp> matmuls;
    module.walk([&](linalg::MatmulOp op) {
      if (op.hasPureBufferSemantics() && !op.hasUserDefinedMaps())
        matmuls.push_back(op);
    });
    for (linalg::MatmulOp op : matmuls) {
      Type elem = cast<MemRefType>(op.getDpsInits()[0].getType()).getElementType();
      if (!elem.isF32() && !elem.isF64())
        continue;
      // One signature for every call: rank-2 memrefs of any strides and offset.
      auto layout = StridedLayoutAttr::get(&getContext(), ShapedType::kDynamic,
                                           {ShapedType::kDynamic, ShapedType::kDynamic});
      auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elem, layout);
      func::FuncOp callee = declare(module, elem.isF32() ? "kiln_matmul_f32" : "kiln_matmul_f64", type);
      OpBuilder b(op);
      SmallVector<Value> args;
      for (Value v : {op.getDpsInputs()[0], op.getDpsInputs()[1], op.getDpsInits()[0]})
        args.push_back(v.getType() == type ? v : memref::CastOp::create(b, op.getLoc(), type, v));
      func::CallOp::create(b, op.getLoc(), callee, args);
      op.erase();
    }
  }

  func::FuncOp declare(ModuleOp module, StringRef name, MemRefType type) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b(module.getBodyRegion());
    auto func = func::FuncOp::create(b, module.getLoc(), name,
                                     b.getFunctionType({type, type, type}, {}));
    func.setPrivate();
    func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return func;
  }
};

} // namespace
