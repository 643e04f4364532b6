#include "runtime/train/Checkpoint.h"

#include "runtime/Args.h"
#include "runtime/data/FileUtil.h"
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"
#include "runtime/weights/Safetensors.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace kiln::runtime {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

} // namespace

std::string saveCheckpoint(const std::string &path, const Manifest &m,
                           const std::vector<Tensor> &params,
                           const std::vector<Tensor> &state, const TrainPosition &pos) {
  std::vector<std::string> stateNames;
  for (const TensorSpec &s : m.state)
    stateNames.push_back(kOptimizerPrefix + s.name);
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < m.params.size() && i < params.size(); ++i)
    named.push_back({m.params[i].name, &params[i]});
  for (size_t i = 0; i < stateNames.size() && i < state.size(); ++i)
    named.push_back({stateNames[i], &state[i]});
  std::map<std::string, std::string> meta = {
      {"format", "pt"},
      {"kiln.checkpoint", "1"},
      {"kiln.model", m.model},
      {"kiln.epochs_done", std::to_string(pos.epochsDone)},
      {"kiln.epoch_steps_done", std::to_string(pos.epochStepsDone)},
      {"kiln.step", std::to_string(pos.runStep)},
      {"kiln.epochs", std::to_string(pos.epochs)},
      {"kiln.batch", std::to_string(pos.batch)},
      {"kiln.samples", std::to_string(pos.samples)},
      {"kiln.lr", number(pos.lr)},
      {"kiln.seed", std::to_string(pos.seed)},
      {"kiln.rng.shuffle", pos.shuffleRng},
      {"kiln.rng.dropout", pos.dropoutRng},
  };
  return writeSafetensors(path, named, meta);
}

Checkpoint loadCheckpoint(const std::string &path, const Manifest &m) {
  Result<SafetensorsIndex> index = readSafetensorsIndex(path);
  if (!index.ok())
    inputError(index.error);
  const std::map<std::string, std::string> &meta = index.value.metadata;
  auto it = meta.find("kiln.checkpoint");
  if (it == meta.end())
    inputError(path + ": not a Kiln checkpoint (it holds no training position); "
                      "use --init to start from its parameters");
  if (it->second != "1")
    inputError(path + ": checkpoint version '" + printable(it->second) +
               "' is not one this executable reads (1)");
  auto get = [&](const char *key) -> const std::string & {
    auto f = meta.find(key);
    if (f == meta.end())
      inputError(path + ": checkpoint metadata lacks \"" + key + "\"");
    return f->second;
  };
  auto getInt = [&](const char *key, int64_t min) {
    const std::string &text = get(key);
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE || v < min)
      inputError(path + ": checkpoint metadata \"" + key + "\" is not an integer >= " +
                 std::to_string(min) + ": '" + printable(text) + "'");
    return int64_t(v);
  };
  if (get("kiln.model") != m.model)
    inputError(path + ": a checkpoint of model '" + printable(get("kiln.model")) +
               "', not of this executable's '" + m.model + "'");

  Checkpoint ck;
  TrainPosition &p = ck.position;
  p.epochsDone = getInt("kiln.epochs_done", 0);
  p.epochStepsDone = getInt("kiln.epoch_steps_done", 0);
  p.runStep = getInt("kiln.step", 0);
  p.epochs = getInt("kiln.epochs", 0);
  p.batch = getInt("kiln.batch", 1);
  p.samples = getInt("kiln.samples", 1);
  {
    const std::string &text = get("kiln.lr");
    char *end = nullptr;
    p.lr = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(p.lr) || p.lr < 0)
      inputError(path + ": checkpoint metadata \"kiln.lr\" is not a number >= 0");
  }
  {
    const std::string &text = get("kiln.seed");
    char *end = nullptr;
    errno = 0;
    p.seed = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE)
      inputError(path + ": checkpoint metadata \"kiln.seed\" is not an integer");
  }
  Rng probe(0);
  p.shuffleRng = get("kiln.rng.shuffle");
  p.dropoutRng = get("kiln.rng.dropout");
  if (!probe.restoreState(p.shuffleRng) || !probe.restoreState(p.dropoutRng))
    inputError(path + ": checkpoint metadata \"kiln.rng.*\" is malformed");

  Result<std::vector<Tensor>> params = loadParams(path, m.params);
  if (!params.ok())
    inputError(params.error);
  ck.params = std::move(params.value);

  std::set<std::string> expected;
  for (const TensorSpec &s : m.state) {
    std::string name = kOptimizerPrefix + s.name;
    expected.insert(name);
    const SafetensorsEntry *e = index.value.find(name);
    if (!e)
      inputError(path + ": missing optimizer state '" + name + "' (" + dtypeName(s.dtype) +
                 shapeString(s.shape) + "): was it written by another build of the model?");
    if (e->shape != s.shape || e->dtype != safetensorsName(s.dtype))
      inputError(path + ": optimizer state '" + name + "' is " + e->dtype +
                 shapeString(e->shape) + ", the model's is " + safetensorsName(s.dtype) +
                 shapeString(s.shape));
    Result<Tensor> t = readSafetensor(index.value, *e);
    if (!t.ok())
      inputError(t.error);
    ck.state.push_back(std::move(t.value));
  }
  for (const SafetensorsEntry &e : index.value.entries)
    if (e.name.rfind(kOptimizerPrefix, 0) == 0 && !expected.count(e.name))
      inputError(path + ": unexpected optimizer state '" + printable(e.name) +
                 "': the model's optimizer has no such state");
  return ck;
}

} // namespace kiln::runtime
