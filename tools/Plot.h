// `kiln plot`: training curves from an executable's `--metrics` log, as one
// SVG file, for people without TensorBoard. Plain C++ and LLVM's Support
// library (JSON, files); nothing of the compiler.
#ifndef KILN_TOOLS_PLOT_H
#define KILN_TOOLS_PLOT_H

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kiln::plot {

/// One quantity's values over a run, in file order. Values JSON wrote as
/// `null` (not finite) are NaN.
struct Point {
  double x;
  double y;
};

struct Series {
  std::vector<Point> steps;  // one per logged step (x: the run's step)
  std::vector<Point> epochs; // one per epoch (x: the epoch's last step)
};

/// A panel: a loss or metric, with its training and validation series.
struct Quantity {
  std::string name;  // "loss", "accuracy"
  Series train;      // "loss"
  Series validation; // "val_loss"
};

/// What a `--metrics` log holds (docs/runtime.md): step lines
/// `{"epoch":1,"step":10,"loss":...,"val_loss":...}` and epoch lines
/// `{"epoch":1,"loss":...,"samples_per_second":...,"seconds":...}`.
struct MetricsLog {
  std::vector<Quantity> quantities;                  // loss first, then in the log's order
  std::vector<std::pair<int64_t, double>> epochEnds; // (epoch, x of its last step)
  int64_t steps = 0;                                 // step lines
  int64_t epochs = 0;                                // epoch lines
  bool stepAxis = true;                              // x is the run's step (else the epoch)
};

/// Parses a log's text; an error names `path` and the line
/// (`m.jsonl:3: not JSON: ...`), or the file when no line holds a value.
llvm::Expected<MetricsLog> parseMetricsLog(llvm::StringRef path, llvm::StringRef text);

/// The SVG: one panel per quantity (steps a thin line, epochs points on a
/// thicker line, validation in a second colour), axes, ticks, a legend.
std::string renderSvg(const MetricsLog &log, llvm::StringRef title);

/// `kiln plot LOG -o OUT`: reads LOG, writes OUT ("-": stdout) and says in
/// one line what it drew. Returns the exit status: 0, or 2 after a one-line
/// error on stderr (a missing or unreadable log, a line that is not a JSON
/// object, no values, an output folder that does not exist).
int runPlot(const std::string &logPath, const std::string &outputPath);

} // namespace kiln::plot

#endif // KILN_TOOLS_PLOT_H
