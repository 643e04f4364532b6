#include "runtime/data/DataWriters.h"

#include "runtime/data/FileUtil.h"

#include <cinttypes>

namespace kiln::runtime {

bool isWritableDataPath(const std::string &path) {
  std::string ext = extensionOf(path);
  return ext == "npy" || ext == "csv";
}

std::string saveData(const std::string &path, const Tensor &t) {
  std::string ext = extensionOf(path);
  if (ext == "npy")
    return saveNpy(path, t);
  if (ext == "csv")
    return saveCsv(path, t);
  return path + ": unknown output format (use .npy or .csv)";
}

static const char *npyDescr(DType t) {
  switch (t) {
  case DType::F32: return "<f4";
  case DType::F64: return "<f8";
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::U8: return "|u1";
  }
  return "?";
}

std::string saveNpy(const std::string &path, const Tensor &t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")"; // Python's one-element tuple
  std::string header = std::string("{'descr': '") + npyDescr(t.dtype()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces and end with '\n' so the data starts 64-byte aligned.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return writeFileAtomically(path, [&](FILE *f) -> std::string {
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             static_cast<unsigned char>(header.size() & 0xff),
                             static_cast<unsigned char>(header.size() >> 8)};
    if (std::fwrite(pre, 1, 10, f) != 10 ||
        std::fwrite(header.data(), 1, header.size(), f) != header.size() ||
        std::fwrite(t.data(), 1, t.bytes(), f) != t.bytes())
      return errnoMessage(path, "write failed");
    return "";
  });
}

static void printValue(FILE *f, const Tensor &t, int64_t i) {
  switch (t.dtype()) {
  case DType::F32: std::fprintf(f, "%.9g", double(t.as<float>()[i])); break;
  case DType::F64: std::fprintf(f, "%.17g", t.as<double>()[i]); break;
  case DType::I32: std::fprintf(f, "%" PRId32, t.as<int32_t>()[i]); break;
  case DType::I64: std::fprintf(f, "%" PRId64, t.as<int64_t>()[i]); break;
  case DType::U8: std::fprintf(f, "%u", unsigned(t.as<uint8_t>()[i])); break;
  }
}

std::string saveCsv(const std::string &path, const Tensor &t) {
  int64_t rows = t.shape().empty() ? 1 : t.shape()[0];
  int64_t perRow = rows == 0 ? 0 : t.numel() / rows;
  return writeFileAtomically(path, [&](FILE *f) -> std::string {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < perRow; ++c) {
        if (c)
          std::fputc(',', f);
        printValue(f, t, r * perRow + c);
      }
      std::fputc('\n', f);
    }
    if (std::ferror(f))
      return errnoMessage(path, "write failed");
    return "";
  });
}

} // namespace kiln::runtime
