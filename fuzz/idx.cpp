// Fuzz target: the IDX reader (gzipped or not), runtime::loadIdx, on any
// bytes, with the dtype and per-sample shape the first byte picks (FuzzData.h).
#include "FuzzData.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return kiln::fuzz::runDataTarget("idx", data, size, kiln::runtime::loadIdx);
}
