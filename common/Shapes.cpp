// Shape rules shared by semantic analysis and the dialect's verifiers.
//
// Every rule checks its own preconditions (ranks, sizes, overflow) so that a
// caller may pass any shapes without undefined behaviour.
#include "common/Shapes.h"

#include <limits>

namespace kiln::shapes {

namespace {

std::string sizeStr(int64_t size) {
  return size == kDynamic ? "N" : std::to_string(size);
}

bool isStatic(const Shape &s) {
  for (int64_t d : s)
    if (d == kDynamic)
      return false;
  return true;
}

/// Product of the static sizes, or nullopt on overflow.
std::optional<int64_t> staticProduct(const Shape &s) {
  int64_t p = 1;
  for (int64_t d : s) {
    if (d == kDynamic)
      continue;
    if (d < 0 || __builtin_mul_overflow(p, d, &p))
      return std::nullopt;
  }
  return p;
}

int64_t countDynamic(const Shape &s) {
  int64_t n = 0;
  for (int64_t d : s)
    n += d == kDynamic;
  return n;
}

/// One spatial output size of a convolution or pooling window (floor rule),
/// or -1 when the window does not fit. Computed in 128 bits: no overflow.
int64_t windowOut(int64_t in, int64_t k, int64_t s, int64_t p) {
  __int128 span = static_cast<__int128>(in) + 2 * static_cast<__int128>(p) - k;
  if (span < 0 || s <= 0)
    return -1;
  __int128 out = span / s + 1;
  if (out > std::numeric_limits<int64_t>::max())
    return -1;
  return static_cast<int64_t>(out);
}

} // namespace

std::string str(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += sizeStr(shape[i]);
  }
  return s + "]";
}

std::optional<int64_t> normalizeDim(int64_t dim, int64_t rank, std::string &err) {
  if (rank <= 0) {
    err = "dim " + std::to_string(dim) + " is out of range for a scalar";
    return std::nullopt;
  }
  if (dim < -rank || dim >= rank) {
    err = "dim " + std::to_string(dim) + " is out of range for rank " +
          std::to_string(rank) + " (expected " + std::to_string(-rank) + " to " +
          std::to_string(rank - 1) + ")";
    return std::nullopt;
  }
  return dim < 0 ? dim + rank : dim;
}

std::optional<Shape> broadcast(const Shape &a, const Shape &b, std::string &err) {
  size_t rank = a.size() > b.size() ? a.size() : b.size();
  Shape result(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right; a missing dimension acts as 1.
    int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    int64_t &r = result[rank - 1 - i];
    if (x == y || y == 1) {
      r = x;
    } else if (x == 1) {
      r = y;
    } else {
      err = "cannot broadcast " + str(a) + " with " + str(b) + ": dimension " +
            std::to_string(rank - 1 - i) + " is " + sizeStr(x) + " vs " + sizeStr(y);
      return std::nullopt;
    }
  }
  return result;
}

std::optional<Shape> matmul(const Shape &a, const Shape &b, std::string &err) {
  for (const Shape *s : {&a, &b}) {
    if (s->size() < 2) {
      err = "matmul needs operands of rank 2 or more, got " + str(*s) +
            " (1-D operands are not supported: reshape to a row or a column)";
      return std::nullopt;
    }
  }
  int64_t k1 = a[a.size() - 1], k2 = b[b.size() - 2];
  if (k1 != k2) {
    err = "cannot multiply " + str(a) + " by " + str(b) + ": dimension " +
          std::to_string(a.size() - 1) + " of the left is " + sizeStr(k1) +
          " vs dimension " + std::to_string(b.size() - 2) + " of the right " +
          sizeStr(k2);
    return std::nullopt;
  }
  Shape la(a.begin(), a.end() - 2), lb(b.begin(), b.end() - 2);
  std::string inner;
  auto lead = broadcast(la, lb, inner);
  if (!lead) {
    err = "cannot multiply " + str(a) + " by " + str(b) +
          ": the leading (batch) dimensions do not broadcast: " + inner;
    return std::nullopt;
  }
  Shape result = *lead;
  result.push_back(a[a.size() - 2]);
  result.push_back(b[b.size() - 1]);
  return result;
}

