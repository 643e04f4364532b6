// The executable's command line (train, eval, predict, info). main() in
// Main.cpp only gathers the generated symbols and calls runCli, so the CLI
// itself never references them and stays testable.
#pragma once

namespace kiln::runtime {

/// The generated code's entry points; loss and trainStep may be null (a
/// model without loss or metrics has no kiln_loss, one without a loss no
/// kiln_train_step).
struct EntryPoints {
  const char *manifestJson = nullptr;
  void (*forward)(void **) = nullptr;
  void (*loss)(void **) = nullptr;
  void (*trainStep)(void **) = nullptr;
};

/// Runs the command line; returns the exit status (0 done, 1 the run failed,
/// 2 bad usage or bad input). Never throws.
int runCli(int argc, char **argv, const EntryPoints &entryPoints);

} // namespace kiln::runtime
