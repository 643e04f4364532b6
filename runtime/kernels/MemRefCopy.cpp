// memrefCopy: the strided copy MLIR's memref.copy lowers to when it cannot
// prove both sides contiguous (upstream it lives in mlir_c_runner_utils,
// which Debian does not ship; generated code calls it by this name).
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct UnrankedMemRef {
  int64_t rank;
  void *descriptor; // {allocated, aligned, offset, sizes[rank], strides[rank]}
};

struct View {
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
};

View view(const UnrankedMemRef &m) {
  auto *fields = static_cast<char *>(m.descriptor);
  View v;
  std::memcpy(&v.aligned, fields + sizeof(void *), sizeof(void *));
  std::memcpy(&v.offset, fields + 2 * sizeof(void *), sizeof(int64_t));
  v.sizes = reinterpret_cast<const int64_t *>(fields + 2 * sizeof(void *) + sizeof(int64_t));
  v.strides = v.sizes + m.rank;
  return v;
}

} // namespace

extern "C" void memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  View s = view(*src), d = view(*dst);
  for (int64_t i = 0; i < rank; ++i)
    if (s.sizes[i] == 0)
      return;
  // Walk every index like an odometer, last dimension fastest.
  std::vector<int64_t> index(rank, 0);
  int64_t so = s.offset, dO = d.offset;
  while (true) {
    std::memcpy(d.aligned + dO * elemSize, s.aligned + so * elemSize, elemSize);
    int64_t k = rank - 1;
    for (; k >= 0; --k) {
      so += s.strides[k];
      dO += d.strides[k];
      if (++index[k] < s.sizes[k])
        break;
      so -= s.strides[k] * s.sizes[k];
      dO -= d.strides[k] * s.sizes[k];
      index[k] = 0;
    }
    if (k < 0)
      return;
  }
}
