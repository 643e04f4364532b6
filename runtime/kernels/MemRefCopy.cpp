// memrefCopy: the strided copy MLIR's memref.copy lowers to when it cannot
// prove both sides contiguous (upstream it lives in mlir_c_runner_utils,
// which Debian does not ship; generated code calls it by this name).
#include <cstdint>
#include <cstring>
#include <cstdlib>

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
  // The innermost dimensions contiguous on both sides are one run of bytes
  // (a state slice of a recurrent loop is whole rows): one memcpy per run.
  int64_t inner = rank, run = 1;
  while (inner > 0 && s.strides[inner - 1] == run && d.strides[inner - 1] == run)
    run *= s.sizes[--inner];
  const int64_t runBytes = run * elemSize;
  if (inner == 0) {
    std::memmove(d.aligned + d.offset * elemSize, s.aligned + s.offset * elemSize, runBytes);
    return;
  }
  // Walk the outer indices like an odometer, the last one fastest. Ranks are
  // small (kiln tensors have at most a handful of dimensions).
  int64_t index[16] = {};
  if (inner > 16)
    std::abort();
  int64_t so = s.offset, dO = d.offset;
  while (true) {
    std::memmove(d.aligned + dO * elemSize, s.aligned + so * elemSize, runBytes);
    int64_t k = inner - 1;
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
