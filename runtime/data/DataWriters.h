// Writing outputs: NPY (v1.0) or CSV, chosen by the path's extension.
#pragma once

#include "runtime/Tensor.h"

#include <string>

namespace kiln::runtime {

/// Whether `path` ends in an extension saveData can write (.npy, .csv).
bool isWritableDataPath(const std::string &path);

/// Writes `t` to PATH atomically. "" on success, else a one-line message.
std::string saveData(const std::string &path, const Tensor &t);

/// NPY v1.0, little-endian, C order.
std::string saveNpy(const std::string &path, const Tensor &t);

/// One sample (the leading dimension) a row, its values in row-major order,
/// no header; floats printed so that they read back exactly (%.9g, %.17g).
std::string saveCsv(const std::string &path, const Tensor &t);

} // namespace kiln::runtime
