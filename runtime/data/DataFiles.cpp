// IDX and NPY readers, the lossless-conversion rule and format detection.
#include "runtime/data/DataFiles.h"

#include "runtime/data/FileUtil.h"

#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

/// The element types files store; more than a model's DType.
enum class Stored { Bool, U8, I8, I16, U16, I32, U32, I64, U64, F32, F64 };

size_t storedSize(Stored s) {
  switch (s) {
  case Stored::Bool: case Stored::U8: case Stored::I8: return 1;
  case Stored::I16: case Stored::U16: return 2;
  case Stored::I32: case Stored::U32: case Stored::F32: return 4;
  case Stored::I64: case Stored::U64: case Stored::F64: return 8;
  }
  return 1;
}

const char *storedName(Stored s) {
  switch (s) {
  case Stored::Bool: return "bool";
  case Stored::U8: return "u8";
  case Stored::I8: return "i8";
  case Stored::I16: return "i16";
  case Stored::U16: return "u16";
  case Stored::I32: return "i32";
  case Stored::U32: return "u32";
  case Stored::I64: return "i64";
  case Stored::U64: return "u64";
  case Stored::F32: return "f32";
  case Stored::F64: return "f64";
  }
  return "?";
}

/// Whether every value of `s` is exactly representable in `t`.
bool lossless(Stored s, DType t) {
  switch (s) {
  case Stored::Bool: case Stored::U8:
    return true;
  case Stored::I8: case Stored::I16: case Stored::U16:
    return t != DType::U8;
  case Stored::I32:
    return t == DType::I32 || t == DType::I64 || t == DType::F64;
  case Stored::U32:
    return t == DType::I64 || t == DType::F64;
  case Stored::I64:
    return t == DType::I64;
  case Stored::U64:
    return false; // values above 2^63 fit nothing a model has
  case Stored::F32:
    return t == DType::F32 || t == DType::F64;
  case Stored::F64:
    return t == DType::F64;
  }
  return false;
}

template <class Src, class Dst>
void convertAll(const uint8_t *raw, int64_t n, Dst *dst) {
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, raw + i * sizeof(Src), sizeof(Src));
    dst[i] = static_cast<Dst>(v);
  }
}

template <class Src>
void convertTo(const uint8_t *raw, int64_t at, int64_t n, Tensor &out) {
  switch (out.dtype()) {
  case DType::F32: return convertAll<Src>(raw, n, out.as<float>() + at);
  case DType::F64: return convertAll<Src>(raw, n, out.as<double>() + at);
  case DType::I32: return convertAll<Src>(raw, n, out.as<int32_t>() + at);
  case DType::I64: return convertAll<Src>(raw, n, out.as<int64_t>() + at);
  case DType::U8: return convertAll<Src>(raw, n, out.as<uint8_t>() + at);
  }
}

/// Converts n native-endian values of type `s` into elements [at, at + n) of
/// `out` (already checked to be lossless). `raw` may be changed.
void convert(uint8_t *raw, Stored s, int64_t at, int64_t n, Tensor &out) {
  switch (s) {
  case Stored::Bool:
    for (int64_t i = 0; i < n; ++i)
      raw[i] = raw[i] != 0;
    return convertTo<uint8_t>(raw, at, n, out);
  case Stored::U8: return convertTo<uint8_t>(raw, at, n, out);
  case Stored::I8: return convertTo<int8_t>(raw, at, n, out);
  case Stored::I16: return convertTo<int16_t>(raw, at, n, out);
  case Stored::U16: return convertTo<uint16_t>(raw, at, n, out);
  case Stored::I32: return convertTo<int32_t>(raw, at, n, out);
  case Stored::U32: return convertTo<uint32_t>(raw, at, n, out);
  case Stored::I64: return convertTo<int64_t>(raw, at, n, out);
  case Stored::U64: return convertTo<uint64_t>(raw, at, n, out);
  case Stored::F32: return convertTo<float>(raw, at, n, out);
  case Stored::F64: return convertTo<double>(raw, at, n, out);
  }
}

