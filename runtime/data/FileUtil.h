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

/// Opens for reading; on failure sets `error` to a one-line message.
FilePtr openForReading(const std::string &path, std::string &error);

/// The size of an open regular file; false if it is not one (a directory...).
bool fileSize(FILE *f, uint64_t &size);

/// Reads exactly n bytes; false on a short read.
bool readExactly(FILE *f, void *buf, size_t n);

/// Writes PATH atomically: `body` writes into PATH.tmp.<pid> in the same
/// directory, which is flushed, fsync'ed and renamed over PATH. On any failure
/// the temporary is removed and the message says why ("" on success). `body`
/// returns "" or its own error message.
std::string writeFileAtomically(const std::string &path,
                                const std::function<std::string(FILE *)> &body);

/// Text from a file made fit for a one-line message: control characters
/// (newlines, escapes) print as \xNN, and more than `max` bytes are cut
/// (at a UTF-8 boundary) and end in "...".
std::string printable(std::string_view text, size_t max = 64);

/// The part of a path after its last '.', lowercased ("" if none).
std::string extensionOf(const std::string &path);

} // namespace kiln::runtime
