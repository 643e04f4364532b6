#include "runtime/Manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace kiln::runtime {

using nlohmann::json;

const char *initKindName(InitSpec::Kind kind) {
  switch (kind) {
  case InitSpec::Kind::Zeros: return "zeros";
  case InitSpec::Kind::Ones: return "ones";
  case InitSpec::Kind::Uniform: return "uniform";
  case InitSpec::Kind::Normal: return "normal";
  }
  return "?";
}

bool Manifest::hasEntryPoint(const std::string &name) const {
  return std::find(entryPoints.begin(), entryPoints.end(), name) !=
         entryPoints.end();
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static json specJson(const std::string &name, DType dtype,
                     const std::vector<int64_t> &shape) {
  return json{{"name", name}, {"dtype", dtypeName(dtype)}, {"shape", shape}};
}

std::string Manifest::toJson() const {
  json j;
  j["model"] = model;
  for (const char *group : {"inputs", "targets", "outputs"}) {
    const auto &specs = std::string(group) == "inputs"    ? inputs
                        : std::string(group) == "targets" ? targets
                                                          : outputs;
    j[group] = json::array();
    for (const TensorSpec &s : specs) {
      json sj = specJson(s.name, s.dtype, s.shape);
      if (s.classes > 0)
        sj["classes"] = s.classes;
      j[group].push_back(sj);
    }
  }
  j["params"] = json::array();
  for (const ParamSpec &p : params) {
    json pj = specJson(p.name, p.dtype, p.shape);
    pj["init"] = {{"kind", initKindName(p.init.kind)}};
    if (p.init.kind == InitSpec::Kind::Uniform ||
        p.init.kind == InitSpec::Kind::Normal) {
      pj["init"]["a"] = p.init.a;
      pj["init"]["b"] = p.init.b;
    }
    if (p.buffer)
      pj["buffer"] = true;
    j["params"].push_back(pj);
  }
  j["loss"] = loss;
  j["metrics"] = metrics;
  j["scalar_dtype"] = dtypeName(scalarDType);
  if (hasTrain)
    j["train"] = {{"optimizer", optimizerName(train.optimizer)},
                  {"lr", train.lr},
                  {"momentum", train.momentum},
                  {"weight_decay", train.weightDecay},
                  {"beta1", train.beta1},
                  {"beta2", train.beta2},
                  {"eps", train.eps},
                  {"nesterov", train.nesterov},
                  {"alpha", train.alpha},
                  {"clip_grad_norm", train.clipGradNorm},
                  {"scheduler", schedulerName(train.scheduler)},
                  {"step_size", train.stepSize},
                  {"gamma", train.gamma},
                  {"t_max", train.tMax},
                  {"eta_min", train.etaMin},
                  {"batch", train.batch},
                  {"epochs", train.epochs},
                  {"seed", train.seed},
                  {"shuffle", train.shuffle}};
  j["flops_per_sample"] = flopsPerSample;
  if (target != "cpu") {
    j["target"] = target;
    j["gpu_arch"] = gpuArch;
    j["kernels"] = kernels;
  }
  if (minTrainBatch > 1)
    j["min_train_batch"] = minTrainBatch;
  if (hasArena)
    j["arena"] = {{"fixed_bytes", arenaFixedBytes},
                  {"per_sample_bytes", arenaPerSampleBytes}};
  j["entry_points"] = entryPoints;
  j["state"] = json::array();
  for (const TensorSpec &s : state)
    j["state"].push_back(specJson(s.name, s.dtype, s.shape));
  j["hyper"] = hyper;
  return j.dump(2);
}

//===----------------------------------------------------------------------===//
// Reading: every accessor checks the JSON type and names the field on error.
//===----------------------------------------------------------------------===//

namespace {

struct ManifestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw ManifestError(where.empty() ? what : where + ": " + what);
}

const json &field(const json &obj, const char *key, const std::string &where) {
  auto it = obj.find(key);
  if (it == obj.end())
    fail(where, std::string("missing field \"") + key + "\"");
  return *it;
}

std::string join(const std::string &where, const char *key) {
  return where.empty() ? key : where + "." + key;
}

std::string getString(const json &obj, const char *key, const std::string &where) {
  const json &v = field(obj, key, where);
  if (!v.is_string())
    fail(join(where, key), "expected a string");
  return v.get<std::string>();
}

bool getBool(const json &obj, const char *key, const std::string &where) {
  const json &v = field(obj, key, where);
  if (!v.is_boolean())
    fail(join(where, key), "expected true or false");
  return v.get<bool>();
}

double getNumber(const json &obj, const char *key, const std::string &where) {
  const json &v = field(obj, key, where);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    fail(join(where, key), "expected a finite number");
  return v.get<double>();
}

int64_t asInt(const json &v, const std::string &where, int64_t min) {
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)))
    fail(where, "expected an integer");
  int64_t n = v.get<int64_t>();
  if (n < min)
    fail(where, "expected an integer >= " + std::to_string(min) + ", got " +
                    std::to_string(n));
  return n;
}

