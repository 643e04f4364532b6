// `./NAME bench`: a tool for benchmarking. Times the generated entry points
// (kiln_train_step, kiln_forward or kiln_loss) on random data shaped by the
// manifest, each call alone between two reads of a steady clock, and prints
// one JSON line of statistics (docs/runtime.md, "bench"; bench/run.py).
#pragma once

#include "runtime/Cli.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// The statistics of a list of durations (any unit); quartiles interpolate
/// linearly between order statistics, as numpy.percentile's default does.
struct BenchStats {
  double median = 0, q1 = 0, q3 = 0, min = 0, max = 0, mean = 0;
};
BenchStats benchStats(std::vector<double> values);

/// Runs `bench` with the flags after the command word; prints its JSON line
/// (or --help) to stdout. Throws CliError for bad usage (exit 2) or an
/// executable without the entry point asked for.
void runBench(const std::string &prog, const Manifest &m, const EntryPoints &ep,
              const std::vector<std::string> &args);

} // namespace kiln::runtime
