// Semantic analysis: the syntax tree becomes a checked Model.
//
// Names are resolved, layers expanded into nodes with state_dict-named
// parameters, every dtype and shape computed, and every error reported at
// its expression. A name whose definition failed is poisoned: its uses say
// nothing more, so one mistake gives one message.
#pragma once

#include "frontend/AST.h"
#include "frontend/Frontend.h"

#include <optional>

namespace kiln {

/// Checks `file` (already parsed, possibly with syntax errors reported) and
/// builds its Model. Returns nullopt when any error was reported.
std::optional<Model> analyze(const File &file, Diagnostics &diags);

} // namespace kiln
