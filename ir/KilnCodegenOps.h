// The kiln dialect's code generation ops (ir/KilnCodegenOps.td): fusion
// regions and the threaded loop over tiles. Only code generation includes
// this header.
#pragma once

#include "ir/KilnDialect.h"


#define GET_OP_CLASSES
#include "ir/KilnCodegenOps.h.inc"
