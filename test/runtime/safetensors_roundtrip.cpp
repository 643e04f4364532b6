// Test tool: reads every tensor of a safetensors file with the runtime's
// reader and writes them back with its writer (kiln-safetensors-roundtrip
// IN OUT), so that Python can check that PyTorch loads what Kiln writes, and
// test_reliability.py can interrupt a long atomic write.
#include "runtime/Signals.h"
#include "runtime/weights/Safetensors.h"

#include <cstdio>

using namespace kiln::runtime;

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN.safetensors OUT.safetensors\n", argv[0]);
    return 2;
  }
  installSignalHandlers(); // as the executables do: a signal removes the temporary
  Result<SafetensorsIndex> index = readSafetensorsIndex(argv[1]);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.error.c_str());
    return 2;
  }
  std::vector<Tensor> tensors;
  for (const SafetensorsEntry &e : index.value.entries) {
    Result<Tensor> t = readSafetensor(index.value, e);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.error.c_str());
      return 2;
    }
    tensors.push_back(std::move(t.value));
  }
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < tensors.size(); ++i)
    named.push_back({index.value.entries[i].name, &tensors[i]});
  std::string err = writeSafetensors(argv[2], named, {{"format", "pt"}});
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  return 0;
}
