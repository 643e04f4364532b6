#include "runtime/train/TensorBoard.h"

#include "runtime/Args.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

struct Crc32cTable {
  uint32_t t[256];
  Crc32cTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

void varint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += char(v);
}

void fixed(std::string &out, const void *p, size_t n) { // little-endian host
  out.append(static_cast<const char *>(p), n);
}

void lengthDelimited(std::string &out, unsigned field, const std::string &bytes) {
  varint(out, (field << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}

std::string eventHeader(double wallTime, int64_t step) {
  std::string e;
  varint(e, (1 << 3) | 1); // wall_time: fixed64
  fixed(e, &wallTime, 8);
  varint(e, (2 << 3) | 0); // step: varint
  varint(e, uint64_t(step));
  return e;
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

uint32_t crc32c(const void *data, size_t size) {
  static const Crc32cTable table;
  uint32_t c = 0xFFFFFFFFu;
  const unsigned char *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i)
    c = table.t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string makeDirectories(const std::string &dir) {
  std::string partial;
  size_t at = 0;
  while (at <= dir.size()) {
    size_t slash = dir.find('/', at);
    if (slash == std::string::npos)
      slash = dir.size();
    partial = dir.substr(0, slash);
    at = slash + 1;
    if (partial.empty())
      continue;
    struct stat st;
    if (stat(partial.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return partial + ": not a directory";
      continue;
    }
    if (mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
      return errnoMessage(partial, "cannot create the directory");
  }
  return "";
}

std::string EventWriter::open(const std::string &dir) {
  if (std::string e = makeDirectories(dir); !e.empty())
    return e;
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0)
    std::strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  for (char *c = host; *c; ++c)
    if (*c == '/')
      *c = '_';
  std::string base = dir + "/events.out.tfevents." + std::to_string(long(now())) + "." +
                     host + "." + std::to_string(getpid());
  // A new file, never an existing one (O_EXCL), written as it goes.
  for (int n = 0; n < 100 && !f_; ++n) {
    path_ = n ? base + "." + std::to_string(n) : base;
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST)
      continue;
    if (fd < 0)
      return errnoMessage(path_, "cannot create");
    f_.reset(fdopen(fd, "wb"));
    if (!f_) {
      close(fd);
      return errnoMessage(path_, "cannot create");
    }
  }
  if (!f_)
    return dir + ": cannot create an event file";
  std::string e = eventHeader(now(), 0);
  lengthDelimited(e, 3, "brain.Event:2");
  record(e);
  flush();
  return "";
}

void EventWriter::record(const std::string &event) {
  std::string frame;
  uint64_t len = event.size();
  fixed(frame, &len, 8);
  uint32_t c = masked(crc32c(frame.data(), 8));
  fixed(frame, &c, 4);
  frame += event;
  c = masked(crc32c(event.data(), event.size()));
  fixed(frame, &c, 4);
  if (std::fwrite(frame.data(), 1, frame.size(), f_.get()) != frame.size())
    runError(errnoMessage(path_, "write failed"));
}

void EventWriter::scalar(const std::string &tag, int64_t step, double value) {
  if (!f_)
    return;
  std::string v;
  lengthDelimited(v, 1, tag);
  varint(v, (2 << 3) | 5); // simple_value: fixed32
  float f = float(value);
  fixed(v, &f, 4);
  std::string summary;
  lengthDelimited(summary, 1, v);
  std::string e = eventHeader(now(), step);
  lengthDelimited(e, 5, summary);
  record(e);
}

void EventWriter::flush() {
  if (f_ && std::fflush(f_.get()) != 0)
    runError(errnoMessage(path_, "write failed"));
}

} // namespace kiln::runtime
