// Fuzz target: the safetensors reader on any bytes: the header's validation
// (readSafetensorsIndex), reading every tensor a model could hold
// (readSafetensor), and strict loading against a fixed model, as
// `--weights`/`--init` do (loadParams: fc.weight f32[2, 3], fc.bias f32[2]).
#include "FuzzData.h"

#include "runtime/weights/Params.h"
#include "runtime/weights/Safetensors.h"

using namespace kiln::runtime;
using kiln::fuzz::die;

namespace {

void checkError(const std::string &path, const std::string &error) {
  if (error.rfind(path + ": ", 0) != 0)
    die("the error does not start with the path", error);
  if (error.find('\n') != std::string::npos || error.find('\r') != std::string::npos)
    die("the error is not one line", printable(error, 1000));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path = kiln::fuzz::scratchPath("weights.safetensors");
  kiln::fuzz::writeScratch(path, data, size);

  Result<SafetensorsIndex> index = readSafetensorsIndex(path);
  if (!index.ok()) {
    checkError(path, index.error);
  } else {
    // Validated entries tile the data buffer, so every read must succeed.
    uint64_t at = index.value.dataStart;
    for (const SafetensorsEntry &e : index.value.entries) {
      if (index.value.dataStart + e.begin != at)
        die("entries do not tile the buffer", e.name);
      at = index.value.dataStart + e.end;
      DType t;
      if (!safetensorsDType(e.dtype, t))
        continue;
      Result<Tensor> r = readSafetensor(index.value, e);
      if (!r.ok())
        die("a validated tensor does not read", r.error);
      if (r.value.bytes() != e.end - e.begin || r.value.shape() != e.shape)
        die("a tensor's size disagrees with its entry", e.name);
    }
    if (at != size)
      die("entries do not cover the file", path);
  }

  static const std::vector<ParamSpec> specs = {
      {"fc.weight", DType::F32, {2, 3}, {}}, {"fc.bias", DType::F32, {2}, {}}};
  Result<std::vector<Tensor>> params = loadParams(path, specs);
  if (!params.ok())
    checkError(path, params.error);
  else if (params.value.size() != 2 || params.value[0].shape() != specs[0].shape ||
           params.value[1].shape() != specs[1].shape)
    die("loadParams returned the wrong tensors", path);
  return 0;
}
