// The flags of the executables Kiln builds (runtime/Cli.cpp). Each input and
// target of a model is a flag named after it (`--image FILE`), so the
// frontend refuses those names for them; the runtime's tests check that this
// list holds every flag it defines.
#pragma once

namespace kiln {

inline constexpr const char *kExecutableFlags[] = {
    "batch",   "epochs", "help",    "init",        "json",      "lr",      "metrics",
    "output",  "resume", "save",    "seed",        "tensorboard", "threads", "val-every",
    "version", "weights",
    // An input named `every` would have the validation twin --val-every.
    "every",
};

} // namespace kiln
