// Flag parsing: both spellings, every usage error.
#include "runtime/Args.h"

#include "TestUtil.h"

using namespace kiln::runtime;
using kiln::runtime::test::contains;

namespace {

std::vector<FlagSpec> specs() {
  return {{"weights", "FILE", "", true}, {"batch", "B", "", false}, {"json", "", "", false}};
}

std::string usage(const std::vector<std::string> &args) {
  try {
    parseFlags(args, specs());
  } catch (const CliError &e) {
    EXPECT_EQ(e.status, 2);
    return e.what();
  }
  return "";
}

TEST(ArgsTest, BothSpellings) {
  ParsedFlags f = parseFlags({"--weights", "w.st", "--batch=8", "--json"}, specs());
  EXPECT_EQ(f.get("weights"), "w.st");
  EXPECT_EQ(f.get("batch"), "8");
  EXPECT_TRUE(f.has("json"));
  EXPECT_TRUE(parseFlags({"--help"}, specs()).help); // no required check with --help
  EXPECT_EQ(parseFlags({"--weights=a=b"}, specs()).get("weights"), "a=b");
}

TEST(ArgsTest, UsageErrors) {
  EXPECT_EQ(usage({"--weights", "w", "--nope", "1"}), "unknown flag --nope");
  EXPECT_EQ(usage({"--batch", "3"}), "missing --weights FILE");
  EXPECT_EQ(usage({"--weights"}), "--weights needs a value (FILE)");
  EXPECT_EQ(usage({"--weights", "--batch", "3"}), "--weights needs a value (FILE)");
  EXPECT_EQ(usage({"--weights="}), "--weights needs a value (FILE)");
  EXPECT_EQ(usage({"--weights", "a", "--weights", "b"}), "--weights is given twice");
  EXPECT_EQ(usage({"--weights", "a", "stray"}), "unexpected argument 'stray'");
  EXPECT_EQ(usage({"--weights", "a", "--json=1"}), "--json takes no value");
}

TEST(ArgsTest, Numbers) {
  EXPECT_EQ(parseIntFlag("batch", "64", 1), 64);
  EXPECT_THROW(parseIntFlag("batch", "0", 1), CliError);
  EXPECT_THROW(parseIntFlag("batch", "6x", 1), CliError);
  EXPECT_THROW(parseIntFlag("batch", "99999999999999999999", 1), CliError);
  EXPECT_EQ(parseSeedFlag("seed", "18446744073709551615"), UINT64_MAX);
  EXPECT_THROW(parseSeedFlag("seed", "-1"), CliError);
  EXPECT_DOUBLE_EQ(parseRealFlag("lr", "1e-3", 0), 1e-3);
  EXPECT_THROW(parseRealFlag("lr", "nan", 0), CliError);
  EXPECT_THROW(parseRealFlag("lr", "-0.1", 0), CliError);
  try {
    parseRealFlag("lr", "fast", 0);
  } catch (const CliError &e) {
    EXPECT_EQ(std::string(e.what()), "--lr: 'fast' is not a number >= 0");
  }
}

} // namespace
