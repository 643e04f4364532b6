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

/// The most bytes of data one file may decode to (the tensor, in the
/// declared dtype), checked before anything is allocated: the environment
/// variable KILN_MAX_DATA_BYTES when set (bytes, or a number with a K, M, G
/// or T suffix, binary units: "64G"), else the smallest of 16 GiB, half the
/// machine's physical memory and a quarter of the address-space limit
/// (RLIMIT_AS), so a file too large for the machine is a clear exit 2 rather
/// than "out of memory". Reading peaks at about twice the decoded data
/// (gzip streams), usually once (NPY, plain IDX, CSV).
uint64_t maxDataBytes();

/// "" when KILN_MAX_DATA_BYTES is unset or well formed, else what is wrong.
std::string checkDataLimitEnvironment();

/// "the data limit of 16 GiB (KILN_MAX_DATA_BYTES)", for messages.
std::string dataLimitText();

/// A byte count for people: "512 MiB", "1.5 GiB", "100 bytes".
std::string humanBytes(uint64_t bytes);

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
