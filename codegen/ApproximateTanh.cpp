// kiln-approximate-tanh: f32 math.tanh becomes MLIR's polynomial
// approximation (a rational function on a clamped input), plain arith ops
// that LLVM vectorizes. glibc's tanhf (through expm1f) is scalar: it was
// about 40% of the RNN's train step. f64 keeps libm's tanh.
#include "codegen/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_APPROXIMATETANH
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct ApproximateTanhPass : public kiln::impl::ApproximateTanhBase<ApproximateTanhPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateTanhPattern(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
