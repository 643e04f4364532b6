#include "runtime/Args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln::runtime {

void usageError(const std::string &message) { throw CliError(2, true, message); }
void inputError(const std::string &message) { throw CliError(2, false, message); }
void runError(const std::string &message) { throw CliError(1, false, message); }

ParsedFlags parseFlags(const std::vector<std::string> &args,
                       const std::vector<FlagSpec> &specs) {
  ParsedFlags out;
  auto findSpec = [&](const std::string &name) -> const FlagSpec * {
    for (const FlagSpec &s : specs)
      if (s.name == name)
        return &s;
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      usageError("unexpected argument '" + arg + "'");
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec *spec = findSpec(name);
    if (!spec)
      usageError("unknown flag --" + name);
    std::string value;
    if (spec->metavar.empty()) {
      if (eq != std::string::npos)
        usageError("--" + name + " takes no value");
    } else if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0)
        usageError("--" + name + " needs a value (" + spec->metavar + ")");
      value = args[++i];
    }
    if (!spec->metavar.empty() && value.empty())
      usageError("--" + name + " needs a value (" + spec->metavar + ")");
    if (!out.values.emplace(name, value).second)
      usageError("--" + name + " is given twice");
  }
  if (!out.help)
    for (const FlagSpec &s : specs)
      if (s.required && !out.has(s.name))
        usageError("missing --" + s.name + " " + s.metavar);
  return out;
}

int64_t parseIntFlag(const std::string &flag, const std::string &text, int64_t min) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < min)
    usageError("--" + flag + ": '" + text + "' is not an integer >= " +
               std::to_string(min));
  return v;
}

uint64_t parseSeedFlag(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE)
    usageError("--" + flag + ": '" + text + "' is not an integer in [0, 2^64)");
  return v;
}

double parseRealFlag(const std::string &flag, const std::string &text, double min) {
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < min)
  {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", min);
    usageError("--" + flag + ": '" + text + "' is not a number >= " + bound);
  }
  return v;
}

} // namespace kiln::runtime
