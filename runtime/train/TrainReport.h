// What train reports as it goes: a live progress bar (stdout a terminal) or
// one plain line per epoch (stdout not a terminal), and the JSON lines of
// --metrics. Formats are in docs/runtime.md.
#pragma once

#include "runtime/data/FileUtil.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

class TrainReport {
public:
  /// `names`: "loss" then the metrics; `metricsPath` empty for no log file.
  /// Opening the log truncates it; failure throws CliError (exit 2).
  TrainReport(std::vector<std::string> names, bool f64Scalars, int64_t epochs,
              int64_t samples, int64_t batch, const std::string &metricsPath);
  ~TrainReport();

  void beginEpoch(int64_t epoch); // 1-based
  /// One train step's batch means (loss first), over `rows` samples;
  /// `runStep` is the 1-based step over the whole run.
  void step(int64_t runStep, int64_t rows, const std::vector<double> &values);
  /// Prints the epoch's line and logs its JSON line.
  void endEpoch();
  /// Ends a live bar's line, so that an error message starts on its own.
  void abort();

private:
  double elapsed() const;
  std::string valuesText(const std::vector<double> &values) const;
  void drawBar(bool force);
  void writeLog(const std::string &line);

  std::vector<std::string> names_;
  bool f64_;
  int64_t epochs_, samples_, stepsPerEpoch_;
  bool live_;
  bool barShown_ = false;
  FilePtr log_;
  std::string logPath_;

  int64_t epoch_ = 0, stepInEpoch_ = 0, seen_ = 0;
  std::vector<double> sums_;
  std::chrono::steady_clock::time_point start_, lastDraw_;
};

} // namespace kiln::runtime
