// safetensors: round trip, validation of every header field, strict loading.
#include "runtime/weights/Params.h"
#include "runtime/weights/Safetensors.h"

#include "TestUtil.h"

#include <dirent.h>

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

class SafetensorsTest : public TempDirTest {
protected:
  std::string load(const std::string &header, const Bytes &data) {
    writeFile(path("w.safetensors"), safetensorsBytes(header, data));
    Result<SafetensorsIndex> r = readSafetensorsIndex(path("w.safetensors"));
    return r.error;
  }
};

std::vector<ParamSpec> specs() {
  ParamSpec w{"fc.weight", DType::F32, {2, 3}, {}};
  ParamSpec b{"fc.bias", DType::F32, {2}, {}};
  return {w, b};
}

TEST_F(SafetensorsTest, RoundTripAtomically) {
  std::vector<Tensor> values = initParams(specs(), 7);
  values[0].as<float>()[5] = 42.5f;
  ASSERT_EQ(saveParams(path("w.safetensors"), specs(), values), "");
  Result<std::vector<Tensor>> back = loadParams(path("w.safetensors"), specs());
  ASSERT_TRUE(back.ok()) << back.error;
  ASSERT_EQ(back.value.size(), 2u);
  EXPECT_EQ(back.value[0].as<float>()[5], 42.5f);
  EXPECT_EQ(std::memcmp(back.value[0].data(), values[0].data(), values[0].bytes()), 0);

  Result<SafetensorsIndex> index = readSafetensorsIndex(path("w.safetensors"));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index.value.metadata.at("format"), "pt");
  EXPECT_EQ(index.value.dataStart % 8, 0u);

  // Nothing but the file itself is left in the directory.
  DIR *d = opendir(dir_.c_str());
  int files = 0;
  while (dirent *e = readdir(d))
    files += e->d_name[0] != '.';
  closedir(d);
  EXPECT_EQ(files, 1);
}

TEST_F(SafetensorsTest, ReadsAFileLikePythonWritesIt) {
  // Names sorted, data in another order, metadata present, padded header.
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},)"
                       R"("fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  while (header.size() % 8)
    header += ' ';
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8};
  writeFile(path("p.safetensors"), safetensorsBytes(header, rawBytes(data)));
  Result<std::vector<Tensor>> p = loadParams(path("p.safetensors"), specs());
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.value[1].as<float>()[1], 8.0f);
}

TEST_F(SafetensorsTest, HeaderValidation) {
  Bytes eight(8, 0);
  EXPECT_TRUE(contains(load("{}", {1}), "the tensors cover 0 bytes, but the data buffer holds 1"));
  EXPECT_EQ(load("{}", {}), "");
  EXPECT_TRUE(contains(load("{not json", {}), "invalid JSON"));
  EXPECT_TRUE(contains(load("[1]", {}), "not a safetensors file"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[2]}})", eight),
                       "tensor 'a': needs dtype, shape and data_offsets"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", eight),
                       "unknown dtype"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
                       "shape"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
                       "needs 12"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight),
                       "gap"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight),
                       "out of range"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            eight),
                       "overlap"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight),
                       "begin <= end"));
  EXPECT_TRUE(contains(load(R"({"__metadata__":{"x":1}})", {}), "__metadata__"));
  // A name with a newline (found by fuzz-safetensors' one-line check).
  EXPECT_TRUE(contains(load("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight),
                       "tensor 'a\\x0Ab': needs dtype"));
  // Terabytes claimed: caught by arithmetic, nothing allocated.
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F64","shape":[1000000,1000000,1000000],)"
                            R"("data_offsets":[0,8000000000000000000]}})",
                            eight),
                       "out of range"));
  EXPECT_TRUE(contains(load(R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],)"
                            R"("data_offsets":[0,8]}})",
                            eight),
                       "too large"));
}

TEST_F(SafetensorsTest, HeaderLengthPastEndAndShortFiles) {
  Bytes b;
  uint64_t n = 1ull << 40;
  append(b, &n, 8);
  append(b, "{}", 2);
  writeFile(path("x.safetensors"), b);
  std::string err = readSafetensorsIndex(path("x.safetensors")).error;
  EXPECT_TRUE(contains(err, path("x.safetensors") + ": header length 1099511627776 is past "
                                                    "the end of the file (10 bytes)"))
      << err;
  writeFile(path("s.safetensors"), {1, 2, 3});
  EXPECT_TRUE(contains(readSafetensorsIndex(path("s.safetensors")).error, "too short"));
  EXPECT_TRUE(contains(readSafetensorsIndex(path("none.safetensors")).error,
                       "No such file or directory"));
}

TEST_F(SafetensorsTest, StrictLoadingAgainstTheModel) {
  auto loadWith = [&](const std::string &header, size_t bytes) {
    writeFile(path("m.safetensors"), safetensorsBytes(header, Bytes(bytes, 0)));
    return loadParams(path("m.safetensors"), specs()).error;
  };
  std::string weight = R"("fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  EXPECT_EQ(loadWith("{" + weight + "}", 24),
            path("m.safetensors") + ": missing tensor 'fc.bias' (f32[2])");
  EXPECT_EQ(loadWith("{" + weight + R"(,"fc.bias":{"dtype":"F32","shape":[1,2],)"
                                    R"("data_offsets":[24,32]}})",
                     32),
            path("m.safetensors") + ": tensor 'fc.bias' has shape [1, 2], the model "
                                    "expects [2]");
  EXPECT_EQ(loadWith("{" + weight + R"(,"fc.bias":{"dtype":"F64","shape":[2],)"
                                    R"("data_offsets":[24,40]}})",
                     40),
            path("m.safetensors") + ": tensor 'fc.bias' has dtype F64, the model "
                                    "expects F32");
  EXPECT_TRUE(contains(loadWith("{" + weight + R"(,"fc.bias":{"dtype":"F32","shape":[2],)"
                                               R"("data_offsets":[24,32]},)"
                                               R"("extra":{"dtype":"U8","shape":[],)"
                                               R"("data_offsets":[32,33]}})",
                                33),
                       "unexpected tensor 'extra'"));
}

TEST_F(SafetensorsTest, FailedWriteLeavesOldFileAndNoTemporary) {
  std::vector<Tensor> values = initParams(specs(), 1);
  std::string err = saveParams(path("missing/w.safetensors"), specs(), values);
  EXPECT_TRUE(contains(err, "cannot write to its directory")) << err;
}

} // namespace