/// Whether values of `s` are stored exactly as `t` keeps them in memory (so
/// a file's bytes can go straight into the tensor).
bool sameRepresentation(Stored s, DType t) {
  return (s == Stored::U8 && t == DType::U8) || (s == Stored::I32 && t == DType::I32) ||
         (s == Stored::I64 && t == DType::I64) || (s == Stored::F32 && t == DType::F32) ||
         (s == Stored::F64 && t == DType::F64);
}

void byteSwap(uint8_t *raw, size_t bytes, size_t elemSize) {
  if (elemSize == 1)
    return;
  for (size_t i = 0; i + elemSize <= bytes; i += elemSize)
    for (size_t a = i, b = i + elemSize - 1; a < b; ++a, --b)
      std::swap(raw[a], raw[b]);
}

/// Reads `bytes` bytes of stored values from `read` (which fills a buffer
/// and returns how many bytes it got, or -1) into `t`, converting in chunks
/// so that no second copy of the data is ever held. "" or an error.
constexpr size_t kChunk = size_t(4) << 20; // a multiple of every element size

template <class Read>
bool readInto(Read read, uint64_t bytes, Stored s, bool swap, Tensor &t) {
  size_t elem = storedSize(s);
  if (!swap && sameRepresentation(s, t.dtype()))
    return read(static_cast<uint8_t *>(t.data()), bytes) == int64_t(bytes);
  // Uninitialized: the bytes read are known to be there (the size was checked).
  std::unique_ptr<uint8_t[]> chunk(new uint8_t[size_t(std::min<uint64_t>(bytes, kChunk))]);
  for (uint64_t done = 0; done < bytes;) {
    size_t want = size_t(std::min<uint64_t>(bytes - done, kChunk));
    if (read(chunk.get(), want) != int64_t(want))
      return false;
    if (swap)
      byteSwap(chunk.get(), want, elem);
    convert(chunk.get(), s, int64_t(done / elem), int64_t(want / elem), t);
    done += want;
  }
  return true;
}

/// Checks a file's shape and stored type against the declaration and
/// computes the bytes of data the header promises. "" when all is well.
std::string checkHeader(const std::string &path, const std::vector<int64_t> &fileShape,
                        Stored s, DType dtype,
                        const std::vector<int64_t> &sampleShape, uint64_t &dataBytes) {
  if (fileShape.empty())
    return path + ": holds a single value, not samples (expected per-sample "
                  "shape " + shapeString(sampleShape) + ")";
  std::vector<int64_t> fileSample(fileShape.begin() + 1, fileShape.end());
  if (fileSample != sampleShape)
    return path + ": expected per-sample shape " + shapeString(sampleShape) +
           ", file has " + shapeString(fileSample);
  if (!lossless(s, dtype))
    return path + ": cannot convert " + storedName(s) + " data to the declared " +
           dtypeName(dtype) + " without changing values; store it as " +
           dtypeName(dtype);
  int64_t numel;
  uint64_t limit = maxDataBytes();
  size_t widest = std::max(storedSize(s), dtypeSize(dtype)); // stored or decoded
  if (!checkedNumel(fileShape, numel) || uint64_t(numel) > limit / widest)
    return path + ": header claims shape " + shapeString(fileShape) + " of " +
           storedName(s) + ", more than " + dataLimitText();
  dataBytes = uint64_t(numel) * storedSize(s);
  return "";
}

/// "10000 items of [28, 28] u8 (7840000 bytes)".
std::string describeItems(const std::vector<int64_t> &fileShape, Stored s,
                          uint64_t bytes) {
  std::string what = std::to_string(fileShape[0]) + " items of ";
  if (fileShape.size() > 1)
    what += shapeString(std::vector<int64_t>(fileShape.begin() + 1, fileShape.end())) + " ";
  return what + storedName(s) + " (" + std::to_string(bytes) + " bytes)";
}

struct GzCloser {
  void operator()(gzFile_s *g) const { gzclose(g); }
};

