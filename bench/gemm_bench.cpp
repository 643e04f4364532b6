// kiln-gemm-bench: the runtime's GEMM (the kiln_matmul_f32 that generated
// code calls for every matmul) next to a BLAS library's cblas_sgemm
// (OpenBLAS in the benchmark), on the same row-major operands,
// C[M, N] += A[M, K] * B[K, N], calls interleaved.
//
// usage: kiln-gemm-bench --shapes MxNxK[:AB][,...] [--threads T] [--budget-ms MS]
//                        [--blas LIB.so] [--times] [--table]
// A shape's optional suffix says which operands are transposed, as BLAS's
// transA/transB: ":nt" is A [M, K] times B given as [N, K] (a `linear`'s
// weight), ":tn" A given as [K, M] (a weight gradient's dY^T).
// Prints a JSON line naming the library (and OpenBLAS's core and build
// options, where it says them), then one JSON line per shape: each side's
// median, quartiles, min, max (microseconds) and GFLOP/s at the median,
// "kiln_vs_blas" (the library's median over Kiln's: 1.0 is parity, 0.5 half
// its speed), and the largest difference between the two results relative to
// the largest value. The library is loaded at run time (dlopen), so this tool
// builds everywhere: bench/setup installs OpenBLAS (scipy-openblas32, whose
// symbols carry a "scipy_" prefix) in bench/.venv and bench/run.py passes its
// path; the ctest passes Debian's reference libblas.so.3 to check the numbers.
// Without --blas only Kiln is timed. --table also prints a Markdown table
// (GFLOP/s at the median with the interquartile range, and the ratio). Exit status 1 when the results differ by
// more than 1e-4 of the largest value.
#include "runtime/Bench.h"
#include "runtime/Tensor.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/ThreadPool.h"
#include "runtime/weights/Random.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <vector>

namespace rt = kiln::runtime;

namespace {

// cblas_sgemm's signature; enums as ints (CblasRowMajor 101, CblasNoTrans 111).
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
using SetThreadsFn = void (*)(int);
using CharFn = char *(*)();

struct Blas {
  SgemmFn sgemm = nullptr;
  SetThreadsFn setThreads = nullptr;
  CharFn corename = nullptr, config = nullptr;
};

/// Looks up NAME with scipy-openblas's prefix ("scipy_") or without.
void *symbol(void *lib, const char *name) {
  std::string prefixed = std::string("scipy_") + name;
  if (void *p = dlsym(lib, prefixed.c_str()))
    return p;
  return dlsym(lib, name);
}

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "kiln-gemm-bench: error: %s\n", message.c_str());
  std::exit(2);
}

struct Shape {
  int64_t m, n, k;
  bool ta = false, tb = false;
  std::string text;
};

std::vector<Shape> parseShapes(const std::string &list) {
  std::vector<Shape> shapes;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string one = list.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    long long m, n, k;
    char ta = 'n', tb = 'n', tail;
    int got = std::sscanf(one.c_str(), "%lldx%lldx%lld:%c%c%c", &m, &n, &k, &ta, &tb, &tail);
    if ((got != 3 && got != 5) || (got == 3 && one.find(':') != std::string::npos) ||
        (ta != 'n' && ta != 't') || (tb != 'n' && tb != 't') || m < 1 || n < 1 || k < 1 ||
        m > 100000 || n > 100000 || k > 100000)
      fail("--shapes: '" + one + "' is not MxNxK or MxNxK:AB (three positive sizes, A and B "
           "each n or t)");
    shapes.push_back({m, n, k, ta == 't', tb == 't', one});
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return shapes;
}

/// The row-major tensor t, or (transposed) the view of its transpose.
kiln::MemRefDescriptor<2> descriptor(rt::Tensor &t, bool transposed = false) {
  kiln::MemRefDescriptor<2> d;
  d.allocated = d.aligned = t.data();
  d.offset = 0;
  int64_t rows = t.shape()[0], cols = t.shape()[1];
  d.sizes[0] = transposed ? cols : rows;
  d.sizes[1] = transposed ? rows : cols;
  d.strides[0] = transposed ? 1 : cols;
  d.strides[1] = transposed ? cols : 1;
  return d;
}

