// train: the loop around the generated kiln_train_step.
//
// Per step the runtime stages a batch, calls
//   kiln_train_step(inputs..., targets..., params..., state..., hyper...,
//                   new params..., new state..., loss, metrics...)
// and swaps the two sets of parameter and state buffers (the results never
// alias the arguments). Everything that decides the numbers (initial values,
// sample order, step count) comes from the seed and the flags, never the clock.
#include "runtime/Commands.h"

#include "runtime/Args.h"
#include "runtime/Tensor.h"
#include "runtime/data/DataSet.h"
#include "runtime/train/TrainReport.h"
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::runtime {

namespace {

/// Shuffling draws from its own generator, so the sample order does not
/// share the stream initParams draws from: Rng(seed ^ kShuffleStream).
constexpr uint64_t kShuffleStream = 0x53485546464c4521ULL; // "SHUFFLE!"
/// Dropout's per-step seeds come from a third stream, one draw per step, cut
/// to 53 bits so the f64 "seed" hyperparameter holds it exactly.
constexpr uint64_t kDropoutStream = 0x44524f504f555421ULL; // "DROPOUT!"

/// --save's directory must exist and be writable: found out before training,
/// not after it.
void checkSavePath(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    inputError(path + ": is a directory");
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (access(dir.c_str(), W_OK) != 0)
    inputError(path + ": cannot write to its directory " + dir + ": " + std::strerror(errno));
}

bool allFinite(const Tensor &t) {
  if (t.dtype() == DType::F32)
    return std::all_of(t.as<float>(), t.as<float>() + t.numel(),
                       [](float v) { return std::isfinite(v); });
  if (t.dtype() == DType::F64)
    return std::all_of(t.as<double>(), t.as<double>() + t.numel(),
                       [](double v) { return std::isfinite(v); });
  return true;
}

std::vector<Tensor> zerosLike(const std::vector<Tensor> &ts) {
  std::vector<Tensor> out;
  for (const Tensor &t : ts)
    out.emplace_back(t.dtype(), t.shape());
  return out;
}

} // namespace

void runTrain(const Manifest &m, const EntryPoints &ep, const TrainOptions &o) {
  if (!m.hasEntryPoint("train_step"))
    inputError(m.loss ? "train: not supported by this build: the model was compiled "
                        "without a train step"
                      : "train: the model has no loss to minimize");
  if (!ep.trainStep)
    runError("this executable lacks kiln_train_step, which its manifest lists");
  if (!o.save.empty())
    checkSavePath(o.save);

  DataSet ds = loadDataSet(m, o.data, /*withTargets=*/true);
  std::vector<Tensor> params =
      o.init.empty() ? initParams(m.params, o.seed) : loadWeights(m, o.init);
  std::vector<Tensor> nextParams = zerosLike(params);
  std::vector<Tensor> state, nextState; // optimizer state starts at zero
  for (const TensorSpec &s : m.state) {
    state.emplace_back(s.dtype, s.shape);
    nextState.emplace_back(s.dtype, s.shape);
  }
  std::vector<Tensor> hyper;
  for (size_t i = 0; i < m.hyper.size(); ++i)
    hyper.emplace_back(DType::F64, std::vector<int64_t>{});

  int64_t cap = std::min(o.batch, ds.samples);
  int64_t stepsPerEpoch = (ds.samples + cap - 1) / cap;
  std::vector<Tensor> inBuf = batchBuffers(m.inputs, cap);
  std::vector<Tensor> tgtBuf = batchBuffers(m.targets, cap);
  std::vector<Tensor> scalars;
  std::vector<std::string> names = scalarNames(m); // "loss" first
  for (size_t i = 0; i < names.size(); ++i)
    scalars.emplace_back(m.scalarDType, std::vector<int64_t>{});
  std::vector<double> values(names.size());

  TrainReport report(names, m.scalarDType == DType::F64, o.epochs, ds.samples, cap,
                     o.metrics);
  Rng shuffleRng(o.seed ^ kShuffleStream);
  Rng dropoutRng(o.seed ^ kDropoutStream);
  std::vector<int64_t> order(size_t(ds.samples));
  std::iota(order.begin(), order.end(), int64_t(0));
  int64_t runStep = 0;

  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    if (m.train.shuffle)
      order = permutation(ds.samples, shuffleRng); // one draw per epoch
    report.beginEpoch(epoch);
    for (int64_t s = 0; s < stepsPerEpoch; ++s) {
      int64_t begin = s * cap, rows = std::min(cap, ds.samples - begin);
      ++runStep;
      std::vector<MemRef> descs;
      auto stage = [&](std::vector<Tensor> &data, std::vector<Tensor> &bufs) {
        for (size_t i = 0; i < bufs.size(); ++i) {
          if (m.train.shuffle)
            gatherRows(data[i], order.data() + begin, rows, bufs[i]);
          else
            copyRows(data[i], begin, rows, bufs[i]);
          descs.push_back(MemRef::firstRows(bufs[i], rows));
        }
      };
      stage(ds.inputs, inBuf);
      stage(ds.targets, tgtBuf);
      double dropoutSeed = double(dropoutRng.next() >> 11);
      for (size_t i = 0; i < hyper.size(); ++i)
        hyper[i].as<double>()[0] = m.hyper[i] == "lr"     ? o.lr
                                   : m.hyper[i] == "step" ? double(runStep)
                                                          : dropoutSeed;
      for (auto *group : {&params, &state, &hyper, &nextParams, &nextState, &scalars})
        for (Tensor &t : *group)
          descs.push_back(MemRef::of(t));
      std::vector<void *> args;
      for (MemRef &d : descs)
        args.push_back(d.descriptor());
      ep.trainStep(args.data());

      for (size_t i = 0; i < scalars.size(); ++i)
        values[i] = scalarValue(scalars[i]);
      if (!std::isfinite(values[0])) {
        report.abort();
        const char *what = std::isnan(values[0]) ? "nan" : values[0] > 0 ? "inf" : "-inf";
        runError("epoch " + std::to_string(epoch) + ", step " + std::to_string(s + 1) +
                 " of " + std::to_string(stepsPerEpoch) + " (step " +
                 std::to_string(runStep) + " of the run): the loss is not finite (" +
                 what + ")" + (o.save.empty() ? "" : "; " + o.save + " was not written"));
      }
      report.step(runStep, rows, values);
      std::swap(params, nextParams);
      std::swap(state, nextState);
    }
    report.endEpoch();
  }

  for (size_t i = 0; i < params.size(); ++i)
    if (!allFinite(params[i]))
      runError("the trained parameter '" + m.params[i].name + "' is not finite" +
               (o.save.empty() ? "" : "; " + o.save + " was not written"));
  if (!o.save.empty())
    if (std::string err = saveParams(o.save, m.params, params); !err.empty())
      runError(err);
}

} // namespace kiln::runtime