/// Reads up to n bytes from a gzip (or plain) stream into buf; fewer only at
/// the end of the stream; -1 on an error.
int64_t gzReadFull(gzFile g, uint8_t *buf, uint64_t n) {
  uint64_t got = 0;
  while (got < n) {
    unsigned want = unsigned(std::min<uint64_t>(n - got, 1u << 30));
    int r = gzread(g, buf + got, want);
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    got += uint64_t(r);
  }
  return int64_t(got);
}

/// Reads up to n bytes into a vector (small reads: headers).
bool gzReadAppend(gzFile g, uint64_t n, std::vector<uint8_t> &out) {
  size_t old = out.size();
  out.resize(old + size_t(n));
  int64_t got = gzReadFull(g, out.data() + old, n);
  out.resize(old + size_t(std::max<int64_t>(got, 0)));
  return got >= 0;
}

std::string gzErrorMessage(const std::string &path, gzFile g) {
  int code = Z_OK;
  const char *msg = gzerror(g, &code);
  if (code == Z_OK || code == Z_STREAM_END)
    return "";
  if (code == Z_ERRNO)
    return errnoMessage(path, "read error");
  return path + ": corrupt gzip data: " + (msg ? msg : "unknown error");
}

} // namespace

//===----------------------------------------------------------------------===//
// IDX: magic 0x00 0x00 TYPE NDIMS, NDIMS big-endian u32 sizes, big-endian data.
//===----------------------------------------------------------------------===//

Result<Tensor> loadIdx(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape) {
  using R = Result<Tensor>;
  std::string err;
  int fd = openRegularFd(path, err);
  if (fd < 0)
    return R::failure(err);
  struct stat st;
  uint64_t fileBytes = fstat(fd, &st) == 0 ? uint64_t(st.st_size) : 0;
  unsigned char gzMagic[2] = {0, 0};
  bool gzipped = pread(fd, gzMagic, 2, 0) == 2 && gzMagic[0] == 0x1f && gzMagic[1] == 0x8b;

  // The descriptor already checked to be a regular file, never the path again.
  std::unique_ptr<gzFile_s, GzCloser> g(gzdopen(fd, "rb"));
  if (!g) {
    close(fd);
    return R::failure(errnoMessage(path, "cannot open"));
  }
  gzbuffer(g.get(), 128 << 10); // more than the default 8 KiB: fewer reads
  std::vector<uint8_t> head;
  if (!gzReadAppend(g.get(), 4, head) || head.size() < 4) {
    if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
      return R::failure(e);
    return R::failure(path + ": too short for an IDX file (" +
                      std::to_string(head.size()) + " bytes)");
  }
  if (head[0] != 0 || head[1] != 0)
    return R::failure(path + ": wrong magic: not an IDX file");
  Stored s;
  switch (head[2]) {
  case 0x08: s = Stored::U8; break;
  case 0x09: s = Stored::I8; break;
  case 0x0B: s = Stored::I16; break;
  case 0x0C: s = Stored::I32; break;
  case 0x0D: s = Stored::F32; break;
  case 0x0E: s = Stored::F64; break;
  default: {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", head[2]);
    return R::failure(path + ": unknown IDX data type " + hex);
  }
  }
  unsigned ndims = head[3];
  std::vector<uint8_t> dimBytes;
  if (!gzReadAppend(g.get(), 4ull * ndims, dimBytes) || dimBytes.size() < 4ull * ndims) {
    if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
      return R::failure(e);
    return R::failure(path + ": truncated: header says " + std::to_string(ndims) +
                      " dimensions, file ends inside them");
  }
  std::vector<int64_t> shape(ndims);
  for (unsigned i = 0; i < ndims; ++i) {
    const uint8_t *d = &dimBytes[4 * i];
    shape[i] = (int64_t(d[0]) << 24) | (int64_t(d[1]) << 16) | (int64_t(d[2]) << 8) | d[3];
  }
  uint64_t bytes = 0;
  if (std::string e = checkHeader(path, shape, s, dtype, sampleShape, bytes); !e.empty())
    return R::failure(e);
  size_t elem = storedSize(s);
  auto truncated = [&](uint64_t have) {
    return R::failure(path + ": truncated: header says " + describeItems(shape, s, bytes) +
                      ", file holds " + std::to_string(have) + " bytes of data");
  };

  uint64_t headerBytes = 4 + 4ull * ndims;
  if (!gzipped) {
    // A plain file's size is known: it must be exactly what the header says
    // before anything is allocated; then the data goes straight into the tensor.
    if (fileBytes - headerBytes != bytes) {
      if (fileBytes - headerBytes < bytes)
        return truncated(fileBytes - headerBytes);
      return R::failure(path + ": header says " + describeItems(shape, s, bytes) +
                        ", file holds " + std::to_string(fileBytes - headerBytes) +
                        " bytes of data");
    }
    Tensor t(dtype, shape);
    auto read = [&](uint8_t *buf, uint64_t n) { return gzReadFull(g.get(), buf, n); };
    if (!readInto(read, bytes, s, /*swap=*/elem > 1, t)) {
      if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
        return R::failure(e);
      return R::failure(path + ": read failed (was the file changed while reading?)");
    }
    return R::success(std::move(t));
  }

  // A gzip stream's real size is known only once it is inflated. Pass 1
  // inflates it counting bytes (a 256 KiB scratch buffer, so a lying header
  // costs time, never memory); only when the stream holds exactly what the
  // header says is the tensor allocated, and pass 2 inflates straight into
  // it. Peak memory: the tensor.
  {
    // Uninitialized and at most 256 KiB: a claim costs no memory.
    size_t n = size_t(std::min<uint64_t>(bytes + 1, uint64_t(256) << 10));
    std::unique_ptr<uint8_t[]> scratch(new uint8_t[n]);
    uint64_t have = 0;
    while (have <= bytes) {
      int64_t got = gzReadFull(g.get(), scratch.get(), std::min<uint64_t>(bytes + 1 - have, n));
      if (got < 0) {
        if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
          return R::failure(e);
        return R::failure(errnoMessage(path, "read error"));
      }
      if (got == 0)
        break;
      have += uint64_t(got);
    }
    if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
      return R::failure(e);
    if (have < bytes)
      return truncated(have);
    if (have > bytes)
      return R::failure(path + ": header says " + describeItems(shape, s, bytes) +
                        ", file holds more data");
  }
  std::vector<uint8_t> skip;
  if (gzrewind(g.get()) != 0 || !gzReadAppend(g.get(), headerBytes, skip) ||
      skip.size() != headerBytes)
    return R::failure(errnoMessage(path, "read error"));
  Tensor t(dtype, shape);
  auto read = [&](uint8_t *buf, uint64_t n) { return gzReadFull(g.get(), buf, n); };
  if (!readInto(read, bytes, s, /*swap=*/elem > 1, t)) {
    if (std::string e = gzErrorMessage(path, g.get()); !e.empty())
      return R::failure(e);
    return R::failure(path + ": read failed (was the file changed while reading?)");
  }
  return R::success(std::move(t));
}

