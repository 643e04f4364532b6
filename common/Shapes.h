// Shape rules shared by semantic analysis and the Kiln dialect's verifiers.
//
// Plain C++: a shape is a vector of sizes where kDynamic marks a size known
// only at run time (the batch). Each rule returns the result shape, or
// std::nullopt with a message in `err` that names the shapes involved (as
// "[N, 784]", the dynamic size printed as N) and the dimension that disagrees.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::shapes {

using Shape = std::vector<int64_t>;
constexpr int64_t kDynamic = -1;
/// In a reshape target only: the size to infer (the model file's `-1`).
/// It cannot be -1, which is kDynamic.
constexpr int64_t kInferred = -2;

/// "[N, 28, 28]"; "[]" for a scalar.
std::string str(const Shape &shape);

/// A possibly negative dim in [-rank, rank) made non-negative.
std::optional<int64_t> normalizeDim(int64_t dim, int64_t rank, std::string &err);

/// NumPy broadcasting. A dynamic size broadcasts only against 1 or itself.
std::optional<Shape> broadcast(const Shape &a, const Shape &b, std::string &err);

/// torch.matmul for operands of rank >= 2 (leading dims broadcast).
std::optional<Shape> matmul(const Shape &a, const Shape &b, std::string &err);

/// x [..., in] with weight [out, in] (and bias [out] when hasBias's shape given).
std::optional<Shape> linear(const Shape &x, const Shape &weight,
                            const Shape *bias, std::string &err);

/// Reduce `dims` (normalized); empty `dims` reduces every dim.
Shape reduce(const Shape &x, const std::vector<int64_t> &dims, bool keepdim);

std::optional<Shape> transpose(const Shape &x, int64_t d0, int64_t d1, std::string &err);

std::optional<Shape> concat(const std::vector<Shape> &pieces, int64_t dim, std::string &err);

/// `target` may hold one kInferred (the model file's -1) and kDynamic where
/// the batch stays. Returns the target with kInferred resolved.
std::optional<Shape> reshape(const Shape &x, const Shape &target, std::string &err);

/// x [N, C, H, W], weight [O, C, kh, kw], optional bias [O].
std::optional<Shape> conv2d(const Shape &x, const Shape &weight, const Shape *bias,
                            int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                            std::string &err);

/// x [N, C, H, W] (or [C, H, W]) pooled with PyTorch's floor rule.
std::optional<Shape> pool2d(const Shape &x, int64_t kh, int64_t kw, int64_t sh,
                            int64_t sw, int64_t ph, int64_t pw, std::string &err);

/// x [N, T, in] with weight_ih [H, in], weight_hh [H, H], biases [H] -> [N, T, H].
/// BatchNorm over x [N, C, ...] (rank 2 to 4) with per-channel weight, bias
/// and running statistics [C]: x's shape.
std::optional<Shape> batchNorm(const Shape &x, const Shape &channelVector, std::string &err);
std::optional<Shape> rnn(const Shape &x, const Shape &wih, const Shape &whh,
                         const Shape &bih, const Shape &bhh, std::string &err);

/// Basic indexing's window (x[i, a:b:s, :]), normalized: per dimension of x
/// a start, a size (kWhole: the whole dimension) and a step; `dropped` (sorted)
/// lists the dimensions an integer index removes, each a window of size 1.
/// A dynamic dimension takes only the whole dimension.
constexpr int64_t kWhole = -1;
std::optional<Shape> index(const Shape &x, const std::vector<int64_t> &starts,
                           const std::vector<int64_t> &sizes, const std::vector<int64_t> &steps,
                           const std::vector<int64_t> &dropped, std::string &err);

} // namespace kiln::shapes
