// Fuzz target: the CSV reader, runtime::loadCsv, on any bytes, with the
// dtype and per-sample shape that the input's first byte picks (FuzzData.h).
#include "FuzzData.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return kiln::fuzz::runDataTarget("csv", data, size, kiln::runtime::loadCsv);
}
