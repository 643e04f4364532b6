// kiln-matmul-to-call: linalg.matmul on buffers -> the runtime's GEMM. A
// product that reads A or B transposed (indexing_maps) passes a
// memref.transpose view: the GEMM takes any strides, so nothing is copied.
// A product right after a zero fill of its accumulator drops the fill and
// asks the GEMM to write C instead of adding to it (accumulate = 0): one
// pass over C less, the same bits. A window product (A times a
// convolution's im2col, read from the image; codegen/LinalgNames.h) calls
// kiln_conv_matmul with the image and its window instead.
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
    SmallVector<linalg::GenericOp> windowProducts;
    module.walk([&](linalg::GenericOp op) {
      if (op.hasPureBufferSemantics() && kiln::windowProduct(op))
        windowProducts.push_back(op);
    });
    for (linalg::GenericOp op : windowProducts)
      windowProductToCall(module, op);
    for (linalg::MatmulOp op : matmuls) {
      Type elem = cast<MemRefType>(op.getDpsInits()[0].getType()).getElementType();
      if (!elem.isF32() && !elem.isF64())
        continue;
      // One signature for every call: rank-2 memrefs of any strides and offset.
      auto layout = StridedLayoutAttr::get(&getContext(), ShapedType::kDynamic,
                                           {ShapedType::kDynamic, ShapedType::kDynamic});
      auto type = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elem, layout);
      OpBuilder b(op);
      func::FuncOp callee = declare(module, elem.isF32() ? "kiln_matmul_f32" : "kiln_matmul_f64",
                                    b.getFunctionType({type, type, type, b.getIndexType()}, {}));
      SmallVector<Value> args;
      linalg::FillOp zeros = zeroFillBefore(op, op.getDpsInits()[0]);
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

  /// C (+)= A * im2col(image): kiln_conv_matmul_f32/f64(A, image, C, kh, kw,
  /// sh, sw, ph, pw, rows, accumulate). A read transposed (its map (p, i))
  /// passes a transposed view, as for a matmul.
  void windowProductToCall(ModuleOp module, linalg::GenericOp op) {
    kiln::WindowProduct window = *kiln::windowProduct(op);
    Value a = op.getDpsInputs()[0], c = op.getDpsInits()[0];
    Type elem = cast<MemRefType>(c.getType()).getElementType();
    MLIRContext *ctx = &getContext();
    AffineExpr i = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx),
               p = getAffineDimExpr(2, ctx);
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    bool aT = maps[0] == AffineMap::get(3, 0, {p, i}, ctx);
    if ((!aT && maps[0] != AffineMap::get(3, 0, {i, p}, ctx)) ||
        maps[1] != AffineMap::get(3, 0, {i, j}, ctx) || (!elem.isF32() && !elem.isF64()))
      return; // not a form the runtime takes: it stays loops
    auto stridedType = [&](int64_t rank) {
      SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
      auto layout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, shape);
      return MemRefType::get(shape, elem, layout);
    };
    MemRefType matrix = stridedType(2), image = stridedType(4);
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Type> types{matrix, image, matrix};
    types.append(8, b.getIndexType());
    func::FuncOp callee = declare(module, elem.isF32() ? "kiln_conv_matmul_f32" : "kiln_conv_matmul_f64",
                                  b.getFunctionType(types, {}));
    linalg::FillOp zeros = zeroFillBefore(op, c);
    if (aT)
      a = memref::TransposeOp::create(
          b, loc, a, AffineMapAttr::get(AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx)));
    auto cast = [&](Value v, MemRefType type) {
      return v.getType() == type ? v : memref::CastOp::create(b, loc, type, v).getResult();
    };
    SmallVector<Value> args{cast(a, matrix), cast(window.image, image), cast(c, matrix)};
    for (int64_t v : {window.kernel[0], window.kernel[1], window.stride[0], window.stride[1],
                      window.padding[0], window.padding[1], int64_t(window.rows), int64_t(zeros ? 0 : 1)})
      args.push_back(arith::ConstantIndexOp::create(b, loc, v));
    func::CallOp::create(b, loc, callee, args);
    op.erase();
    if (zeros)
      zeros.erase();
  }

  /// The op before `op` when it fills op's accumulator `c` (the same buffer)
  /// with +0.0, so that nothing reads the zeros but the product.
  static linalg::FillOp zeroFillBefore(Operation *op, Value c) {
    auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
    if (!fill || !fill.hasPureBufferSemantics() || fill.getDpsInits()[0] != c)
      return {};
    auto value = fill.getDpsInputs()[0].getDefiningOp<arith::ConstantOp>();
    auto zero = value ? dyn_cast<FloatAttr>(value.getValue()) : FloatAttr();
    if (!zero || !zero.getValue().isPosZero())
      return {};
    return fill;
  }

  func::FuncOp declare(ModuleOp module, StringRef name, FunctionType type) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b(module.getBodyRegion());
    auto func = func::FuncOp::create(b, module.getLoc(), name, type);
    func.setPrivate();
    func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return func;
  }
};

} // namespace