int64_t getInt(const json &obj, const char *key, const std::string &where,
               int64_t min) {
  return asInt(field(obj, key, where), join(where, key), min);
}

const json &getArray(const json &obj, const char *key, const std::string &where) {
  const json &v = field(obj, key, where);
  if (!v.is_array())
    fail(join(where, key), "expected an array");
  return v;
}

DType getDType(const json &obj, const std::string &where) {
  std::string s = getString(obj, "dtype", where);
  std::optional<DType> t = parseDType(s);
  if (!t)
    fail(where + ".dtype", "unknown dtype \"" + s + "\" (f32, f64, i32, i64, u8)");
  return *t;
}

// A shape; `batched` shapes must start with -1 (the batch dimension).
std::vector<int64_t> getShape(const json &obj, const std::string &where,
                              bool batched) {
  const json &arr = getArray(obj, "shape", where);
  std::vector<int64_t> shape;
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string w = where + ".shape[" + std::to_string(i) + "]";
    shape.push_back(asInt(arr[i], w, batched && i == 0 ? -1 : 0));
  }
  if (batched && (shape.empty() || shape[0] != -1))
    fail(where + ".shape", "must start with -1, the batch dimension");
  int64_t numel;
  std::vector<int64_t> staticPart(shape.begin() + (batched ? 1 : 0), shape.end());
  if (!checkedNumel(staticPart, numel))
    fail(where + ".shape", "too many elements");
  return shape;
}

std::string getName(const json &obj, const std::string &where,
                    std::set<std::string> &seen) {
  std::string name = getString(obj, "name", where);
  if (name.empty())
    fail(where + ".name", "must not be empty");
  if (!seen.insert(name).second)
    fail(where + ".name", "\"" + name + "\" is declared twice");
  return name;
}

std::vector<TensorSpec> getSpecs(const json &j, const char *group,
                                 std::set<std::string> &seen) {
  std::vector<TensorSpec> specs;
  const json &arr = getArray(j, group, "");
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = std::string(group) + "[" + std::to_string(i) + "]";
    if (!arr[i].is_object())
      fail(where, "expected an object");
    TensorSpec s;
    s.name = getName(arr[i], where, seen);
    s.dtype = getDType(arr[i], where);
    s.shape = getShape(arr[i], where, /*batched=*/true);
    if (arr[i].contains("classes"))
      s.classes = getInt(arr[i], "classes", where, 1);
    specs.push_back(std::move(s));
  }
  return specs;
}

InitSpec getInit(const json &p, const std::string &where, DType dtype) {
  const json &ij = field(p, "init", where);
  std::string w = where + ".init";
  if (!ij.is_object())
    fail(w, "expected an object");
  std::string kind = getString(ij, "kind", w);
  InitSpec init;
  if (kind == "zeros")
    init.kind = InitSpec::Kind::Zeros;
  else if (kind == "ones")
    init.kind = InitSpec::Kind::Ones;
  else if (kind == "uniform" || kind == "normal") {
    init.kind = kind == "uniform" ? InitSpec::Kind::Uniform : InitSpec::Kind::Normal;
    init.a = getNumber(ij, "a", w);
    init.b = getNumber(ij, "b", w);
    if (!isFloat(dtype))
      fail(w, kind + " needs a float parameter, not " + dtypeName(dtype));
    if (kind == "uniform" && init.a > init.b)
      fail(w, "uniform low (a) is above high (b)");
    if (kind == "normal" && init.b < 0)
      fail(w, "normal std (b) is negative");
  } else
    fail(w + ".kind", "unknown init \"" + kind + "\" (zeros, ones, uniform, normal)");
  return init;
}

