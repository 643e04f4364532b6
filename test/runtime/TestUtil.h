// Helpers for the runtime's unit tests: a scratch directory and byte-level
// writers for the file formats (so tests can also write broken files).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <string>
#include <vector>

namespace kiln::runtime::test {

using Bytes = std::vector<uint8_t>;

/// A fresh directory per test, removed afterwards.
class TempDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-rt-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!std::system(cmd.c_str());
  }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }

  std::string dir_;
};

inline void writeFile(const std::string &path, const Bytes &bytes) {
  FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty())
    std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

inline void writeText(const std::string &path, const std::string &text) {
  writeFile(path, Bytes(text.begin(), text.end()));
}

inline void writeGzip(const std::string &path, const Bytes &bytes) {
  gzFile g = gzopen(path.c_str(), "wb");
  ASSERT_NE(g, nullptr);
  gzwrite(g, bytes.data(), unsigned(bytes.size()));
  gzclose(g);
}

inline void append(Bytes &b, const void *p, size_t n) {
  const uint8_t *c = static_cast<const uint8_t *>(p);
  b.insert(b.end(), c, c + n);
}

/// An IDX file: type byte, dims, then `data` (already big-endian).
inline Bytes idxBytes(uint8_t type, const std::vector<uint32_t> &dims, const Bytes &data) {
  Bytes b = {0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
    append(b, be, 4);
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// An NPY v1.0 (or v2.0) file with the given header dict and raw data.
inline Bytes npyBytes(const std::string &dict, const Bytes &data, int major = 1) {
  std::string header = dict;
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  uint32_t len = uint32_t(header.size());
  append(b, &len, major == 1 ? 2 : 4); // little-endian host
  append(b, header.data(), header.size());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <class T> Bytes rawBytes(const std::vector<T> &values) {
  Bytes b;
  append(b, values.data(), values.size() * sizeof(T));
  return b;
}

/// A safetensors file from a header JSON text and a data buffer.
inline Bytes safetensorsBytes(const std::string &header, const Bytes &data) {
  Bytes b;
  uint64_t n = header.size();
  append(b, &n, 8);
  append(b, header.data(), header.size());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// Whether `text` contains `part` (for readable EXPECTs on messages).
inline ::testing::AssertionResult contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' lacks '" << part << "'";
}

} // namespace kiln::runtime::test
