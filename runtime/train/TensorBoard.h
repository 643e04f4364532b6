// TensorBoard event files, written by hand: `train --tensorboard DIR` logs
// scalars that TensorBoard (and its event readers) read.
//
// A file is a sequence of TFRecords: uint64 length (little-endian), uint32
// masked CRC32C of those 8 bytes, the data, uint32 masked CRC32C of the data
// (masked: ((crc >> 15) | (crc << 17)) + 0xa282ead8). Each record is a
// tensorflow.Event protobuf: wall_time (1, double), step (2, int64), and
// either file_version (3, string; the first record: "brain.Event:2") or a
// summary (5, Summary: repeated value (1) {tag (1, string), simple_value
// (2, float)}).
#pragma once

#include "runtime/data/FileUtil.h"

#include <cstdint>
#include <string>

namespace kiln::runtime {

/// CRC-32C (Castagnoli), as TFRecord frames use it before masking.
uint32_t crc32c(const void *data, size_t size);

class EventWriter {
public:
  /// Creates DIR (and missing parents) and the event file
  /// DIR/events.out.tfevents.<seconds>.<host>.<pid>; "" or a one-line error.
  std::string open(const std::string &dir);
  bool isOpen() const { return bool(f_); }
  /// One scalar at a step; throws CliError (exit 1) when the write fails.
  void scalar(const std::string &tag, int64_t step, double value);
  void flush();

private:
  void record(const std::string &event);
  FilePtr f_;
  std::string path_;
};

/// Creates a directory and its missing parents; "" or a one-line error.
std::string makeDirectories(const std::string &dir);

} // namespace kiln::runtime
