// The main() of every Kiln executable: the generated object file defines the
// model's symbols (KilnABI.h), this file hands them to the command line.
#include "runtime/Cli.h"
#include "runtime/KilnABI.h"

// Optional entry points: a model without loss or metrics has no kiln_loss,
// one without a loss has no kiln_train_step. Weak references are null when
// absent.
extern "C" __attribute__((weak)) void kiln_loss(void **args);
extern "C" __attribute__((weak)) void kiln_train_step(void **args);

int main(int argc, char **argv) {
  kiln::runtime::EntryPoints ep;
  ep.manifestJson = kiln_manifest_json;
  ep.forward = kiln_forward;
  ep.loss = kiln_loss;
  ep.trainStep = kiln_train_step;
  return kiln::runtime::runCli(argc, argv, ep);
}