//===----------------------------------------------------------------------===//
// NPY: "\x93NUMPY", version, header length, a Python dict literal, raw data.
//===----------------------------------------------------------------------===//

namespace {

/// Parses the header dict: {'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }. Only the forms numpy writes are accepted.
class NpyHeaderParser {
public:
  explicit NpyHeaderParser(const std::string &text) : s_(text) {}

  std::string parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!eat('{'))
      return "expected '{'";
    while (!eat('}')) {
      std::string key;
      if (!readString(key) || !eat(':'))
        return "expected 'key': value";
      if (key == "descr") {
        if (peek() == '[')
          return "structured dtypes are not supported";
        if (!readString(descr))
          return "descr: expected a string";
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (eatWord("True"))
          fortran = true;
        else if (eatWord("False"))
          fortran = false;
        else
          return "fortran_order: expected True or False";
        haveOrder = true;
      } else if (key == "shape") {
        if (!readTuple(shape))
          return "shape: expected a tuple of integers";
        haveShape = true;
      } else {
        return "unexpected key '" + printable(key) + "'";
      }
      if (!eat(',') && peek() != '}')
        return "expected ',' or '}'";
    }
    if (!haveDescr || !haveOrder || !haveShape)
      return "missing descr, fortran_order or shape";
    return "";
  }