std::optional<Shape> linear(const Shape &x, const Shape &weight, const Shape *bias,
                            std::string &err) {
  if (weight.size() != 2) {
    err = "linear weight must be [out, in], got " + str(weight);
    return std::nullopt;
  }
  if (x.empty()) {
    err = "linear needs an input of rank 1 or more, got a scalar";
    return std::nullopt;
  }
  if (x.back() != weight[1]) {
    err = "linear input " + str(x) + " has " + sizeStr(x.back()) +
          " features (dimension " + std::to_string(x.size() - 1) + ") but weight " +
          str(weight) + " expects " + sizeStr(weight[1]);
    return std::nullopt;
  }
  if (bias && (bias->size() != 1 || (*bias)[0] != weight[0])) {
    err = "linear bias must be [" + sizeStr(weight[0]) + "] for weight " + str(weight) +
          ", got " + str(*bias);
    return std::nullopt;
  }
  Shape result(x.begin(), x.end() - 1);
  result.push_back(weight[0]);
  return result;
}

Shape reduce(const Shape &x, const std::vector<int64_t> &dims, bool keepdim) {
  std::vector<bool> reduced(x.size(), dims.empty());
  for (int64_t d : dims)
    if (d >= 0 && d < static_cast<int64_t>(x.size()))
      reduced[d] = true;
  Shape result;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!reduced[i])
      result.push_back(x[i]);
    else if (keepdim)
      result.push_back(1);
  }
  return result;
}

std::optional<Shape> transpose(const Shape &x, int64_t d0, int64_t d1, std::string &err) {
  int64_t rank = static_cast<int64_t>(x.size());
  auto a = normalizeDim(d0, rank, err);
  if (!a)
    return std::nullopt;
  auto b = normalizeDim(d1, rank, err);
  if (!b)
    return std::nullopt;
  Shape result = x;
  std::swap(result[*a], result[*b]);
  return result;
}

std::optional<Shape> concat(const std::vector<Shape> &pieces, int64_t dim,
                            std::string &err) {
  if (pieces.empty()) {
    err = "concat needs at least one tensor";
    return std::nullopt;
  }
  const Shape &first = pieces.front();
  int64_t rank = static_cast<int64_t>(first.size());
  auto d = normalizeDim(dim, rank, err);
  if (!d)
    return std::nullopt;
  Shape result = first;
  for (size_t i = 1; i < pieces.size(); ++i) {
    const Shape &p = pieces[i];
    if (static_cast<int64_t>(p.size()) != rank) {
      err = "cannot concatenate " + str(first) + " with " + str(p) + ": ranks differ (" +
            std::to_string(rank) + " vs " + std::to_string(p.size()) + ")";
      return std::nullopt;
    }
    for (int64_t j = 0; j < rank; ++j) {
      if (j == *d || p[j] == first[j])
        continue;
      err = "cannot concatenate " + str(first) + " with " + str(p) + " along dim " +
            std::to_string(*d) + ": dimension " + std::to_string(j) + " is " +
            sizeStr(first[j]) + " vs " + sizeStr(p[j]);
      return std::nullopt;
    }
    if (p[*d] == kDynamic || result[*d] == kDynamic) {
      err = "cannot concatenate " + str(first) + " with " + str(p) +
            " along the batch dimension (dim " + std::to_string(*d) + ")";
      return std::nullopt;
    }
    if (__builtin_add_overflow(result[*d], p[*d], &result[*d])) {
      err = "concatenation is too large along dim " + std::to_string(*d);
      return std::nullopt;
    }
  }
  return result;
}

