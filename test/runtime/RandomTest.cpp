// The seeded generator: fixed streams, ranges, moments, permutations.
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace kiln::runtime;

namespace {

TEST(RandomTest, SameSeedSameStreamAcrossRuns) {
  Rng a(42), b(42), c(43);
  uint64_t first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  // Pinned values: a change of generator or seeding shows up here.
  Rng z(0);
  EXPECT_EQ(z.next(), 0x99EC5F36CB75F2B4ull);
  EXPECT_EQ(z.next(), 0xBF6E1F784956452Aull);
}

TEST(RandomTest, UniformAndNormalMoments) {
  Rng rng(1);
  Tensor t(DType::F64, {100000});
  fillUniform(t, -2, 3, rng);
  double sum = 0, lo = 1e9, hi = -1e9;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.as<double>()[i];
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GE(lo, -2.0);
  EXPECT_LT(hi, 3.0);
  EXPECT_NEAR(sum / double(t.numel()), 0.5, 0.02);

  Tensor n(DType::F32, {100000});
  fillNormal(n, 1.0, 2.0, rng);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n.numel(); ++i) {
    double v = n.as<float>()[i];
    s += v;
    s2 += v * v;
  }
  double mean = s / double(n.numel());
  EXPECT_NEAR(mean, 1.0, 0.03);
  EXPECT_NEAR(std::sqrt(s2 / double(n.numel()) - mean * mean), 2.0, 0.03);
}

TEST(RandomTest, PermutationIsSeededAndComplete) {
  Rng a(5), b(5);
  std::vector<int64_t> p = permutation(1000, a);
  EXPECT_EQ(p, permutation(1000, b));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i)
    EXPECT_EQ(sorted[size_t(i)], i);
  EXPECT_NE(p, sorted);
  EXPECT_TRUE(permutation(0, a).empty());
  for (int i = 0; i < 1000; ++i)
    EXPECT_LT(a.below(3), 3u);
}

TEST(RandomTest, InitParamsIsDeterministic) {
  std::vector<ParamSpec> specs(3);
  specs[0] = {"w", DType::F32, {4, 4}, {InitSpec::Kind::Uniform, -1, 1}};
  specs[1] = {"b", DType::F32, {4}, {InitSpec::Kind::Ones, 0, 0}};
  specs[2] = {"v", DType::F64, {8}, {InitSpec::Kind::Normal, 0, 1}};
  std::vector<Tensor> a = initParams(specs, 9), b = initParams(specs, 9),
                      c = initParams(specs, 10);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].bytes()), 0);
  EXPECT_NE(std::memcmp(a[0].data(), c[0].data(), a[0].bytes()), 0);
  EXPECT_EQ(a[1].as<float>()[3], 1.0f);
  for (int i = 0; i < 16; ++i)
    EXPECT_LE(std::fabs(a[0].as<float>()[i]), 1.0f);
}

} // namespace
