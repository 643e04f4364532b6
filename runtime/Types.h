// Element types and shapes, shared by the manifest, tensors and file formats.
// Header-only so that the compiler can use Manifest.h without the runtime.
#pragma once

#include "common/DType.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime {

// The one DType, shared with the compiler (common/DType.h).
using kiln::DType;
using kiln::dtypeName;
using kiln::dtypeSize;
using kiln::isFloat;
using kiln::parseDType;

/// "[28, 28]"; a dimension of -1 (the batch) prints as N.
inline std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] < 0 ? std::string("N") : std::to_string(shape[i]);
  }
  return s + "]";
}

/// The element count of a shape; false if a size is negative or the product
/// does not fit in 2^62 (so that times an element size it still fits).
inline bool checkedNumel(const std::vector<int64_t> &shape, int64_t &out) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && n > (int64_t(1) << 62) / d)
      return false;
    n *= d;
  }
  out = n;
  return true;
}

} // namespace kiln::runtime