std::optional<Shape> reshape(const Shape &x, const Shape &target, std::string &err) {
  int64_t inferred = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == kInferred) {
      if (inferred >= 0) {
        err = "reshape can infer only one dimension (-1)";
        return std::nullopt;
      }
      inferred = static_cast<int64_t>(i);
    } else if (d != kDynamic && d <= 0) {
      err = "reshape size " + std::to_string(d) + " must be positive";
      return std::nullopt;
    }
  }
  Shape known;
  for (int64_t d : target)
    if (d != kInferred)
      known.push_back(d);
  std::string shown = "[";
  for (size_t i = 0; i < target.size(); ++i)
    shown += (i ? ", " : "") + (target[i] == kInferred ? std::string("-1") : sizeStr(target[i]));
  shown += "]";
  if (countDynamic(x) != countDynamic(known)) {
    err = "cannot reshape " + str(x) + " to " + shown +
          ": the batch dimension N must be kept, as N, exactly once per N in the input";
    return std::nullopt;
  }
  auto px = staticProduct(x), pt = staticProduct(known);
  if (!px || !pt) {
    err = "cannot reshape " + str(x) + " to " + shown + ": too many elements";
    return std::nullopt;
  }
  const char *per = isStatic(x) ? " elements" : " elements per sample";
  Shape result = target;
  if (inferred >= 0) {
    if (*px % *pt != 0) {
      err = "cannot reshape " + str(x) + " to " + shown + ": " + std::to_string(*px) + per +
            " do not divide into parts of " + std::to_string(*pt);
      return std::nullopt;
    }
    result[inferred] = *px / *pt;
  } else if (*px != *pt) {
    err = "cannot reshape " + str(x) + " to " + shown + ": " + std::to_string(*px) + per +
          " vs " + std::to_string(*pt);
    return std::nullopt;
  }
  return result;
}

std::optional<Shape> conv2d(const Shape &x, const Shape &weight, const Shape *bias,
                            int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            std::string &err) {
  if (x.size() != 4) {
    err = "conv2d expects an input [N, C, H, W], got " + str(x);
    return std::nullopt;
  }
  if (weight.size() != 4 || !isStatic(weight)) {
    err = "conv2d weight must be [out, in, kh, kw], got " + str(weight);
    return std::nullopt;
  }
  if (sh < 1 || sw < 1 || ph < 0 || pw < 0) {
    err = "conv2d stride must be >= 1 and padding >= 0";
    return std::nullopt;
  }
  if (x[1] != weight[1]) {
    err = "conv2d input " + str(x) + " has " + sizeStr(x[1]) +
          " channels (dimension 1) but weight " + str(weight) + " expects " +
          sizeStr(weight[1]);
    return std::nullopt;
  }
  if (bias && (bias->size() != 1 || (*bias)[0] != weight[0])) {
    err = "conv2d bias must be [" + sizeStr(weight[0]) + "], got " + str(*bias);
    return std::nullopt;
  }
  if (x[2] == kDynamic || x[3] == kDynamic) {
    err = "conv2d input " + str(x) + " must have static height and width";
    return std::nullopt;
  }
  int64_t oh = windowOut(x[2], weight[2], sh, ph), ow = windowOut(x[3], weight[3], sw, pw);
  if (oh < 1 || ow < 1) {
    err = "conv2d input " + str(x) + " is too small for a " + std::to_string(weight[2]) +
          "x" + std::to_string(weight[3]) + " kernel with padding " + std::to_string(ph) +
          ", " + std::to_string(pw);
    return std::nullopt;
  }
  return Shape{x[0], weight[0], oh, ow};
}

std::optional<Shape> pool2d(const Shape &x, int64_t kh, int64_t kw, int64_t sh,
                            int64_t sw, int64_t ph, int64_t pw, std::string &err) {
  if (x.size() != 3 && x.size() != 4) {
    err = "pooling expects an input [N, C, H, W] or [C, H, W], got " + str(x);
    return std::nullopt;
  }
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0) {
    err = "pooling kernel and stride must be >= 1 and padding >= 0";
    return std::nullopt;
  }
  if (ph > kh / 2 || pw > kw / 2) {
    err = "pooling padding (" + std::to_string(ph) + ", " + std::to_string(pw) +
          ") must be at most half the kernel (" + std::to_string(kh) + ", " +
          std::to_string(kw) + ")";
    return std::nullopt;
  }
  size_t h = x.size() - 2, w = x.size() - 1;
  if (x[h] == kDynamic || x[w] == kDynamic) {
    err = "pooling input " + str(x) + " must have static height and width";
    return std::nullopt;
  }
  int64_t oh = windowOut(x[h], kh, sh, ph), ow = windowOut(x[w], kw, sw, pw);
  if (oh < 1 || ow < 1) {
    err = "pooling input " + str(x) + " is too small for a " + std::to_string(kh) + "x" +
          std::to_string(kw) + " window";
    return std::nullopt;
  }
  Shape result = x;
  result[h] = oh;
  result[w] = ow;
  return result;
}

