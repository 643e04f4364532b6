#include "ir/KilnDialect.h"
#include "ir/KilnAttrs.h"
#include "ir/KilnCodegenOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace kiln::ir;

#include "ir/KilnOpsDialect.cpp.inc"
#include "ir/KilnInterfaces.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/KilnOps.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ir/KilnCodegenOps.cpp.inc"
      >();
  registerAttributes(); // ir/KilnAttrs.cpp
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
