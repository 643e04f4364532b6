#include "runtime/data/FileUtil.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

std::string errnoMessage(const std::string &path, const std::string &what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

FilePtr openForReading(const std::string &path, std::string &error) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    error = errnoMessage(path, "cannot open");
    return f;
  }
  uint64_t size;
  if (!fileSize(f.get(), size)) {
    error = path + ": not a regular file";
    f.reset();
  }
  return f;
}

bool fileSize(FILE *f, uint64_t &size) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  size = uint64_t(st.st_size);
  return true;
}

bool readExactly(FILE *f, void *buf, size_t n) {
  return n == 0 || std::fread(buf, 1, n, f) == n;
}

std::string writeFileAtomically(const std::string &path,
                                const std::function<std::string(FILE *)> &body) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return errnoMessage(tmp, "cannot create");
  std::string error = body(f);
  if (error.empty() && (std::fflush(f) != 0 || std::ferror(f)))
    error = errnoMessage(path, "write failed");
  if (error.empty() && fsync(fileno(f)) != 0)
    error = errnoMessage(path, "fsync failed");
  if (std::fclose(f) != 0 && error.empty())
    error = errnoMessage(path, "write failed");
  if (error.empty() && std::rename(tmp.c_str(), path.c_str()) != 0)
    error = errnoMessage(path, "cannot rename the temporary file over it");
  if (!error.empty())
    std::remove(tmp.c_str());
  return error;
}

std::string printable(std::string_view text, size_t max) {
  bool cut = text.size() > max;
  if (cut) {
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
      --n; // do not split a UTF-8 sequence
    text = text.substr(0, n);
  }
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return cut ? out + "..." : out;
}

std::string extensionOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return "";
  std::string ext = path.substr(dot + 1);
  for (char &c : ext)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

} // namespace kiln::runtime