std::optional<Shape> batchNorm(const Shape &x, const Shape &channelVector, std::string &err) {
  if (x.size() < 2 || x.size() > 4) {
    err = "batch norm expects an input [N, C], [N, C, L] or [N, C, H, W], got " + str(x);
    return std::nullopt;
  }
  if (x[1] == kDynamic || channelVector != Shape{x[1]}) {
    err = "batch norm over " + str(x) + " (" + sizeStr(x[1]) +
          " channels, dimension 1) needs per-channel vectors " + str({x[1]}) + ", got " +
          str(channelVector);
    return std::nullopt;
  }
  return x;
}

std::optional<Shape> rnn(const Shape &x, const Shape &wih, const Shape &whh,
                         const Shape &bih, const Shape &bhh, std::string &err) {
  if (x.size() != 3) {
    err = "rnn expects an input [N, T, features], got " + str(x);
    return std::nullopt;
  }
  if (wih.size() != 2 || wih[0] == kDynamic) {
    err = "rnn weight_ih must be [hidden, in], got " + str(wih);
    return std::nullopt;
  }
  int64_t hidden = wih[0];
  if (x[2] != wih[1]) {
    err = "rnn input " + str(x) + " has " + sizeStr(x[2]) +
          " features (dimension 2) but weight_ih " + str(wih) + " expects " +
          sizeStr(wih[1]);
    return std::nullopt;
  }
  if (whh != Shape{hidden, hidden}) {
    err = "rnn weight_hh must be " + str({hidden, hidden}) + ", got " + str(whh);
    return std::nullopt;
  }
  for (const Shape *b : {&bih, &bhh}) {
    if (*b != Shape{hidden}) {
      err = "rnn biases must be " + str({hidden}) + ", got " + str(*b);
      return std::nullopt;
    }
  }
  return Shape{x[0], x[1], hidden};
}

std::optional<Shape> index(const Shape &x, const std::vector<int64_t> &starts,
                           const std::vector<int64_t> &sizes, const std::vector<int64_t> &steps,
                           const std::vector<int64_t> &dropped, std::string &err) {
  size_t rank = x.size();
  if (starts.size() != rank || sizes.size() != rank || steps.size() != rank) {
    err = "an index of " + str(x) + " needs one start, size and step per dimension";
    return std::nullopt;
  }
  for (size_t i = 0; i < dropped.size(); ++i)
    if (dropped[i] < 0 || dropped[i] >= static_cast<int64_t>(rank) ||
        (i > 0 && dropped[i] <= dropped[i - 1])) {
      err = "the dropped dimensions of an index of " + str(x) +
            " must be sorted, unique and in range";
      return std::nullopt;
    }
  Shape result;
  for (size_t d = 0; d < rank; ++d) {
    bool drop = false;
    for (int64_t k : dropped)
      drop = drop || k == static_cast<int64_t>(d);
    std::string where = "dimension " + std::to_string(d) + " of " + str(x);
    if (sizes[d] == kWhole) {
      if (starts[d] != 0 || steps[d] != 1 || drop) {
        err = where + ": a whole dimension starts at 0 with step 1 and is kept";
        return std::nullopt;
      }
      result.push_back(x[d]);
      continue;
    }
    if (x[d] == kDynamic) {
      err = where + ": the batch dimension takes only ':' (every sample)";
      return std::nullopt;
    }
    if (starts[d] < 0 || sizes[d] < 1 || steps[d] < 1) {
      err = where + ": the window needs start >= 0, size >= 1 and step >= 1";
      return std::nullopt;
    }
    __int128 last = static_cast<__int128>(starts[d]) +
                    static_cast<__int128>(sizes[d] - 1) * steps[d];
    if (last >= x[d]) {
      err = where + ": the window from " + std::to_string(starts[d]) + " (" +
            std::to_string(sizes[d]) + " elements, step " + std::to_string(steps[d]) +
            ") leaves the dimension";
      return std::nullopt;
    }
    if (drop && sizes[d] != 1) {
      err = where + ": a dropped dimension has a window of one element";
      return std::nullopt;
    }
    if (!drop)
      result.push_back(sizes[d]);
  }
  return result;
}

} // namespace kiln::shapes
