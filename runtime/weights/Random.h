// The seeded random numbers of a run: xoshiro256** seeded through splitmix64,
// so one 64-bit seed gives the same stream on every run and platform.
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

class Rng {
public:
  explicit Rng(uint64_t seed);

  uint64_t next();
  /// Uniform in [0, 1), 53 random bits.
  double uniform01();
  /// Uniform integer in [0, n), without modulo bias. n > 0.
  uint64_t below(uint64_t n);
  /// Standard normal (Box-Muller; both values of a pair are used in turn).
  double normal();

  /// The whole state as text (hex words: the four state words, whether a
  /// normal is pending, its bits), so a checkpoint can continue the stream.
  std::string saveState() const;
  /// Restores what saveState wrote; false (unchanged) for malformed text.
  bool restoreState(const std::string &text);

private:
  uint64_t s_[4];
  bool haveSpare_ = false;
  double spare_ = 0;
};

/// Fills a float tensor with uniform values in [lo, hi).
void fillUniform(Tensor &t, double lo, double hi, Rng &rng);
/// Fills a float tensor with normal values.
void fillNormal(Tensor &t, double mean, double stddev, Rng &rng);
/// Fills any tensor with a constant.
void fillConstant(Tensor &t, double value);

/// A seeded permutation of 0..n-1 (Fisher-Yates), for shuffling samples.
std::vector<int64_t> permutation(int64_t n, Rng &rng);

} // namespace kiln::runtime
