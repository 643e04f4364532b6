// The element types a model's tensors may have: one definition for the
// frontend, the dialect (through ir/DTypes.h), the manifest and the runtime.
// Plain C++, header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

enum class DType : uint8_t { F32, F64, I32, I64, U8 };

/// Every dtype, in the order the language lists them.
inline constexpr DType kAllDTypes[] = {DType::F32, DType::F64, DType::I32, DType::I64,
                                      DType::U8};

/// "f32", "f64", "i32", "i64", "u8": the model language's and the manifest's names.
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

/// Bytes per element.
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

inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }

/// The dtype named `s`, or nullopt.
inline std::optional<DType> parseDType(std::string_view s) {
  for (DType t : kAllDTypes)
    if (s == dtypeName(t))
      return t;
  return std::nullopt;
}

} // namespace kiln