Manifest parse(const json &j) {
  if (!j.is_object())
    fail("manifest", "expected a JSON object");
  Manifest m;
  m.model = getString(j, "model", "");
  std::set<std::string> dataNames, paramNames, metricNames;
  m.inputs = getSpecs(j, "inputs", dataNames);
  m.targets = getSpecs(j, "targets", dataNames);
  m.outputs = getSpecs(j, "outputs", dataNames);
  if (m.inputs.empty())
    fail("inputs", "a model needs at least one input");
  if (m.outputs.empty())
    fail("outputs", "a model needs at least one output");

  const json &params = getArray(j, "params", "");
  for (size_t i = 0; i < params.size(); ++i) {
    std::string where = "params[" + std::to_string(i) + "]";
    if (!params[i].is_object())
      fail(where, "expected an object");
    ParamSpec p;
    p.name = getName(params[i], where, paramNames);
    p.dtype = getDType(params[i], where);
    p.shape = getShape(params[i], where, /*batched=*/false);
    p.init = getInit(params[i], where, p.dtype);
    if (params[i].contains("buffer"))
      p.buffer = getBool(params[i], "buffer", where);
    m.params.push_back(std::move(p));
  }

  if (j.contains("state")) {
    std::set<std::string> stateNames;
    const json &state = getArray(j, "state", "");
    for (size_t i = 0; i < state.size(); ++i) {
      std::string where = "state[" + std::to_string(i) + "]";
      if (!state[i].is_object())
        fail(where, "expected an object");
      TensorSpec s;
      s.name = getName(state[i], where, stateNames);
      s.dtype = getDType(state[i], where);
      s.shape = getShape(state[i], where, /*batched=*/false);
      m.state.push_back(std::move(s));
    }
  }
  if (j.contains("hyper")) {
    const json &hyper = getArray(j, "hyper", "");
    for (size_t i = 0; i < hyper.size(); ++i) {
      std::string where = "hyper[" + std::to_string(i) + "]";
      if (!hyper[i].is_string() ||
          (hyper[i].get<std::string>() != "lr" && hyper[i].get<std::string>() != "step" &&
           hyper[i].get<std::string>() != "seed" && hyper[i].get<std::string>() != "share" &&
           hyper[i].get<std::string>() != "offset"))
        fail(where, "expected \"lr\", \"step\", \"seed\", \"share\" or \"offset\"");
      m.hyper.push_back(hyper[i].get<std::string>());
    }
  }

  m.loss = getBool(j, "loss", "");
  const json &metrics = getArray(j, "metrics", "");
  for (size_t i = 0; i < metrics.size(); ++i) {
    std::string where = "metrics[" + std::to_string(i) + "]";
    if (!metrics[i].is_string() || metrics[i].get<std::string>().empty())
      fail(where, "expected a metric name");
    if (!metricNames.insert(metrics[i].get<std::string>()).second)
      fail(where, "\"" + metrics[i].get<std::string>() + "\" is declared twice");
    m.metrics.push_back(metrics[i].get<std::string>());
  }
  if (j.contains("scalar_dtype")) {
    const json &v = j["scalar_dtype"];
    std::optional<DType> t = v.is_string() ? parseDType(v.get<std::string>()) : std::nullopt;
    if (!t || !isFloat(*t))
      fail("scalar_dtype", "expected \"f32\" or \"f64\"");
    m.scalarDType = *t;
  }

  if (j.contains("train")) {
    const json &t = j["train"];
    if (!t.is_object())
      fail("train", "expected an object");
    m.hasTrain = true;
    TrainDefaults &d = m.train;
    std::string optimizer = getString(t, "optimizer", "train");
    std::optional<OptimizerKind> kind = parseOptimizerName(optimizer);
    if (!kind)
      fail("train.optimizer",
           "unknown optimizer \"" + optimizer + "\" (SGD, Adam, AdamW, RMSprop)");
    d.optimizer = *kind;
    d.lr = getNumber(t, "lr", "train");
    d.momentum = getNumber(t, "momentum", "train");
    d.weightDecay = getNumber(t, "weight_decay", "train");
    d.beta1 = getNumber(t, "beta1", "train");
    d.beta2 = getNumber(t, "beta2", "train");
    d.eps = getNumber(t, "eps", "train");
    d.batch = getInt(t, "batch", "train", 1);
    d.epochs = getInt(t, "epochs", "train", 0);
    const json &seed = field(t, "seed", "train");
    if (!seed.is_number_unsigned() &&
        !(seed.is_number_integer() && seed.get<int64_t>() >= 0))
      fail("train.seed", "expected an integer >= 0");
    d.seed = seed.get<uint64_t>();
    d.shuffle = getBool(t, "shuffle", "train");
    if (d.lr < 0)
      fail("train.lr", "must not be negative");
    // Later additions, optional so older manifests still read.
    if (t.contains("nesterov"))
      d.nesterov = getBool(t, "nesterov", "train");
    for (auto [key, value] : {std::pair<const char *, double *>{"alpha", &d.alpha},
                              {"clip_grad_norm", &d.clipGradNorm},
                              {"gamma", &d.gamma},
                              {"eta_min", &d.etaMin}})
      if (t.contains(key)) {
        *value = getNumber(t, key, "train");
        if (!(*value >= 0))
          fail(std::string("train.") + key, "must not be negative");
      }
    if (t.contains("step_size"))
      d.stepSize = getInt(t, "step_size", "train", 1);
    if (t.contains("t_max"))
      d.tMax = getInt(t, "t_max", "train", 1);
    if (t.contains("scheduler")) {
      std::string scheduler = getString(t, "scheduler", "train");
      std::optional<SchedulerKind> s = parseSchedulerName(scheduler);
      if (!s)
        fail("train.scheduler", "unknown scheduler \"" + scheduler +
                                    "\" (none, StepLR, CosineAnnealingLR)");
      d.scheduler = *s;
    }
  }

  if (j.contains("flops_per_sample"))
    m.flopsPerSample = getInt(j, "flops_per_sample", "", 0);
  if (j.contains("target")) {
    m.target = getString(j, "target", "");
    if (m.target != "cpu" && m.target != "cuda")
      throw ManifestError("\"target\" must be \"cpu\" or \"cuda\"");
    if (j.contains("gpu_arch"))
      m.gpuArch = getString(j, "gpu_arch", "");
    if (j.contains("kernels")) {
      if (!j["kernels"].is_array())
        throw ManifestError("\"kernels\" must be an array of names");
      for (const auto &k : j["kernels"]) {
        if (!k.is_string())
          throw ManifestError("\"kernels\" must be an array of names");
        m.kernels.push_back(k.get<std::string>());
      }
    }
  }
  if (j.contains("min_train_batch"))
    m.minTrainBatch = getInt(j, "min_train_batch", "", 1);
  if (j.contains("arena")) {
    const json &a = j["arena"];
    if (!a.is_object())
      fail("arena", "expected an object");
    m.hasArena = true;
    m.arenaFixedBytes = getInt(a, "fixed_bytes", "arena", 0);
    m.arenaPerSampleBytes = getInt(a, "per_sample_bytes", "arena", 0);
  }

  const json &eps = getArray(j, "entry_points", "");
  for (size_t i = 0; i < eps.size(); ++i) {
    std::string where = "entry_points[" + std::to_string(i) + "]";
    if (!eps[i].is_string())
      fail(where, "expected a string");
    std::string e = eps[i].get<std::string>();
    if (e != "forward" && e != "loss" && e != "train_step")
      fail(where, "unknown entry point \"" + e + "\" (forward, loss, train_step)");
    m.entryPoints.push_back(e);
  }
  if (!m.hasEntryPoint("forward"))
    fail("entry_points", "\"forward\" is missing");
  bool needsLoss = m.loss || !m.metrics.empty();
  if (needsLoss != m.hasEntryPoint("loss"))
    fail("entry_points", needsLoss ? "\"loss\" is missing, but the model has a "
                                     "loss or metrics"
                                   : "\"loss\" is listed, but the model has no "
                                     "loss and no metrics");
  if (m.hasEntryPoint("train_step") && !m.loss)
    fail("entry_points", "\"train_step\" needs a loss");
  return m;
}

} // namespace

Result<Manifest> Manifest::fromJson(const std::string &text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Result<Manifest>::failure("manifest: invalid JSON");
  try {
    return Result<Manifest>::success(parse(j));
  } catch (const ManifestError &e) {
    return Result<Manifest>::failure(std::string("manifest: ") + e.what());
  } catch (const std::exception &e) { // nlohmann type errors, bad_alloc
    return Result<Manifest>::failure(std::string("manifest: ") + e.what());
  }
}

} // namespace kiln::runtime
