// bench: times the generated entry points through the same ABI the commands
// use, with none of their data handling in the timed region but the batch's
// copy to the device.
//
// Random data shaped by the manifest (batch B) is made once, and copied to
// the device in each timed call in a cuda executable (as train copies each
// batch; on the CPU generated code reads it where it is); parameters
// come from the manifest's initializers, optimizer state starts at zero. A
// train step runs exactly as in `train`: two sets of parameter and state
// buffers swapped after each step, "lr" the train block's, "step" counting
// from 1, a fresh dropout seed per step. Each call is timed alone with
// std::chrono::steady_clock; the first --warmup calls are not counted.
#include "runtime/Bench.h"

#include "runtime/Args.h"
#include "runtime/KilnABI.h"
#include "runtime/Tensor.h"
#include "runtime/data/DataSet.h"
#include "runtime/gpu/CudaRuntime.h"
#include "runtime/kernels/ThreadPool.h"
#include "runtime/train/TrainReport.h"
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sys/resource.h>

namespace kiln::runtime {

namespace {

/// The data's own generator, apart from the initializers' stream.
constexpr uint64_t kBenchStream = 0x42454e4348212121ULL; // "BENCH!!!"

/// Random values a model accepts: class indices below "classes" where the
/// manifest gives them, bytes for u8, 0 or 1 for other integers, uniform in
/// [0, 1) for floats (valid pixels, probabilities, regression targets).
void fillRandom(Tensor &t, const TensorSpec &spec, Rng &rng) {
  auto integer = [&]() -> int64_t {
    if (spec.classes > 0)
      return int64_t(rng.below(uint64_t(spec.classes)));
    return int64_t(rng.below(t.dtype() == DType::U8 ? 256 : 2));
  };
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
    case DType::F32:
      t.as<float>()[i] = spec.classes > 0 ? float(integer()) : float(rng.uniform01());
      break;
    case DType::F64:
      t.as<double>()[i] = spec.classes > 0 ? double(integer()) : rng.uniform01();
      break;
    case DType::I32: t.as<int32_t>()[i] = int32_t(integer()); break;
    case DType::I64: t.as<int64_t>()[i] = integer(); break;
    case DType::U8: t.as<uint8_t>()[i] = uint8_t(integer()); break;
    }
  }
}

std::vector<FlagSpec> benchFlags(const Manifest &m, const char *defaultWhat) {
  return {
      {"what", "train|predict|eval",
       std::string("the entry point: kiln_train_step, kiln_forward or kiln_loss (default ") +
           defaultWhat + ")"},
      {"batch", "B", "samples per call (default " + std::to_string(m.train.batch) + ")"},
      {"steps", "S", "timed calls (default 100)"},
      {"warmup", "W", "calls before timing starts, not counted (default 10)"},
      {"threads", "T", "threads of the kernels' pool (default: one per core)"},
      {"seed", "S", "seed of the parameters and the random data (default " +
                        std::to_string(m.train.seed) + ")"},
      {"times", "", "also print every timed call's duration (\"times_us\")"},
  };
}

void printBenchHelp(const std::string &prog, const std::vector<FlagSpec> &flags) {
  std::printf("usage: %s bench [--what train|predict|eval] [--batch B] [--steps S] "
              "[--warmup W] [--threads T] [--seed S] [--times]\n\n"
              "A tool for benchmarking: times the model's entry point on random data\n"
              "shaped by the manifest, each call alone, and prints one JSON line:\n"
              "median, quartiles, min, max and mean in microseconds.\n\nflags:\n",
              prog.c_str());
  for (const FlagSpec &f : flags) {
    std::string left = "--" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    std::printf("  %-26s  %s\n", left.c_str(), f.help.c_str());
  }
}

std::string jsonNumber(double v, const char *format = "%.3f") {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

} // namespace

