// Where outputs may go (issue 14: --save renamed over FIFOs, device nodes and
// symlinks), file identity, and writes that follow links.
#include "runtime/data/FileUtil.h"

#include "TestUtil.h"

#include <fstream>
#include <sstream>

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

class FileUtilTest : public TempDirTest {};

std::string readAll(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string writeText2(const std::string &p, const std::string &text) {
  return writeFileAtomically(p, [&](FILE *f) -> std::string {
    std::fputs(text.c_str(), f);
    return "";
  });
}

TEST_F(FileUtilTest, OutputRule) {
  std::string err;
  // A new name in a writable directory, a regular file: themselves.
  EXPECT_EQ(resolveOutputPath(path("new.npy"), err), path("new.npy"));
  writeText(path("old.npy"), "x");
  EXPECT_EQ(resolveOutputPath(path("old.npy"), err), path("old.npy"));
  // A link: its final target, through relative and absolute hops.
  ASSERT_EQ(mkdir(path("d").c_str(), 0700), 0);
  ASSERT_EQ(symlink("../old.npy", path("d/rel").c_str()), 0);
  ASSERT_EQ(symlink(path("d/rel").c_str(), path("abs").c_str()), 0);
  EXPECT_EQ(resolveOutputPath(path("abs"), err), path("d/../old.npy"));
  // A dangling link: its target is created.
  ASSERT_EQ(symlink("d/made.npy", path("dangling").c_str()), 0);
  EXPECT_EQ(resolveOutputPath(path("dangling"), err), path("d/made.npy"));
  // Everything else is refused, naming what it is.
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  err.clear();
  EXPECT_EQ(resolveOutputPath(path("fifo"), err), "");
  EXPECT_EQ(err, path("fifo") + ": is a FIFO; outputs are written only to regular files or "
                                "new names");
  ASSERT_EQ(symlink(path("fifo").c_str(), path("tofifo").c_str()), 0);
  EXPECT_EQ(resolveOutputPath(path("tofifo"), err), "");
  EXPECT_TRUE(contains(err, path("tofifo") + " (a link to " + path("fifo") + "): is a FIFO"));
  EXPECT_EQ(resolveOutputPath("/dev/null", err), "");
  EXPECT_TRUE(contains(err, "/dev/null: is a character device"));
  EXPECT_EQ(resolveOutputPath(path("d"), err), "");
  EXPECT_EQ(err, path("d") + ": is a directory");
  ASSERT_EQ(symlink(path("loop1").c_str(), path("loop2").c_str()), 0);
  ASSERT_EQ(symlink(path("loop2").c_str(), path("loop1").c_str()), 0);
  EXPECT_EQ(resolveOutputPath(path("loop1"), err), "");
  EXPECT_TRUE(contains(err, "too many levels of symbolic links"));
  EXPECT_EQ(resolveOutputPath(path("missing/x.npy"), err), "");
  EXPECT_EQ(err, path("missing/x.npy") + ": cannot write to its directory " + path("missing") +
                     ": No such file or directory");
  EXPECT_EQ(resolveOutputPath(path("old.npy/x"), err), "");
  EXPECT_TRUE(contains(err, "Not a directory"));
}

TEST_F(FileUtilTest, AtomicWritesFollowLinksAndRefuseTheRest) {
  ASSERT_EQ(mkdir(path("d").c_str(), 0700), 0);
  writeText(path("d/target.txt"), "old");
  ASSERT_EQ(chmod(path("d/target.txt").c_str(), 0640), 0);
  ASSERT_EQ(symlink("d/target.txt", path("link.txt").c_str()), 0);
  EXPECT_EQ(writeText2(path("link.txt"), "new"), "");
  struct stat st;
  ASSERT_EQ(lstat(path("link.txt").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)); // still a link
  EXPECT_EQ(readAll(path("d/target.txt")), "new");
  ASSERT_EQ(stat(path("d/target.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u); // the replacement keeps the mode
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  EXPECT_TRUE(contains(writeText2(path("fifo"), "x"), "is a FIFO"));
  ASSERT_EQ(lstat(path("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // Nothing but the files made here is left: no temporary.
  EXPECT_NE(system(("ls " + dir_ + " " + dir_ + "/d | grep -q '[.]tmp[.]'").c_str()), 0);
}

TEST_F(FileUtilTest, IdentityAndOpening) {
  writeText(path("a"), "1");
  ASSERT_EQ(link(path("a").c_str(), path("hard").c_str()), 0);
  ASSERT_EQ(symlink("a", path("soft").c_str()), 0);
  EXPECT_EQ(fileIdentity(path("a")), fileIdentity(path("hard")));
  EXPECT_EQ(fileIdentity(path("a")), fileIdentity(path("soft")));
  EXPECT_EQ(fileIdentity(path("x")), fileIdentity(dir_ + "/./x")); // new names by path
  EXPECT_NE(fileIdentity(path("x")), fileIdentity(path("y")));
  std::string err;
  EXPECT_TRUE(openForReading(path("soft"), err));
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  EXPECT_FALSE(openForReading(path("fifo"), err)); // at once, never blocking
  EXPECT_EQ(err, path("fifo") + ": not a regular file (a FIFO)");
}

} // namespace
