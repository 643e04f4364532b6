// SIGINT and SIGTERM in the executables. Outside a training loop the first
// signal ends the process at once (exit 128 + signal) after removing the
// temporary file of an atomic write in progress, so no PATH.tmp.<pid> is
// left behind. While train runs its steps (setGracefulStop(true)), the first
// signal only asks the loop to stop after the current step (it saves a
// checkpoint and exits 130 or 143); a second one ends the process at once,
// writing nothing.
#pragma once

namespace kiln::runtime {

/// Installs the handlers (idempotent).
void installSignalHandlers();

/// Whether the first signal only requests a stop (the train loop) or ends
/// the process at once.
void setGracefulStop(bool graceful);

/// The signal that asked for a stop (SIGINT, SIGTERM), or 0.
int stopRequested();

/// The temporary file of the atomic write in progress, removed by a signal
/// that ends the process; nullptr when none. The path is copied.
void setPendingTemporary(const char *path);

} // namespace kiln::runtime
