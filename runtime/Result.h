// A value or the one-line message saying why there is none.
#pragma once

#include <string>
#include <utility>

namespace kiln::runtime {

template <class T> struct Result {
  T value{};
  std::string error; // empty on success

  bool ok() const { return error.empty(); }

  static Result success(T v) { return Result{std::move(v), {}}; }
  static Result failure(std::string message) {
    return Result{T{}, std::move(message)};
  }
};

} // namespace kiln::runtime
