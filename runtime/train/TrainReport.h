// What train reports as it goes: a live progress bar fitted to the terminal
// (stdout a terminal), or plain lines every few seconds and one per epoch
// (stdout not a terminal); the JSON lines of --metrics; TensorBoard event
// files (--tensorboard). Formats are in docs/runtime.md.
#pragma once

#include "runtime/data/FileUtil.h"
#include "runtime/train/TensorBoard.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

struct ReportOptions {
  std::vector<std::string> names; // "loss" then the metrics
  bool f64Scalars = false;
  int64_t epochs = 1, samples = 0, batch = 1;
  std::string metricsPath;   // empty: no log file
  bool appendMetrics = false; // a resumed run continues the log
  std::string tensorboardDir; // empty: no event files
  bool validation = false;    // a validation set is evaluated
};

class TrainReport {
public:
  /// Opens the log (truncated unless appending) and the event files;
  /// failure throws CliError (exit 2).
  explicit TrainReport(ReportOptions o);
  ~TrainReport();

  /// `firstStep`: steps of this epoch done before (a resumed run), 0-based;
  /// `lr`: the epoch's learning rate (the schedule's), logged with the epoch.
  void beginEpoch(int64_t epoch, int64_t firstStep, double lr);
  /// One train step's batch means (loss first), over `rows` samples;
  /// `runStep` is the 1-based step over the whole run. `val`: the validation
  /// set's means after this step (--val-every), or null.
  void step(int64_t runStep, int64_t rows, const std::vector<double> &values,
            const std::vector<double> *val);
  /// Shows that validation runs (a live bar says so).
  void validating();
  /// Prints the epoch's line and logs its JSON line; `val`: the validation
  /// set's means at the epoch's end, or null.
  void endEpoch(int64_t runStep, const std::vector<double> *val);
  /// Ends a live bar's line, so that a message starts on its own.
  void abort();

private:
  double elapsed() const;
  std::string valuesText(const std::vector<double> &values, const char *prefix) const;
  std::string jsonValues(const std::vector<double> &values, const char *prefix) const;
  void drawBar(bool force, const char *note = nullptr);
  std::string barLine(int barWidth, size_t values, bool rate, bool eta,
                      const char *note) const;
  void plainLine();
  void writeLog(const std::string &line);

  ReportOptions o_;
  int64_t stepsPerEpoch_;
  bool live_;
  bool barShown_ = false;
  double plainEvery_ = 5; // seconds between plain progress lines
  FilePtr log_;
  EventWriter tbTrain_, tbVal_;

  int64_t epoch_ = 0, stepInEpoch_ = 0, firstStep_ = 0, seen_ = 0;
  double lr_ = 0;
  std::vector<double> sums_;
  std::chrono::steady_clock::time_point start_, lastDraw_, lastPlain_, lastFlush_;
};

/// A JSON string literal: quotes, backslashes and control characters
/// escaped (the --metrics log's names, bench's JSON line).
std::string jsonString(const std::string &s);

/// The terminal's width in columns (TIOCGWINSZ on stdout, else $COLUMNS,
/// else 80).
int terminalWidth();

} // namespace kiln::runtime
