// Writers: NPY and CSV round-trip through the readers, exactly.
#include "runtime/data/DataWriters.h"
#include "runtime/data/DataFiles.h"

#include "TestUtil.h"

#include <cmath>
#include <limits>

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

class DataWritersTest : public TempDirTest {};

Tensor sampleFloats() {
  Tensor t(DType::F32, {3, 2});
  float v[] = {0.1f, -1e-30f, 3.4028235e38f, 1.0f / 3.0f, 0.0f, 123456.789f};
  std::memcpy(t.data(), v, sizeof v);
  return t;
}

TEST_F(DataWritersTest, RoundTripEveryDtype) {
  for (const char *ext : {"npy", "csv"}) {
    std::string p = path(std::string("out.") + ext);
    Tensor f = sampleFloats();
    ASSERT_EQ(saveData(p, f), "");
    Result<Tensor> back = loadData(p, DType::F32, {2});
    ASSERT_TRUE(back.ok()) << back.error;
    EXPECT_EQ(std::memcmp(back.value.data(), f.data(), f.bytes()), 0) << ext;

    Tensor d(DType::F64, {2});
    d.as<double>()[0] = 0.1;
    d.as<double>()[1] = std::nextafter(1.0, 2.0);
    ASSERT_EQ(saveData(p, d), "");
    Result<Tensor> bd = loadData(p, DType::F64, {});
    ASSERT_TRUE(bd.ok()) << bd.error;
    EXPECT_EQ(std::memcmp(bd.value.data(), d.data(), d.bytes()), 0) << ext;

    Tensor i(DType::I64, {2, 1});
    i.as<int64_t>()[0] = INT64_MIN;
    i.as<int64_t>()[1] = INT64_MAX;
    ASSERT_EQ(saveData(p, i), "");
    Result<Tensor> bi = loadData(p, DType::I64, {1});
    ASSERT_TRUE(bi.ok()) << bi.error;
    EXPECT_EQ(bi.value.as<int64_t>()[0], INT64_MIN);
    EXPECT_EQ(bi.value.as<int64_t>()[1], INT64_MAX);

    Tensor u(DType::U8, {1, 2, 2});
    u.as<uint8_t>()[3] = 255;
    ASSERT_EQ(saveData(p, u), "");
    Result<Tensor> bu = loadData(p, DType::U8, {2, 2});
    ASSERT_TRUE(bu.ok()) << bu.error;
    EXPECT_EQ(bu.value.as<uint8_t>()[3], 255);
  }
}

TEST_F(DataWritersTest, NpyHeaderIsAligned) {
  ASSERT_EQ(saveNpy(path("a.npy"), sampleFloats()), "");
  FILE *f = std::fopen(path("a.npy").c_str(), "rb");
  unsigned char pre[10];
  ASSERT_EQ(std::fread(pre, 1, 10, f), 10u);
  std::fclose(f);
  EXPECT_EQ((10 + (pre[8] | pre[9] << 8)) % 64, 0);
}

TEST_F(DataWritersTest, NanAndInfSurviveCsv) {
  Tensor t(DType::F32, {3});
  t.as<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  t.as<float>()[1] = std::numeric_limits<float>::infinity();
  t.as<float>()[2] = -std::numeric_limits<float>::infinity();
  ASSERT_EQ(saveCsv(path("n.csv"), t), "");
  Result<Tensor> back = loadData(path("n.csv"), DType::F32, {});
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_TRUE(std::isnan(back.value.as<float>()[0]));
  EXPECT_EQ(back.value.as<float>()[2], -std::numeric_limits<float>::infinity());
}

TEST_F(DataWritersTest, BadPathsLeaveNoTemporary) {
  EXPECT_FALSE(isWritableDataPath(path("x.txt")));
  EXPECT_TRUE(contains(saveData(path("x.txt"), sampleFloats()), "unknown output format"));
  std::string err = saveData(path("no/such/dir/x.npy"), sampleFloats());
  EXPECT_TRUE(contains(err, "cannot write to its directory")) << err;
}

} // namespace
