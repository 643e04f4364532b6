// Small file helpers shared by the readers and writers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace kiln::runtime {

struct FileCloser {
  void operator()(FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

/// "PATH: WHAT: <strerror(errno)>".
std::string errnoMessage(const std::string &path, const std::string &what);

/// Opens a regular file for reading; on failure sets `error` to a one-line
/// message. Never blocks: a FIFO, a device (/dev/zero) or a directory is
/// "not a regular file" (opened with O_NONBLOCK, checked with fstat, then the
/// flag is cleared).
FilePtr openForReading(const std::string &path, std::string &error);

/// The same as a file descriptor (-1 on failure), for zlib's gzdopen.
int openRegularFd(const std::string &path, std::string &error);

/// Where an output named PATH is written: PATH itself when it is a regular
/// file or a new name in an existing, writable directory; for a symbolic
/// link, its final target (relative targets resolve against the link's
/// directory), under the same rule. Anything else (a directory, a FIFO, a
/// device, a socket, a link loop) sets `error` ("PATH: ...") and returns "".
std::string resolveOutputPath(const std::string &path, std::string &error);

/// Identifies a file: (device, inode) when it exists (following links),
/// else its resolved directory and name. Equal ids mean the same file.
std::string fileIdentity(const std::string &path);

/// The size of an open regular file; false if it is not one (a directory...).
bool fileSize(FILE *f, uint64_t &size);

/// Reads exactly n bytes; false on a short read.
bool readExactly(FILE *f, void *buf, size_t n);

/// Writes PATH atomically: `body` writes into T.tmp.<pid> in the directory of
/// T = resolveOutputPath(PATH) (PATH, or a link's target), which is flushed,
/// fsync'ed and renamed over T (keeping an existing T's permission bits). On
/// any failure the temporary is removed and the message says why ("" on
/// success); a signal that ends the process removes it too (Signals.h).
/// `body` returns "" or its own error message.
std::string writeFileAtomically(const std::string &path,
                                const std::function<std::string(FILE *)> &body);

/// Text from a file made fit for a one-line message: control characters
/// (newlines, escapes) print as \xNN, and more than `max` bytes are cut
/// (at a UTF-8 boundary) and end in "...".
std::string printable(std::string_view text, size_t max = 64);

/// The part of a path after its last '.', lowercased ("" if none).
std::string extensionOf(const std::string &path);

} // namespace kiln::runtime
