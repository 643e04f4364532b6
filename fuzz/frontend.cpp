// Fuzz target: a model file's bytes through the frontend (lexer, parser,
// semantic analysis) as `kiln check` and `kiln build --emit=ast` run it.
// Besides crashes, hangs and sanitizer reports, it checks the contract of
// checkModel (frontend/Frontend.h): a model comes back exactly when no error
// was reported, and the model is well formed (operands refer to earlier
// nodes, every index is in range, shapes are known but for the batch).
#include "frontend/Frontend.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace {

void fail(const char *what) {
  std::fprintf(stderr, "fuzz-frontend: contract broken: %s\n", what);
  std::abort();
}

void checkNode(const kiln::Model &m, int index) {
  if (index < 0 || size_t(index) >= m.nodes.size())
    fail("a node index is out of range");
}

void checkModelShape(const kiln::Model &m) {
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    for (int op : m.nodes[i].operands)
      if (op < 0 || size_t(op) >= i)
        fail("an operand does not refer to an earlier node");
    for (int64_t d : m.nodes[i].type.shape)
      if (d < 0 && d != kiln::kBatch)
        fail("a negative size other than the batch");
  }
  for (int i : m.inputs) checkNode(m, i);
  for (int i : m.targets) checkNode(m, i);
  for (int i : m.params) checkNode(m, i);
  if (m.outputs.empty())
    fail("a model without outputs");
  for (const kiln::NamedValue &v : m.outputs) checkNode(m, v.node);
  for (const kiln::NamedValue &v : m.metrics) checkNode(m, v.node);
  if (m.loss != -1)
    checkNode(m, m.loss);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string source(reinterpret_cast<const char *>(data), size);
  {
    std::ostringstream out;
    kiln::Diagnostics diags("fuzz.kiln", source, out);
    std::optional<kiln::Model> model = kiln::checkModel(diags);
    if (model.has_value() != (diags.errorCount() == 0))
      fail("checkModel's result disagrees with its error count");
    if (!model && out.str().empty())
      fail("checkModel failed without printing a diagnostic");
    if (model)
      checkModelShape(*model);
  }
  {
    std::ostringstream out, ast;
    kiln::Diagnostics diags("fuzz.kiln", source, out);
    bool ok = kiln::dumpAST(diags, ast);
    if (ok != (diags.errorCount() == 0))
      fail("dumpAST's result disagrees with its error count");
  }
  return 0;
}
