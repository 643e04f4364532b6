// The CSV reader: one sample a row, values checked one by one against the
// declared dtype.
#include "runtime/data/DataFiles.h"

#include "runtime/data/FileUtil.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace kiln::runtime {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitCells(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos)
      return cells;
    start = comma + 1;
  }
}

/// Whether the whole cell is a number strtod understands.
bool isNumber(std::string_view cell) {
  if (cell.empty())
    return false;
  std::string s(cell);
  char *end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

enum class CellError { None, NotANumber, DoesNotFit };

/// Parses an integer cell exactly: digits go through strtoll (exact for all of
/// i64); other numerals ("3.0", "1e2") through strtod, and must be integral.
CellError parseInteger(const std::string &s, int64_t lo, int64_t hi, int64_t &out) {
  const char *p = s.c_str();
  bool plainInt = !s.empty();
  for (size_t i = 0; i < s.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(s[i])) ||
          (i == 0 && (s[i] == '-' || s[i] == '+') && s.size() > 1)))
      plainInt = false;
  if (plainInt) {
    errno = 0;
    long long v = std::strtoll(p, nullptr, 10);
    if (errno == ERANGE || v < lo || v > hi)
      return CellError::DoesNotFit;
    out = v;
    return CellError::None;
  }
  char *end = nullptr;
  double d = std::strtod(p, &end);
  if (s.empty() || end != p + s.size())
    return CellError::NotANumber;
  // 2^63 is exactly representable; anything at or above it is out of range.
  if (!(d == std::floor(d)) || d < double(lo) || d >= 9223372036854775808.0 ||
      d > double(hi))
    return CellError::DoesNotFit;
  out = int64_t(d);
  return CellError::None;
}

/// Floats: any decimal, rounded to nearest; overflow to infinity is an error.
template <class T> CellError parseFloat(const std::string &s, T &out) {
  const char *p = s.c_str();
  char *end = nullptr;
  errno = 0;
  T v;
  if constexpr (sizeof(T) == 4)
    v = std::strtof(p, &end);
  else
    v = std::strtod(p, &end);
  if (s.empty() || end != p + s.size())
    return CellError::NotANumber;
  if (errno == ERANGE && std::isinf(v))
    return CellError::DoesNotFit;
  out = v;
  return CellError::None;
}

CellError parseCell(const std::string &s, Tensor &t, int64_t index) {
  int64_t v = 0;
  CellError e = CellError::None;
  switch (t.dtype()) {
  case DType::F32: return parseFloat(s, t.as<float>()[index]);
  case DType::F64: return parseFloat(s, t.as<double>()[index]);
  case DType::U8:
    if ((e = parseInteger(s, 0, 255, v)) == CellError::None)
      t.as<uint8_t>()[index] = uint8_t(v);
    return e;
  case DType::I32:
    if ((e = parseInteger(s, INT32_MIN, INT32_MAX, v)) == CellError::None)
      t.as<int32_t>()[index] = int32_t(v);
    return e;
  case DType::I64:
    if ((e = parseInteger(s, INT64_MIN, INT64_MAX, v)) == CellError::None)
      t.as<int64_t>()[index] = v;
    return e;
  }
  return CellError::NotANumber;
}

} // namespace

Result<Tensor> loadCsv(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape) {
  using R = Result<Tensor>;
  std::string err;
  FilePtr f = openForReading(path, err);
  if (!f)
    return R::failure(err);
  uint64_t size = 0;
  fileSize(f.get(), size);
  if (size > kMaxDataBytes)
    return R::failure(path + ": holds " + std::to_string(size) +
                      " bytes, more than the 16 GiB limit");
  std::string text(size, '\0');
  if (!readExactly(f.get(), text.data(), size))
    return R::failure(errnoMessage(path, "read error"));
  f.reset();

  int64_t perSample;
  if (!checkedNumel(sampleShape, perSample))
    return R::failure(path + ": bad per-sample shape " + shapeString(sampleShape));

  // Lines holding data, with their 1-based line numbers for messages.
  std::vector<std::pair<int64_t, std::string_view>> rows;
  std::string_view all(text);
  int64_t lineNo = 0;
  for (size_t start = 0; start < all.size();) {
    size_t nl = all.find('\n', start);
    std::string_view line = all.substr(start, nl - start);
    ++lineNo;
    start = nl == std::string_view::npos ? all.size() : nl + 1;
    if (!trim(line).empty())
      rows.push_back({lineNo, line});
  }
  // A first row with no number in it is a header.
  if (!rows.empty()) {
    bool header = true;
    for (std::string_view cell : splitCells(rows[0].second))
      header = header && !isNumber(cell);
    if (header)
      rows.erase(rows.begin());
  }

  // Every row's value count is checked before the tensor is allocated: its
  // size is rows times the model's per-sample size, which a file of short
  // rows must not be able to inflate (say to terabytes).
  for (const auto &[line, text] : rows) {
    int64_t values = int64_t(std::count(text.begin(), text.end(), ',')) + 1;
    if (values != perSample)
      return R::failure(path + ": line " + std::to_string(line) + " has " +
                        std::to_string(values) + " values, expected " +
                        std::to_string(perSample) + " (per-sample shape " +
                        shapeString(sampleShape) + ")");
  }
  std::vector<int64_t> shape = {int64_t(rows.size())};
  shape.insert(shape.end(), sampleShape.begin(), sampleShape.end());
  int64_t numel;
  if (!checkedNumel(shape, numel) || uint64_t(numel) > kMaxDataBytes / dtypeSize(dtype))
    return R::failure(path + ": " + std::to_string(rows.size()) + " rows of " +
                      std::to_string(perSample) + " values is more than the 16 GiB limit");
  Tensor t(dtype, shape);
  int64_t index = 0;
  for (const auto &[line, text] : rows) {
    std::vector<std::string_view> cells = splitCells(text);
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string cell(cells[c]);
      std::string where = path + ": line " + std::to_string(line) + ", column " +
                          std::to_string(c + 1) + ": ";
      switch (parseCell(cell, t, index++)) {
      case CellError::None: break;
      case CellError::NotANumber:
        return R::failure(where + "'" + printable(cell) + "' is not a number");
      case CellError::DoesNotFit:
        return R::failure(where + printable(cell) + " does not fit " + dtypeName(dtype) +
                          " exactly");
      }
    }
  }
  return R::success(std::move(t));
}

} // namespace kiln::runtime
