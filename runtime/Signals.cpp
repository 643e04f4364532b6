#include "runtime/Signals.h"

#include <csignal>
#include <initializer_list>
#include <cstring>
#include <unistd.h>

namespace kiln::runtime {

namespace {

volatile sig_atomic_t gGraceful = 0;
volatile sig_atomic_t gStop = 0;
// The pending temporary's path; gHaveTemporary is cleared before the buffer
// changes, so the handler never reads a half-written path.
char gTemporary[8192];
volatile sig_atomic_t gHaveTemporary = 0;

void onSignal(int sig) {
  if (gGraceful && gStop == 0) {
    gStop = sig;
    return;
  }
  if (gHaveTemporary)
    unlink(gTemporary); // async-signal-safe
  _exit(128 + sig);
}

} // namespace

void installSignalHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old;
    // A signal ignored by the parent (nohup, `cmd &` without job control)
    // stays ignored, as the shell intends.
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaction(sig, &sa, nullptr);
  }
}

void setGracefulStop(bool graceful) { gGraceful = graceful ? 1 : 0; }

int stopRequested() { return gStop; }

void setPendingTemporary(const char *path) {
  gHaveTemporary = 0;
  if (!path || std::strlen(path) >= sizeof gTemporary)
    return;
  std::strcpy(gTemporary, path);
  gHaveTemporary = 1;
}

} // namespace kiln::runtime
