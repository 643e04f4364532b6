// Shared by the data-file fuzz targets (idx, npy, csv): the readers take a
// path, so each input is written to a file first. The input's first byte
// picks the declared dtype and per-sample shape (what a model's manifest
// would say); the rest is the file. Seeds in corpus/<target>/ carry the byte
// that matches their file, so the fuzzer starts on the paths that succeed.
#pragma once

#include "runtime/data/DataFiles.h"
#include "runtime/data/FileUtil.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

namespace kiln::fuzz {

using runtime::DType;
using runtime::Result;
using runtime::Tensor;

/// A file of this process's own, in /dev/shm when there is one; removed at
/// a normal exit (scripts/fuzz removes what a crash leaves).
inline std::string scratchPath(const char *name) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  static std::string path;
  path = dir + "/kiln-fuzz-" + std::to_string(getpid()) + "-" + name;
  std::atexit([] { std::remove(path.c_str()); });
  return path;
}

inline void writeScratch(const std::string &path, const uint8_t *data, size_t size) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort(); // the harness itself failed, not the reader
  }
}

struct Declared {
  DType dtype;
  std::vector<int64_t> sampleShape;
};

/// Byte b: dtype b % 5 (f32, f64, i32, i64, u8), shape (b / 5) % 10 from
/// the table below.
inline Declared declared(uint8_t b) {
  static const DType dtypes[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8};
  static const std::vector<int64_t> shapes[] = {
      {}, {1}, {2}, {3}, {4}, {2, 2}, {2, 3}, {28, 28}, {3, 2, 2}, {0}};
  return {dtypes[b % 5], shapes[(b / 5) % 10]};
}

inline void die(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz: contract broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// The readers' contract (runtime/data/DataFiles.h, docs/runtime.md): on success
/// a tensor of the declared dtype and shape [samples] + sampleShape; on
/// failure one line starting with the path.
inline void checkResult(const std::string &path, const Declared &d,
                        const Result<Tensor> &r) {
  if (!r.ok()) {
    if (r.error.rfind(path + ": ", 0) != 0)
      die("the error does not start with the path", r.error);
    if (r.error.find('\n') != std::string::npos || r.error.find('\r') != std::string::npos)
      die("the error is not one line", runtime::printable(r.error, 1000));
    return;
  }
  const Tensor &t = r.value;
  if (t.dtype() != d.dtype)
    die("wrong dtype", runtime::dtypeName(t.dtype()));
  std::vector<int64_t> shape = t.shape();
  if (shape.empty() || shape[0] < 0 ||
      std::vector<int64_t>(shape.begin() + 1, shape.end()) != d.sampleShape)
    die("wrong shape", runtime::shapeString(shape));
  // Touch every byte, so that ASan sees a buffer shorter than its shape.
  volatile uint8_t sink = 0;
  const uint8_t *p = static_cast<const uint8_t *>(t.data());
  for (size_t i = 0; i < t.bytes(); ++i)
    sink ^= p[i];
  (void)sink;
}

/// The whole of a data-reader target: loader(path, dtype, shape).
template <class Loader>
int runDataTarget(const char *name, const uint8_t *data, size_t size, Loader load) {
  if (size == 0)
    return 0;
  static const std::string path = scratchPath(name);
  Declared d = declared(data[0]);
  writeScratch(path, data + 1, size - 1);
  checkResult(path, d, load(path, d.dtype, d.sampleShape));
  return 0;
}

} // namespace kiln::fuzz