private:
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  char peek() {
    skipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++pos_;
    return true;
  }
  bool eatWord(const char *w) {
    skipSpace();
    size_t n = std::strlen(w);
    if (s_.compare(pos_, n, w) != 0)
      return false;
    pos_ += n;
    return true;
  }
  bool readString(std::string &out) {
    char q = peek();
    if (q != '\'' && q != '"')
      return false;
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos)
      return false;
    out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return true;
  }
  bool readTuple(std::vector<int64_t> &out) {
    if (!eat('('))
      return false;
    while (!eat(')')) {
      skipSpace();
      size_t start = pos_;
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        if (v > (INT64_MAX - 9) / 10)
          return false;
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (pos_ == start)
        return false;
      if (pos_ < s_.size() && s_[pos_] == 'L') // Python 2 longs
        ++pos_;
      out.push_back(v);
      if (!eat(',') && peek() != ')')
        return false;
    }
    return true;
  }

  const std::string &s_;
  size_t pos_ = 0;
};

bool parseDescr(const std::string &d, Stored &s, std::string &error) {
  if (d.size() < 2) {
    error = "unsupported dtype '" + printable(d) + "'";
    return false;
  }
  char order = d[0];
  std::string code = d.substr(1);
  static const struct {
    const char *code;
    Stored s;
  } table[] = {{"b1", Stored::Bool}, {"u1", Stored::U8},   {"i1", Stored::I8},
               {"i2", Stored::I16},  {"u2", Stored::U16},  {"i4", Stored::I32},
               {"u4", Stored::U32},  {"i8", Stored::I64},  {"u8", Stored::U64},
               {"f4", Stored::F32},  {"f8", Stored::F64}};
  for (const auto &e : table) {
    if (code != e.code)
      continue;
    bool oneByte = storedSize(e.s) == 1;
    if (order == '<' || order == '=' || order == '|' || (order == '>' && oneByte)) {
      s = e.s;
      return true;
    }
    error = order == '>' ? "big-endian dtype '" + d + "' is not supported; save "
                           "it little-endian"
                         : "unsupported dtype '" + printable(d) + "'";
    return false;
  }
  error = "unsupported dtype '" + printable(d) + "' (supported: bool, u1, i1, i2, u2, i4, "
          "u4, i8, f4, f8; little-endian)";
  return false;
}

} // namespace