std::string statsJson(const std::vector<double> &times, double flops) {
  rt::BenchStats s = rt::benchStats(times);
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"median_us\":%.3f,\"q1_us\":%.3f,\"q3_us\":%.3f,\"min_us\":%.3f,"
                "\"max_us\":%.3f,\"gflops\":%.4g}",
                s.median, s.q1, s.q3, s.min, s.max, flops / (s.median * 1e3));
  return buf;
}

std::string timesJson(const std::vector<double> &times) {
  std::string out = "[";
  for (size_t i = 0; i < times.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? "," : "", times[i]);
    out += buf;
  }
  return out + "]";
}

} // namespace

int main(int argc, char **argv) {
  std::string shapesText, blasPath;
  int threads = 1;
  double budgetMs = 200;
  bool printTimes = false, table = false;
  std::vector<std::string> tableRows;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--shapes")
      shapesText = value();
    else if (a == "--threads")
      threads = std::atoi(value().c_str());
    else if (a == "--budget-ms")
      budgetMs = std::atof(value().c_str());
    else if (a == "--blas")
      blasPath = value();
    else if (a == "--times")
      printTimes = true;
    else if (a == "--table")
      table = true;
    else if (a == "--help" || a == "-h") {
      std::printf("usage: kiln-gemm-bench --shapes MxNxK[:AB][,...] [--threads T] "
                  "[--budget-ms MS] [--blas LIB.so] [--times] [--table]\n");
      return 0;
    } else
      fail("unknown argument '" + a + "'");
  }
  if (shapesText.empty())
    fail("--shapes is required (try --help)");
  if (threads < 1 || budgetMs <= 0)
    fail("--threads and --budget-ms must be positive");
  std::vector<Shape> shapes = parseShapes(shapesText);

  Blas blas;
  if (!blasPath.empty()) {
    void *lib = dlopen(blasPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      fail(std::string("cannot load the BLAS library: ") + dlerror());
    blas.sgemm = reinterpret_cast<SgemmFn>(symbol(lib, "cblas_sgemm"));
    blas.setThreads = reinterpret_cast<SetThreadsFn>(symbol(lib, "openblas_set_num_threads"));
    blas.corename = reinterpret_cast<CharFn>(symbol(lib, "openblas_get_corename"));
    blas.config = reinterpret_cast<CharFn>(symbol(lib, "openblas_get_config"));
    if (!blas.sgemm)
      fail(blasPath + " has no cblas_sgemm");
    if (blas.setThreads)
      blas.setThreads(threads);
  }
  rt::threadPool().setThreads(threads);
  std::printf("{\"threads\":%d,\"blas\":%s", threads,
              blas.sgemm ? ("\"" + blasPath + "\"").c_str() : "null");
  if (blas.corename)
    std::printf(",\"blas_core\":\"%s\"", blas.corename());
  if (blas.config)
    std::printf(",\"blas_config\":\"%s\"", blas.config());
  std::printf("}\n");

  int status = 0;
  rt::Rng rng(42);
  for (const Shape &s : shapes) {
    // Stored as BLAS is told: A [M, K] or [K, M], B [K, N] or [N, K].
    rt::Tensor a(kiln::DType::F32, s.ta ? std::vector<int64_t>{s.k, s.m} : std::vector<int64_t>{s.m, s.k}),
        b(kiln::DType::F32, s.tb ? std::vector<int64_t>{s.n, s.k} : std::vector<int64_t>{s.k, s.n}),
        c(kiln::DType::F32, {s.m, s.n}), c2(kiln::DType::F32, {s.m, s.n});
    rt::fillUniform(a, -1, 1, rng);
    rt::fillUniform(b, -1, 1, rng);
    kiln::MemRefDescriptor<2> da = descriptor(a, s.ta), db = descriptor(b, s.tb),
                              dc = descriptor(c);
    auto kilnCall = [&] { _mlir_ciface_kiln_matmul_f32(&da, &db, &dc, 1); };
    auto blasCall = [&] {
      blas.sgemm(101, s.ta ? 112 : 111, s.tb ? 112 : 111, int(s.m), int(s.n), int(s.k), 1.0f,
                 a.as<float>(), int(a.shape()[1]), b.as<float>(), int(b.shape()[1]), 1.0f,
                 c2.as<float>(), int(s.n));
    };
    // One product from zero each: the two results must agree.
    kilnCall();
    double diff = 0, scale = 0;
    if (blas.sgemm) {
      blasCall();
      for (int64_t i = 0; i < c.numel(); ++i) {
        diff = std::max(diff, double(std::fabs(c.as<float>()[i] - c2.as<float>()[i])));
        scale = std::max(scale, double(std::fabs(c2.as<float>()[i])));
      }
    }
    auto now = [] { return std::chrono::steady_clock::now(); };
    auto micros = [](auto d) { return std::chrono::duration<double, std::micro>(d).count(); };
    // Warm-up, which also estimates a call's time for the budget.
    double estimate = 0;
    for (int w = 0; w < 3; ++w) {
      auto t0 = now();
      kilnCall();
      if (blas.sgemm)
        blasCall();
      estimate = micros(now() - t0);
    }
    int64_t reps = std::clamp<int64_t>(int64_t(budgetMs * 1e3 / std::max(estimate, 0.01)),
                                       10, 200000);
    std::vector<double> kt, bt;
    kt.reserve(size_t(reps));
    bt.reserve(size_t(reps));
    for (int64_t r = 0; r < reps; ++r) { // interleaved, alternating who goes first
      for (int side = 0; side < 2; ++side) {
        bool kilnNow = (side == 0) == (r % 2 == 0);
        if (!kilnNow && !blas.sgemm)
          continue;
        auto t0 = now();
        kilnNow ? kilnCall() : blasCall();
        (kilnNow ? kt : bt).push_back(micros(now() - t0));
      }
    }
    double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
    double rel = scale > 0 ? diff / scale : diff;
    std::string line = "{\"shape\":\"" + s.text + "\",\"m\":" + std::to_string(s.m) +
                       ",\"n\":" + std::to_string(s.n) + ",\"k\":" + std::to_string(s.k) +
                       ",\"threads\":" + std::to_string(threads) +
                       ",\"reps\":" + std::to_string(reps) + ",\"kiln\":" + statsJson(kt, flops);
    if (blas.sgemm) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ",\"kiln_vs_blas\":%.4f,\"max_rel_diff\":%.3g",
                    rt::benchStats(bt).median / rt::benchStats(kt).median, rel);
      line += ",\"blas\":" + statsJson(bt, flops) + buf;
      if (rel > 1e-4) {
        std::fprintf(stderr, "kiln-gemm-bench: %s: Kiln and the BLAS library differ by %.3g\n",
                     s.text.c_str(), rel);
        status = 1;
      }
    }
    if (table) {
      rt::BenchStats k = rt::benchStats(kt);
      char row[256];
      auto gf = [&](double us) { return flops / (us * 1e3); };
      int len = std::snprintf(row, sizeof row, "| %s | %.1f (%.1f-%.1f) |", s.text.c_str(),
                              gf(k.median), gf(k.q3), gf(k.q1));
      if (blas.sgemm) {
        rt::BenchStats o = rt::benchStats(bt);
        std::snprintf(row + len, sizeof row - len, " %.1f (%.1f-%.1f) | %.2f |", gf(o.median),
                      gf(o.q3), gf(o.q1), o.median / k.median);
      }
      tableRows.push_back(row);
    }
    if (printTimes)
      line += ",\"kiln_times_us\":" + timesJson(kt) +
              (blas.sgemm ? ",\"blas_times_us\":" + timesJson(bt) : "");
    std::printf("%s}\n", line.c_str());
    std::fflush(stdout);
  }
  if (table) {
    std::printf("\n| shape MxNxK:AB | Kiln GFLOP/s (IQR) |%s\n| --- | --- |%s\n",
                blas.sgemm ? " BLAS GFLOP/s (IQR) | Kiln/BLAS |" : "",
                blas.sgemm ? " --- | --- |" : "");
    for (const std::string &row : tableRows)
      std::printf("%s\n", row.c_str());
  }
  return status;
}
