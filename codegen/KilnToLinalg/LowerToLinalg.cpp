// kiln-lower-to-linalg: every primitive kiln op becomes linalg, tensor,
// arith, math and scf ops on tensors, through one conversion pattern per op
// (the files beside this one, by family). Composite ops are expressed
// through primitives first by kiln-decompose; an op without a pattern makes
// the conversion fail and names the op. u8 tensors become signless i8; the
// patterns read signedness off the original op.
#include "codegen/KilnToLinalg/Builders.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::ir;

namespace kiln::lowering {
namespace {

/// u8 tensors become i8 tensors; everything else stays.
class SignlessConverter : public TypeConverter {
public:
  SignlessConverter() {
    addConversion([](Type t) { return t; });
    addConversion([](RankedTensorType t) -> Type {
      auto i = dyn_cast<IntegerType>(t.getElementType());
      if (!i || i.isSignless())
        return t;
      return t.clone(IntegerType::get(t.getContext(), i.getWidth()));
    });
    auto cast = [](OpBuilder &b, Type type, ValueRange inputs, Location loc) -> Value {
      return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
    };
    addSourceMaterialization(cast);
    addTargetMaterialization(cast);
  }
};

} // namespace

void populateKilnToLinalgPatterns(bool scatterByOwner, bool windowProducts,
                                  const TypeConverter &converter, RewritePatternSet &patterns) {
  populateElementwisePatterns(converter, patterns);
  populateReductionPatterns(converter, patterns);
  populateLossPatterns(converter, patterns);
  populateLinearAlgebraPatterns(windowProducts, converter, patterns);
  populateConvolutionPoolingPatterns(converter, patterns);
  populateDataMovementPatterns(converter, patterns);
  populateEmbeddingPatterns(scatterByOwner, converter, patterns);
  populateCollectivePatterns(converter, patterns);
}

namespace {

struct LowerToLinalgPass : public kiln::impl::LowerToLinalgBase<LowerToLinalgPass> {
  using LowerToLinalgBase::LowerToLinalgBase;
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    SignlessConverter converter;
    ConversionTarget target(*context);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalOp<ModuleOp, UnrealizedConversionCastOp>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, scf::SCFDialect, memref::MemRefDialect,
                           bufferization::BufferizationDialect>();
    target.addLegalOp<func::CallOp>(); // the runtime's collectives
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<tensor::DimOp>(
        [&](tensor::DimOp d) { return converter.isLegal(d.getSource().getType()); });
    target.addDynamicallyLegalOp<func::ReturnOp>(
        [&](func::ReturnOp r) { return converter.isLegal(r.getOperandTypes()); });
    RewritePatternSet patterns(context);
    populateKilnToLinalgPatterns(scatterByOwner, windowProducts, converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    if (failed(applyFullConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln::lowering
