// Element types and shapes, shared by the manifest, tensors and file formats.
// Header-only so that the compiler can use Manifest.h without the runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime {

/// The element types a model's tensors may have.
enum class DType : uint8_t { F32, F64, I32, I64, U8 };

inline size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F64: return 8;
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::U8: return 1;
  }
  return 0;
}

inline const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::U8: return "u8";
  }
  return "?";
}

inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }

inline bool parseDType(std::string_view s, DType &out) {
  static const DType all[] = {DType::F32, DType::F64, DType::I32, DType::I64,
                              DType::U8};
  for (DType t : all)
    if (s == dtypeName(t)) {
      out = t;
      return true;
    }
  return false;
}

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
