// kiln-approximate-exp: f32 math.exp becomes MLIR's polynomial approximation
// (a range reduction to 2^k * exp(r), a polynomial in r), plain arith ops
// that LLVM vectorizes. glibc's expf is a scalar call: it was 12% of the
// LSTM's train step (its sigmoid gates). f64 keeps libm's exp. The CPU
// pipeline only: a GPU kernel's exp is the device's own.
#include "codegen/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_APPROXIMATEEXP
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct ApproximateExpPass : public kiln::impl::ApproximateExpBase<ApproximateExpPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef op) { return op == math::ExpOp::getOperationName(); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
