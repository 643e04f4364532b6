// kiln-matmul-to-call: linalg.matmul on buffers -> the runtime's GEMM. A
// product that reads A or B transposed (indexing_maps) passes a
// memref.transpose view: the GEMM takes any strides, so nothing is copied.
// A product right after a zero fill of its accumulator drops the fill and
// asks the GEMM to write C instead of adding to it (accumulate = 0): one
// pass over C less, the same bits.
#include "codegen/Passes.h"
#include "codegen/LinalgNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

#include <optional>

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
      if (op.hasPureBufferSemantics() && kiln::matmulTransposes(op))
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
      linalg::FillOp zeros = zeroFillBefore(op);
      auto [aT, bT] = *kiln::matmulTransposes(op);
      auto swap = AffineMapAttr::get(AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, &getContext()));
      for (auto [v, t] : {std::pair{op.getDpsInputs()[0], aT}, std::pair{op.getDpsInputs()[1], bT},
                          std::pair{op.getDpsInits()[0], false}}) {
        if (t) // a view with swapped strides: the GEMM reads the operand in place
          v = memref::TransposeOp::create(b, op.getLoc(), v, swap);
        args.push_back(v.getType() == type ? v : memref::CastOp::create(b, op.getLoc(), type, v));
      }
      args.push_back(arith::ConstantIndexOp::create(b, op.getLoc(), zeros ? 0 : 1));
      func::CallOp::create(b, op.getLoc(), callee, args);
      op.erase();
      if (zeros)
        zeros.erase();
    }
  }

  /// The op before `op` when it fills op's accumulator (the same buffer)
  /// with +0.0, so that nothing reads the zeros but the product.
  static linalg::FillOp zeroFillBefore(linalg::MatmulOp op) {
    auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
    if (!fill || !fill.hasPureBufferSemantics() ||
        fill.getDpsInits()[0] != op.getDpsInits()[0])
      return {};
    auto value = fill.getDpsInputs()[0].getDefiningOp<arith::ConstantOp>();
    auto zero = value ? dyn_cast<FloatAttr>(value.getValue()) : FloatAttr();
    if (!zero || !zero.getValue().isPosZero())
      return {};
    return fill;
  }

  func::FuncOp declare(ModuleOp module, StringRef name, MemRefType type) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b(module.getBodyRegion());
    auto func = func::FuncOp::create(b, module.getLoc(), name,
                                     b.getFunctionType({type, type, type, b.getIndexType()}, {}));
    func.setPrivate();
    func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return func;
  }
};

} // namespace
