#include "runtime/data/FileUtil.h"

#include "runtime/Signals.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

std::string errnoMessage(const std::string &path, const std::string &what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

namespace {

const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

/// The directory part of a path: "." for a bare name, "/" for "/name".
std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

int openRegularFd(const std::string &path, std::string &error) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errnoMessage(path, "cannot open");
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file" +
            (fstat(fd, &st) == 0 ? std::string(" (") + fileKind(st.st_mode) + ")" : "");
    close(fd);
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    error = errnoMessage(path, "cannot open");
    close(fd);
    return -1;
  }
  return fd;
}

FilePtr openForReading(const std::string &path, std::string &error) {
  int fd = openRegularFd(path, error);
  if (fd < 0)
    return FilePtr();
  FilePtr f(fdopen(fd, "rb"));
  if (!f) {
    error = errnoMessage(path, "cannot open");
    close(fd);
  }
  return f;
}

std::string resolveOutputPath(const std::string &path, std::string &error) {
  std::string cur = path;
  auto where = [&]() { return cur == path ? path : path + " (a link to " + cur + ")"; };
  for (int hops = 0;; ++hops) {
    if (hops > 40) {
      error = path + ": too many levels of symbolic links";
      return "";
    }
    struct stat st;
    if (lstat(cur.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        error = errnoMessage(where(), "cannot write");
        return "";
      }
      st.st_mode = 0; // a new name
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(size_t(PATH_MAX) + 1, '\0');
      ssize_t n = readlink(cur.c_str(), target.data(), target.size());
      if (n < 0 || size_t(n) >= target.size()) {
        error = errnoMessage(where(), "cannot read the symbolic link");
        return "";
      }
      target.resize(size_t(n));
      cur = !target.empty() && target[0] == '/' ? target : dirOf(cur) + "/" + target;
      continue;
    } else if (S_ISDIR(st.st_mode)) {
      error = where() + ": is a directory";
      return "";
    } else if (!S_ISREG(st.st_mode)) {
      error = where() + ": is " + fileKind(st.st_mode) +
              "; outputs are written only to regular files or new names";
      return "";
    }
    // A new name or a regular file: the temporary goes beside it.
    std::string dir = dirOf(cur);
    struct stat ds;
    int e = 0;
    if (stat(dir.c_str(), &ds) != 0)
      e = errno;
    else if (!S_ISDIR(ds.st_mode))
      e = ENOTDIR;
    else if (access(dir.c_str(), W_OK) != 0)
      e = errno;
    if (e != 0) {
      error = where() + ": cannot write to its directory " + dir + ": " + std::strerror(e);
      return "";
    }
    return cur;
  }
}

std::string fileIdentity(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0)
    return "inode " + std::to_string(uint64_t(st.st_dev)) + ":" +
           std::to_string(uint64_t(st.st_ino));
  char buf[PATH_MAX];
  std::string dir = dirOf(path);
  if (realpath(dir.c_str(), buf))
    dir = buf;
  return "path " + dir + "/" + baseOf(path);
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
  std::string error;
  std::string target = resolveOutputPath(path, error);
  if (target.empty())
    return error;
  std::string tmp = target + ".tmp." + std::to_string(getpid());
  setPendingTemporary(tmp.c_str()); // before it exists: a signal removes it
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) { // left by an earlier process of this pid
    unlink(tmp.c_str());
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  }
  if (fd < 0) {
    error = errnoMessage(tmp, "cannot create");
    setPendingTemporary(nullptr);
    return error;
  }
  struct stat st;
  if (stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    (void)fchmod(fd, st.st_mode & 07777); // the replacement keeps the old file's mode
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    error = errnoMessage(tmp, "cannot create");
    close(fd);
  } else {
    error = body(f);
    if (error.empty() && (std::fflush(f) != 0 || std::ferror(f)))
      error = errnoMessage(path, "write failed");
    if (error.empty() && fsync(fileno(f)) != 0)
      error = errnoMessage(path, "fsync failed");
    if (std::fclose(f) != 0 && error.empty())
      error = errnoMessage(path, "write failed");
  }
  // Whatever took the target's place meanwhile must still be a regular file.
  if (error.empty() && lstat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    error = path + ": changed into " + fileKind(st.st_mode) + " during the run; not replaced";
  if (error.empty() && std::rename(tmp.c_str(), target.c_str()) != 0)
    error = errnoMessage(path, "cannot rename the temporary file over it");
  if (!error.empty())
    unlink(tmp.c_str());
  setPendingTemporary(nullptr);
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
