// Verifiers of the code generation ops (ir/KilnCodegenOps.td).
#include "ir/KilnCodegenOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace kiln::ir;

#define GET_OP_CLASSES
#include "ir/KilnCodegenOps.cpp.inc"

LogicalResult FusionOp::verify() {
  auto yield = dyn_cast<YieldOp>(getBody().front().getTerminator());
  if (!yield)
    return emitOpError("body must end in kiln.yield");
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yields ")
           << yield.getValues().getTypes() << " but returns " << getResultTypes();
  return success();
}
