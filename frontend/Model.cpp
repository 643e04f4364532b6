// The printed form of tensor types.
#include "frontend/Model.h"

#include "common/Shapes.h"

namespace kiln {

std::string TensorType::str() const { return dtypeName(dtype) + shapes::str(shape); }

} // namespace kiln
