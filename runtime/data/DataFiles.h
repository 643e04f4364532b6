// Reading data files (inputs and targets): IDX (MNIST family, gzipped or
// not), NPY and CSV. The first dimension of a file counts samples; the rest
// must equal the declared per-sample shape. Values convert to the declared
// dtype only where no value can change (see docs/runtime.md).
#pragma once

#include "runtime/Result.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// No data file may hold more than this many bytes of data (a bound for
/// gzip streams, whose real size is unknown until they are read).
constexpr uint64_t kMaxDataBytes = uint64_t(16) << 30;

/// Loads PATH as a tensor of shape [samples] + sampleShape and dtype `dtype`.
/// The format comes from the content (NPY and IDX magic, gzip) and the
/// extension (.npy, .csv). Errors are one line starting with PATH.
Result<Tensor> loadData(const std::string &path, DType dtype,
                        const std::vector<int64_t> &sampleShape);

/// The same, for one format regardless of the file's extension.
Result<Tensor> loadIdx(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape);
Result<Tensor> loadNpy(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape);
/// CSV: one sample a row, its values in row-major order; a first row whose
/// cells are all non-numeric is a header and is skipped; blank lines are
/// skipped. Integer dtypes take integral values in range; float dtypes take
/// any decimal number (rounded to nearest), except one that overflows.
Result<Tensor> loadCsv(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape);

} // namespace kiln::runtime