Result<Tensor> loadNpy(const std::string &path, DType dtype,
                       const std::vector<int64_t> &sampleShape) {
  using R = Result<Tensor>;
  std::string err;
  FilePtr f = openForReading(path, err);
  if (!f)
    return R::failure(err);
  uint64_t fileBytes = 0;
  fileSize(f.get(), fileBytes);
  unsigned char pre[10];
  if (!readExactly(f.get(), pre, 8) || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    return R::failure(path + ": wrong magic: not an NPY file");
  unsigned major = pre[6];
  uint64_t headerLen, prefix;
  if (major == 1) {
    if (!readExactly(f.get(), pre + 8, 2))
      return R::failure(path + ": truncated NPY header");
    headerLen = pre[8] | (unsigned(pre[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (!readExactly(f.get(), len, 4))
      return R::failure(path + ": truncated NPY header");
    headerLen = len[0] | (uint64_t(len[1]) << 8) | (uint64_t(len[2]) << 16) |
                (uint64_t(len[3]) << 24);
    prefix = 12;
  } else {
    return R::failure(path + ": unsupported NPY version " + std::to_string(major));
  }
  if (headerLen > fileBytes - prefix)
    return R::failure(path + ": truncated: header length " + std::to_string(headerLen) +
                      " is past the end of the file");
  std::string header(headerLen, '\0');
  if (!readExactly(f.get(), header.data(), headerLen))
    return R::failure(errnoMessage(path, "read error"));

  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (std::string e = NpyHeaderParser(header).parse(descr, fortran, shape); !e.empty())
    return R::failure(path + ": bad NPY header: " + e);
  Stored s;
  if (!parseDescr(descr, s, err))
    return R::failure(path + ": " + err);
  if (fortran && shape.size() > 1)
    return R::failure(path + ": Fortran-order arrays are not supported; save "
                             "with np.ascontiguousarray");
  uint64_t bytes = 0;
  if (std::string e = checkHeader(path, shape, s, dtype, sampleShape, bytes); !e.empty())
    return R::failure(e);
  uint64_t have = fileBytes - prefix - headerLen;
  if (have != bytes)
    return R::failure(path + ": " + (have < bytes ? "truncated: " : "") +
                      "header says " + describeItems(shape, s, bytes) +
                      ", file holds " + std::to_string(have) + " bytes of data");
  Tensor t(dtype, shape);
  auto read = [&](uint8_t *buf, uint64_t n) -> int64_t {
    return readExactly(f.get(), buf, size_t(n)) ? int64_t(n) : -1;
  };
  if (!readInto(read, bytes, s, /*swap=*/false, t))
    return R::failure(errnoMessage(path, "read error"));
  return R::success(std::move(t));
}

//===----------------------------------------------------------------------===//
// Format detection
//===----------------------------------------------------------------------===//

Result<Tensor> loadData(const std::string &path, DType dtype,
                        const std::vector<int64_t> &sampleShape) {
  std::string err;
  FilePtr f = openForReading(path, err);
  if (!f)
    return Result<Tensor>::failure(err);
  unsigned char magic[6] = {0};
  size_t n = std::fread(magic, 1, sizeof magic, f.get());
  f.reset();

  std::string ext = extensionOf(path);
  bool npyMagic = n >= 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0;
  bool gzMagic = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  bool idxMagic = n >= 4 && magic[0] == 0 && magic[1] == 0;
  if (ext == "npy" || npyMagic)
    return loadNpy(path, dtype, sampleShape);
  if (ext == "csv")
    return loadCsv(path, dtype, sampleShape);
  if (gzMagic || idxMagic || ext == "idx" || ext == "gz" || ext.find("ubyte") != std::string::npos)
    return loadIdx(path, dtype, sampleShape);
  if (n == 0)
    return Result<Tensor>::failure(path + ": empty file");
  return Result<Tensor>::failure(
      path + ": unknown data format (expected IDX, gzipped or not, .npy or .csv)");
}

//===----------------------------------------------------------------------===//
// The data limit
//===----------------------------------------------------------------------===//

std::string humanBytes(uint64_t bytes) {
  const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  double v = double(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

namespace {

/// KILN_MAX_DATA_BYTES: digits with an optional K, M, G or T (binary);
/// false when malformed.
bool parseLimit(const char *text, uint64_t &out) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || errno == ERANGE || *text == '-')
    return false;
  int shift = 0;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': shift = 10; ++end; break;
  case 'm': case 'M': shift = 20; ++end; break;
  case 'g': case 'G': shift = 30; ++end; break;
  case 't': case 'T': shift = 40; ++end; break;
  default: return false;
  }
  if (*end == 'i' || *end == 'I')
    ++end;
  if (*end == 'b' || *end == 'B')
    ++end;
  if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
    return false;
  out = uint64_t(v) << shift;
  return true;
}

} // namespace

uint64_t maxDataBytes() {
  if (const char *env = std::getenv("KILN_MAX_DATA_BYTES"); env && *env) {
    uint64_t v;
    if (parseLimit(env, v))
      return v;
  }
  uint64_t limit = uint64_t(16) << 30;
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0)
    limit = std::min(limit, uint64_t(pages) * uint64_t(pageSize) / 2);
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = std::min(limit, uint64_t(rl.rlim_cur) / 4);
  return limit;
}

std::string checkDataLimitEnvironment() {
  const char *env = std::getenv("KILN_MAX_DATA_BYTES");
  uint64_t v;
  if (!env || !*env || parseLimit(env, v))
    return "";
  return "KILN_MAX_DATA_BYTES: '" + printable(env) +
         "' is not a byte count (such as 1073741824, 512M or 64G)";
}

std::string dataLimitText() {
  return "the data limit of " + humanBytes(maxDataBytes()) +
         " (set KILN_MAX_DATA_BYTES to raise it)";
}

} // namespace kiln::runtime
