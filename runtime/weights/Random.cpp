#include "runtime/weights/Random.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace kiln::runtime {

static uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Rng::Rng(uint64_t seed) {
  for (uint64_t &s : s_)
    s = splitmix64(seed); // never all zero
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() { return double(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  // Reject the top partial range so every residue is equally likely.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = next();
  while (x >= limit);
  return x % n;
}

double Rng::normal() {
  if (haveSpare_) {
    haveSpare_ = false;
    return spare_;
  }
  double u1 = 1.0 - uniform01(); // (0, 1]: log stays finite
  double u2 = uniform01();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  haveSpare_ = true;
  return r * std::cos(theta);
}

std::string Rng::saveState() const {
  uint64_t spareBits;
  std::memcpy(&spareBits, &spare_, 8);
  uint64_t words[6] = {s_[0], s_[1], s_[2], s_[3], haveSpare_ ? 1u : 0u, spareBits};
  std::string out;
  for (int i = 0; i < 6; ++i) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%s%016llx", i ? ":" : "",
                  static_cast<unsigned long long>(words[i]));
    out += buf;
  }
  return out;
}

bool Rng::restoreState(const std::string &text) {
  uint64_t words[6];
  size_t at = 0;
  for (int i = 0; i < 6; ++i) {
    if (at + 16 > text.size() || (i < 5 && (at + 16 >= text.size() || text[at + 16] != ':')))
      return false;
    uint64_t v = 0;
    for (size_t k = at; k < at + 16; ++k) {
      char c = text[k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0)
        return false;
      v = v << 4 | uint64_t(d);
    }
    words[i] = v;
    at += 17;
  }
  if (at - 1 != text.size() || words[4] > 1 ||
      (words[0] | words[1] | words[2] | words[3]) == 0)
    return false;
  for (int i = 0; i < 4; ++i)
    s_[i] = words[i];
  haveSpare_ = words[4] == 1;
  std::memcpy(&spare_, &words[5], 8);
  return true;
}

template <class T, class F> static void fill(Tensor &t, F draw) {
  T *p = t.as<T>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<T>(draw());
}

void fillUniform(Tensor &t, double lo, double hi, Rng &rng) {
  auto draw = [&] { return lo + (hi - lo) * rng.uniform01(); };
  if (t.dtype() == DType::F64)
    fill<double>(t, draw);
  else
    fill<float>(t, draw);
}

void fillNormal(Tensor &t, double mean, double stddev, Rng &rng) {
  auto draw = [&] { return mean + stddev * rng.normal(); };
  if (t.dtype() == DType::F64)
    fill<double>(t, draw);
  else
    fill<float>(t, draw);
}

void fillConstant(Tensor &t, double value) {
  auto draw = [&] { return value; };
  switch (t.dtype()) {
  case DType::F32: return fill<float>(t, draw);
  case DType::F64: return fill<double>(t, draw);
  case DType::I32: return fill<int32_t>(t, draw);
  case DType::I64: return fill<int64_t>(t, draw);
  case DType::U8: return fill<uint8_t>(t, draw);
  }
}

std::vector<int64_t> permutation(int64_t n, Rng &rng) {
  std::vector<int64_t> p(size_t(n > 0 ? n : 0));
  for (int64_t i = 0; i < n; ++i)
    p[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(p[size_t(i)], p[rng.below(uint64_t(i) + 1)]);
  return p;
}

} // namespace kiln::runtime