BenchStats benchStats(std::vector<double> v) {
  BenchStats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  auto quantile = [&](double q) {
    double pos = q * double(v.size() - 1);
    size_t lo = size_t(pos);
    double frac = pos - double(lo);
    return lo + 1 < v.size() ? v[lo] + (v[lo + 1] - v[lo]) * frac : v[lo];
  };
  s.median = quantile(0.5);
  s.q1 = quantile(0.25);
  s.q3 = quantile(0.75);
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v)
    sum += x;
  s.mean = sum / double(v.size());
  return s;
}

void runBench(const std::string &prog, const Manifest &m, const EntryPoints &ep,
              const std::vector<std::string> &args) {
  const bool canTrain = m.hasEntryPoint("train_step") && ep.trainStep;
  const char *defaultWhat = canTrain ? "train" : "predict";
  std::vector<FlagSpec> specs = benchFlags(m, defaultWhat);
  ParsedFlags flags = parseFlags(args, specs);
  if (flags.help) {
    printBenchHelp(prog, specs);
    return;
  }
  std::string what = flags.has("what") ? flags.get("what") : defaultWhat;
  if (what != "train" && what != "predict" && what != "eval")
    usageError("--what: '" + what + "' is not train, predict or eval");
  if (what == "train" && !canTrain)
    usageError(m.loss ? "--what train: the model was compiled without a train step"
                      : "--what train: the model has no loss to minimize");
  if (what == "eval" && (!ep.loss || (!m.loss && m.metrics.empty())))
    usageError("--what eval: the model has no loss and no metrics to evaluate");
  const int64_t batch = flags.has("batch") ? parseIntFlag("batch", flags.get("batch"), 1)
                                           : m.train.batch;
  const int64_t steps = flags.has("steps") ? parseIntFlag("steps", flags.get("steps"), 1) : 100;
  const int64_t warmup =
      flags.has("warmup") ? parseIntFlag("warmup", flags.get("warmup"), 0) : 10;
  const int64_t threads =
      flags.has("threads") ? parseIntFlag("threads", flags.get("threads"), 1) : 0;
  const uint64_t seed =
      flags.has("seed") ? parseSeedFlag("seed", flags.get("seed")) : m.train.seed;
  threadPool().setThreads(static_cast<int>(threads));

  // The arguments, staged once.
  Rng rng(seed ^ kBenchStream);
  std::vector<StagedTensor> inputs = stagedBatchBuffers(m.inputs, batch);
  for (size_t i = 0; i < inputs.size(); ++i)
    fillRandom(inputs[i].host(), m.inputs[i], rng);
  std::vector<StagedTensor> targets;
  if (what != "predict") {
    targets = stagedBatchBuffers(m.targets, batch);
    for (size_t i = 0; i < targets.size(); ++i)
      fillRandom(targets[i].host(), m.targets[i], rng);
  }
  std::vector<Tensor> params = initParams(m.params, seed), state, hyper, outputs, scalars;
  if (what == "predict")
    outputs = batchBuffers(m.outputs, batch, Tensor::Memory::Pinned);
  else
    scalars = scalarBuffers(m);
  if (what == "train") {
    for (const TensorSpec &s : m.state)
      state.emplace_back(s.dtype, s.shape);
    hyper = hyperBuffers(m);
  }

  // The arguments, in the entry point's order (a train step updates the
  // parameters and state in place, as in train).
  std::vector<MemRef> descs;
  std::vector<void *> callArgs;
  auto add = [&](std::vector<Tensor> &group) {
    for (Tensor &t : group)
      descs.push_back(MemRef::of(t));
  };
  for (std::vector<StagedTensor> *group : {&inputs, &targets})
    for (StagedTensor &t : *group)
      descs.push_back(t.view());
  add(params);
  if (what == "train") {
    add(state);
    add(hyper);
  }
  add(outputs);
  add(scalars);
  for (MemRef &r : descs)
    callArgs.push_back(r.descriptor());
  void (*entry)(void **) = what == "train" ? ep.trainStep : what == "eval" ? ep.loss : ep.forward;

  Rng dropoutRng(seed ^ 0x44524f504f555421ULL); // "DROPOUT!", as train draws them
  std::vector<double> times;
  times.reserve(size_t(steps));
  // The process's CPU time over the timed calls, all threads: with the wall
  // time it says how many cores the calls kept busy.
  auto cpuMicros = [] {
    struct rusage u {};
    getrusage(RUSAGE_SELF, &u);
    return (double(u.ru_utime.tv_sec) + double(u.ru_stime.tv_sec)) * 1e6 +
           double(u.ru_utime.tv_usec) + double(u.ru_stime.tv_usec);
  };
  double cpuStart = 0;
  int64_t allocationsStart = 0;
  std::chrono::steady_clock::time_point wallStart;
  for (int64_t call = 0; call < warmup + steps; ++call) {
    if (call == warmup) {
      cpuStart = cpuMicros();
      allocationsStart = kiln_heap_allocations();
      wallStart = std::chrono::steady_clock::now();
    }
    if (what == "train") {
      double dropoutSeed = double(dropoutRng.next() >> 11);
      for (size_t i = 0; i < hyper.size(); ++i)
        hyper[i].as<double>()[0] = m.hyper[i] == "lr"      ? m.train.lr
                                   : m.hyper[i] == "step"  ? double(call + 1)
                                   : m.hyper[i] == "share" ? 1.0 // one process
                                   : m.hyper[i] == "offset" ? 0.0
                                                            : dropoutSeed;
    }
    auto start = std::chrono::steady_clock::now();
    // The batch goes to the device every call, as in train (nothing to do
    // on the CPU).
    for (std::vector<StagedTensor> *group : {&inputs, &targets})
      for (StagedTensor &t : *group)
        t.upload();
    entry(callArgs.data());
    kiln_cuda_sync(); // a cuda call returns before its kernels finish: time them
    auto end = std::chrono::steady_clock::now();
    if (call >= warmup)
      times.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }

  double cpu = cpuMicros() - cpuStart;
  int64_t allocations = kiln_heap_allocations() - allocationsStart;
  double wall =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wallStart)
          .count();
  BenchStats s = benchStats(times);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::string line = "{\"model\":" + jsonString(m.model) + ",\"what\":\"" + what +
                     "\",\"batch\":" + std::to_string(batch) +
                     ",\"threads\":" + std::to_string(threadPool().threads()) +
                     ",\"warmup\":" + std::to_string(warmup) +
                     ",\"steps\":" + std::to_string(steps) +
                     ",\"median_us\":" + jsonNumber(s.median) + ",\"q1_us\":" + jsonNumber(s.q1) +
                     ",\"q3_us\":" + jsonNumber(s.q3) + ",\"min_us\":" + jsonNumber(s.min) +
                     ",\"max_us\":" + jsonNumber(s.max) + ",\"mean_us\":" + jsonNumber(s.mean) +
                     ",\"samples_per_second\":" +
                     jsonNumber(s.median > 0 ? double(batch) * 1e6 / s.median : NAN, "%.6g");
  if (!scalars.empty()) // the last call's loss (or first metric): a sanity check
    line += ",\"" + std::string(m.loss ? "loss" : scalarNames(m)[0]) +
            "\":" + jsonNumber(scalarValue(scalars[0]), "%.9g");
  line += ",\"cpu_us\":" + jsonNumber(cpu, "%.0f") + ",\"wall_us\":" + jsonNumber(wall, "%.0f");
  line += ",\"max_rss_kib\":" + std::to_string(usage.ru_maxrss);
  // What generated code took from the heap in the timed calls (the memory
  // plan's workspaces growing, buffers it could not place): 0 once warm.
  line += ",\"heap_allocations\":" + std::to_string(allocations);
  if (flags.has("times")) {
    line += ",\"times_us\":[";
    for (size_t i = 0; i < times.size(); ++i)
      line += (i ? "," : "") + jsonNumber(times[i]);
    line += "]";
  }
  std::printf("%s}\n", line.c_str());
}

} // namespace kiln::runtime
