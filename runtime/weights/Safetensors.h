// The safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {string: string}}, then the data buffer. Validation follows the Rust
// safetensors crate: the offsets, sorted, must tile the buffer exactly (no gap,
// no overlap), and each tensor's byte size must be its element count times
// its dtype's size.
#pragma once

#include "runtime/Result.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::runtime {

/// The largest header accepted (the Rust crate's limit).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct SafetensorsEntry {
  std::string name;
  std::string dtype; // "F32", "BF16", ... as in the file
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // byte range inside the data buffer
};

/// A validated header: where each tensor lies in the file.
struct SafetensorsIndex {
  std::string path;
  std::vector<SafetensorsEntry> entries; // in file order of data_offsets
  std::map<std::string, std::string> metadata;
  uint64_t dataStart = 0; // file offset of the data buffer

  const SafetensorsEntry *find(const std::string &name) const;
};

/// Reads and validates the header of PATH.
Result<SafetensorsIndex> readSafetensorsIndex(const std::string &path);

/// The model dtype of a safetensors dtype name ("F32" -> f32); false for the
/// dtypes no model uses (F16, BF16, ...).
bool safetensorsDType(const std::string &name, DType &out);
const char *safetensorsName(DType t);

/// Reads one entry's bytes into a tensor of its dtype and shape.
Result<Tensor> readSafetensor(const SafetensorsIndex &index,
                              const SafetensorsEntry &entry);

struct NamedTensor {
  std::string name;
  const Tensor *tensor;
};

/// Writes the tensors, in order, atomically (PATH.tmp.<pid>, fsync, rename).
std::string writeSafetensors(const std::string &path,
                             const std::vector<NamedTensor> &tensors,
                             const std::map<std::string, std::string> &metadata);

} // namespace kiln::runtime
