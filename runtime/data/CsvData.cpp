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
#include <memory>
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

namespace {

/// A cell longer than this is not a number (no float or integer needs it);
/// only this much of it is kept, for the message.
constexpr size_t kMaxCell = 4096;

/// Buffered bytes of a file, after a UTF-8 byte order mark if it has one.
class ByteReader {
public:
  /// `size`: the file's size, so a small file gets a small buffer.
  ByteReader(FILE *f, uint64_t size)
      : f_(f), cap_(size_t(std::min<uint64_t>(size + 1, uint64_t(1) << 20))),
        buf_(new char[cap_]) {
    if (fill() && len_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0)
      pos_ = 3;
  }
  int get() {
    if (pos_ == len_ && !fill())
      return EOF;
    return static_cast<unsigned char>(buf_[pos_++]);
  }
  bool failed() const { return failed_; }

private:
  bool fill() {
    len_ = std::fread(buf_.get(), 1, cap_, f_);
    pos_ = 0;
    if (len_ == 0)
      failed_ = std::ferror(f_) != 0;
    return len_ > 0;
  }
  FILE *f_;
  size_t cap_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0, len_ = 0;
  bool failed_ = false;
};

struct Cell {
  std::string_view text; // trimmed; at most kMaxCell bytes
  bool tooLong;
  int64_t line, column; // 1-based
};

/// Streams the file's lines and cells without holding a line: onCell(cell)
/// for every cell of a non-blank line, then onLine(lineNo, cells) for it
/// (blank lines, only spaces, tabs and \r, are skipped). Either returns
/// false to stop. Memory: one cell.
template <class OnCell, class OnLine>
void scanCsv(ByteReader &r, OnCell onCell, OnLine onLine) {
  std::string cell, first;
  bool cellLong = false, firstLong = false;
  int64_t lineNo = 1, column = 0;
  auto finishCell = [&]() -> bool {
    std::string_view t = trim(cell);
    bool ok = true;
    if (column == 0) { // held until the line proves not to be blank
      first.assign(t);
      firstLong = cellLong;
    } else {
      if (column == 1)
        ok = onCell(Cell{first, firstLong, lineNo, 1});
      ok = ok && onCell(Cell{t, cellLong, lineNo, column + 1});
    }
    ++column;
    cell.clear();
    cellLong = false;
    return ok;
  };
  for (;;) {
    int c = r.get();
    if (c == ',') {
      if (!finishCell())
        return;
    } else if (c == '\n' || c == EOF) {
      if (!finishCell())
        return;
      bool blank = column == 1 && first.empty() && !firstLong;
      if (!blank) {
        if (column == 1 && !onCell(Cell{first, firstLong, lineNo, 1}))
          return;
        if (!onLine(lineNo, column))
          return;
      }
      ++lineNo;
      column = 0;
      if (c == EOF)
        return;
    } else if (cell.size() < kMaxCell) {
      cell += char(c);
    } else {
      cellLong = true;
    }
  }
}

} // namespace

Result<Tensor> loadCsv(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape) {
  using R = Result<Tensor>;
  std::string err;
  FilePtr f = openForReading(path, err);
  if (!f)
    return R::failure(err);
  int64_t perSample;
  if (!checkedNumel(sampleShape, perSample))
    return R::failure(path + ": bad per-sample shape " + shapeString(sampleShape));
  uint64_t size = 0;
  fileSize(f.get(), size);

  // Pass 1: the header, and every row's value count, before the tensor is
  // allocated: its size is rows times the model's per-sample size, which a
  // file of short rows must not be able to inflate (say to terabytes). Only
  // one cell is held at a time, so a huge line costs no memory.
  int64_t rows = 0, headerLine = 0;
  bool firstRow = true, anyNumber = false;
  std::string error;
  {
    ByteReader r(f.get(), size);
    scanCsv(
        r,
        [&](const Cell &c) {
          if (firstRow && !anyNumber && !c.tooLong && isNumber(c.text))
            anyNumber = true;
          return true;
        },
        [&](int64_t line, int64_t values) {
          // The first non-blank row is a header when none of its cells is a number.
          if (firstRow) {
            firstRow = false;
            if (!anyNumber) {
              headerLine = line;
              return true;
            }
          }
          if (values != perSample) {
            error = path + ": line " + std::to_string(line) + " has " +
                    std::to_string(values) + " values, expected " +
                    std::to_string(perSample) + " (per-sample shape " +
                    shapeString(sampleShape) + ")";
            return false;
          }
          ++rows;
          return true;
        });
    if (r.failed())
      return R::failure(errnoMessage(path, "read error"));
  }
  if (!error.empty())
    return R::failure(error);

  std::vector<int64_t> shape = {rows};
  shape.insert(shape.end(), sampleShape.begin(), sampleShape.end());
  int64_t numel;
  if (!checkedNumel(shape, numel) || uint64_t(numel) > maxDataBytes() / dtypeSize(dtype))
    return R::failure(path + ": " + std::to_string(rows) + " rows of " +
                      std::to_string(perSample) + " values is more than " + dataLimitText());
  Tensor t(dtype, shape);

  // Pass 2: the values, straight into the tensor.
  if (std::fseek(f.get(), 0, SEEK_SET) != 0)
    return R::failure(errnoMessage(path, "read error"));
  int64_t index = 0, row = 0;
  std::string cellText;
  const std::string changed = path + ": the file changed while it was read";
  ByteReader r(f.get(), size);
  scanCsv(
      r,
      [&](const Cell &c) {
        if (c.line == headerLine)
          return true;
        if (c.column > perSample || row >= rows) {
          error = changed;
          return false;
        }
        cellText.assign(c.text);
        switch (c.tooLong ? CellError::NotANumber : parseCell(cellText, t, index)) {
        case CellError::None:
          ++index;
          return true;
        case CellError::NotANumber:
          error = "'" + printable(cellText) + (c.tooLong ? "...'" : "'") + " is not a number";
          break;
        case CellError::DoesNotFit:
          error = printable(cellText) + " does not fit " + dtypeName(dtype) + " exactly";
          break;
        }
        error = path + ": line " + std::to_string(c.line) + ", column " +
                std::to_string(c.column) + ": " + error;
        return false;
      },
      [&](int64_t line, int64_t values) {
        if (line == headerLine)
          return true;
        if (values != perSample) {
          error = changed;
          return false;
        }
        ++row;
        return true;
      });
  if (r.failed())
    return R::failure(errnoMessage(path, "read error"));
  if (!error.empty())
    return R::failure(error);
  if (row != rows)
    return R::failure(changed);
  return R::success(std::move(t));
}

} // namespace kiln::runtime
