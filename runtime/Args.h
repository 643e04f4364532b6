// Command-line flags: `--name value` and `--name=value`, a fixed set per
// command, and the errors that end a run with an exit status.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Ends a command: main prints "NAME: error: MESSAGE" and exits with `status`
/// (2 bad usage or bad input, 1 the run failed). Usage errors also point at
/// the command's --help.
struct CliError : std::runtime_error {
  CliError(int status, bool usage, const std::string &message, bool interrupt = false)
      : std::runtime_error(message), status(status), usage(usage), interrupt(interrupt) {}
  int status;
  bool usage;
  bool interrupt; // a run stopped by a signal: "NAME: MESSAGE", not an error
};
[[noreturn]] void usageError(const std::string &message);
[[noreturn]] void inputError(const std::string &message);
[[noreturn]] void runError(const std::string &message);

struct FlagSpec {
  std::string name;      // without the dashes
  std::string metavar;   // "FILE", "B"; empty for a flag without a value
  std::string help;
  bool required = false;
};

struct ParsedFlags {
  std::map<std::string, std::string> values;
  bool help = false; // --help or -h was given

  bool has(const std::string &name) const { return values.count(name) != 0; }
  const std::string &get(const std::string &name) const { return values.at(name); }
};

/// Parses args (after the command word). Throws CliError for an unknown flag,
/// a missing value, a flag given twice or a missing required flag (unless
/// --help was given).
ParsedFlags parseFlags(const std::vector<std::string> &args,
                       const std::vector<FlagSpec> &specs);

/// Strict number parsing for flag values: the whole text, in range.
int64_t parseIntFlag(const std::string &flag, const std::string &text, int64_t min);
uint64_t parseSeedFlag(const std::string &flag, const std::string &text);
double parseRealFlag(const std::string &flag, const std::string &text, double min);

} // namespace kiln::runtime
