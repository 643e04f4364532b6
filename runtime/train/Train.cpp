// train: the loop around the generated kiln_train_step.
//
// Per step the runtime stages a batch, calls
//   kiln_train_step(inputs..., targets..., params..., state..., hyper...,
//                   loss, metrics...)
// which updates the parameters and optimizer state in place. Everything that
// decides the numbers (initial values, sample order, step count) comes from
// the seed and the flags, never the clock, and a checkpoint
// (train/Checkpoint.h) holds all of it, so a resumed run continues exactly
// where the first one stopped.
//
// Under mpirun (parallel/Mpi.h) each of the K ranks takes its part of every
// global batch of the seeded order (split as evenly as possible, in rank
// order); the train step's kiln.all_reduce_mean weighs each rank's batch
// means by its share of the global batch, so every rank gets the global
// batch's gradients, loss and metrics and applies the same update. Rank 0
// alone writes the checkpoint, --metrics and TensorBoard.
#include "runtime/Commands.h"

#include "runtime/Args.h"
#include "runtime/Signals.h"
#include "runtime/Tensor.h"
#include "runtime/data/DataSet.h"
#include "runtime/gpu/CudaRuntime.h"
#include "runtime/parallel/Mpi.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/TrainReport.h"
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <numeric>
#include <optional>

namespace kiln::runtime {

namespace {

/// Shuffling draws from its own generator, so the sample order does not
/// share the stream initParams draws from: Rng(seed ^ kShuffleStream).
constexpr uint64_t kShuffleStream = 0x53485546464c4521ULL; // "SHUFFLE!"
/// Dropout's per-step seeds come from a third stream, one draw per step, cut
/// to 53 bits so the f64 "seed" hyperparameter holds it exactly.
constexpr uint64_t kDropoutStream = 0x44524f504f555421ULL; // "DROPOUT!"

bool allFinite(const Tensor &t) {
  if (t.dtype() == DType::F32)
    return std::all_of(t.as<float>(), t.as<float>() + t.numel(),
                       [](float v) { return std::isfinite(v); });
  if (t.dtype() == DType::F64)
    return std::all_of(t.as<double>(), t.as<double>() + t.numel(),
                       [](double v) { return std::isfinite(v); });
  return true;
}

std::string plural(int64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

} // namespace

void runTrain(const Manifest &m, const EntryPoints &ep, const TrainOptions &o) {
  if (!m.hasEntryPoint("train_step"))
    inputError(m.loss ? "train: not supported by this build: the model was compiled "
                        "without a train step"
                      : "train: the model has no loss to minimize");
  if (!ep.trainStep)
    runError("this executable lacks kiln_train_step, which its manifest lists");
  if (!o.valData.empty() && !ep.loss)
    runError("this executable lacks kiln_loss, which validation needs");

  DataSet ds = loadDataSet(m, o.data, /*withTargets=*/true);
  std::optional<DataSet> val;
  if (!o.valData.empty())
    val = loadDataSet(m, o.valData, /*withTargets=*/true);

  // The starting point: a checkpoint's parameters, state and position, or
  // fresh ones (--init's parameters or the seeded initializers, zero state).
  std::vector<Tensor> params, state;
  TrainPosition pos;
  bool resumed = !o.resume.empty();
  if (resumed) {
    Checkpoint ck = loadCheckpoint(o.resume, m);
    pos = ck.position;
    if (pos.samples != ds.samples)
      inputError(o.resume + ": the checkpoint is of a run on " + plural(pos.samples, "sample") +
                 ", but the training data has " + std::to_string(ds.samples));
    if (o.seed && *o.seed != pos.seed)
      usageError("--seed " + std::to_string(*o.seed) + ": the checkpoint's run has seed " +
                 std::to_string(pos.seed) + ", which --resume continues (leave --seed out)");
    if (o.batch && *o.batch != pos.batch && pos.epochStepsDone > 0)
      usageError("--batch " + std::to_string(*o.batch) + ": the checkpoint stopped inside " +
                 "an epoch of batch " + std::to_string(pos.batch) +
                 ", which must be finished with the same batch");
    params = std::move(ck.params);
    state = std::move(ck.state);
  } else {
    params = o.init.empty() ? initParams(m.params, o.seed.value_or(m.train.seed))
                            : loadWeights(m, o.init);
    for (const TensorSpec &s : m.state)
      state.emplace_back(s.dtype, s.shape); // optimizer state starts at zero
  }
  const int64_t epochs = o.epochs.value_or(resumed ? pos.epochs : m.train.epochs);
  const int64_t batch = o.batch.value_or(resumed ? pos.batch : m.train.batch);
  const double lr = o.lr.value_or(resumed ? pos.lr : m.train.lr);
  const uint64_t seed = o.seed.value_or(resumed ? pos.seed : m.train.seed);
  if (resumed && (epochs < pos.epochsDone || (epochs == pos.epochsDone && pos.epochStepsDone > 0)))
    usageError("--epochs " + std::to_string(epochs) + ": the checkpoint has already trained " +
               plural(pos.epochsDone, "epoch") +
               (pos.epochStepsDone ? " and " + plural(pos.epochStepsDone, "step") : "") +
               " (--epochs counts the whole run)");

  int64_t cap = std::min(batch, ds.samples);
  int64_t stepsPerEpoch = (ds.samples + cap - 1) / cap;
  int64_t lastRows = ds.samples - (stepsPerEpoch - 1) * cap;
  const Processes &procs = processes();
  const bool rank0 = procs.rank == 0;
  // Without the train step's all-reduce the ranks would train apart.
  if (procs.size > 1 &&
      std::find(m.hyper.begin(), m.hyper.end(), "share") == m.hyper.end())
    usageError("this executable was built without data parallelism (by an older kiln): "
               "rebuild it to train under mpirun");
  if (std::min(cap, lastRows) < procs.size)
    usageError("--batch " + std::to_string(batch) + " on " + plural(ds.samples, "sample") +
               " leaves a training batch of " + plural(std::min(cap, lastRows), "sample") +
               (lastRows < cap ? " at the end of each epoch" : "") + ", fewer than the " +
               std::to_string(procs.size) + " processes that share each batch");
  // A rank's part of a global batch of `rows`: the first `rows % K` ranks
  // take one more.
  auto part = [&](int64_t rows) {
    int64_t base = rows / procs.size, extra = rows % procs.size;
    return std::make_pair(procs.rank * base + std::min<int64_t>(procs.rank, extra),
                          base + (procs.rank < extra ? 1 : 0));
  };
  if (std::min(cap, lastRows) / procs.size < m.minTrainBatch)
    usageError("--batch " + std::to_string(batch) + " on " + plural(ds.samples, "sample") +
               " leaves a training batch of " + plural(std::min(cap, lastRows), "sample") +
               (lastRows < cap ? " at the end of each epoch" : "") +
               (procs.size > 1 ? " (" + std::to_string(std::min(cap, lastRows) / procs.size) +
                                     " for some of the " + std::to_string(procs.size) +
                                     " processes)"
                               : std::string()) +
               ", but the model's BatchNorm needs at least " +
               std::to_string(m.minTrainBatch) +
               " (one value per channel has no variance); pick another --batch");
  if (resumed && pos.epochStepsDone >= stepsPerEpoch)
    inputError(o.resume + ": the checkpoint's position (step " +
               std::to_string(pos.epochStepsDone) + " of an epoch) is past the epoch's " +
               plural(stepsPerEpoch, "step"));
  const int64_t localCap = part(cap).second;
  // A cuda run keeps one step in flight: the host stages and launches step
  // k+1 while step k's kernels run, then waits for step k and reads its
  // loss. So each step has a slot of what the host writes or reads around
  // it (the batch, the hyperparameters, the loss and metrics), two slots
  // taking turns. A step followed by validation, the epoch's end or a stop
  // is waited for before anything else, so what those see (parameters,
  // position, checkpoint) is the same as one step at a time (the CPU).
  // (Only where the host may read the data set, managed memory, while
  // kernels run: gpu::hostMayRunAhead.)
  const size_t slots = gpu::hostMayRunAhead() ? 2 : 1;
  struct Slot {
    std::vector<StagedTensor> inputs, targets;
    std::vector<Tensor> hyper, scalars;
  };
  std::vector<Slot> slot(slots);
  for (Slot &sl : slot) {
    sl.inputs = stagedBatchBuffers(m.inputs, localCap);
    sl.targets = stagedBatchBuffers(m.targets, localCap);
    sl.hyper = hyperBuffers(m);
    sl.scalars = scalarBuffers(m);
  }
  std::vector<std::string> names = scalarNames(m); // "loss" first
  std::vector<double> values(names.size());

  ReportOptions ro;
  ro.names = names;
  ro.f64Scalars = m.scalarDType == DType::F64;
  ro.epochs = epochs;
  ro.samples = ds.samples;
  ro.batch = cap;
  ro.metricsPath = rank0 ? o.metrics : "";
  ro.appendMetrics = resumed;
  ro.tensorboardDir = rank0 ? o.tensorboard : "";
  ro.validation = val.has_value();
  TrainReport report(ro);

  Rng shuffleRng(seed ^ kShuffleStream);
  Rng dropoutRng(seed ^ kDropoutStream);
  if (resumed) {
    shuffleRng.restoreState(pos.shuffleRng); // checked by loadCheckpoint
    dropoutRng.restoreState(pos.dropoutRng);
  }
  std::vector<int64_t> order(size_t(ds.samples));
  std::iota(order.begin(), order.end(), int64_t(0));
  int64_t runStep = resumed ? pos.runStep : 0;
  const int64_t firstEpoch = resumed ? pos.epochsDone + 1 : 1;
  const int64_t firstStep = resumed ? pos.epochStepsDone : 0;

  // The position a checkpoint written now would record.
  TrainPosition now;
  now.epochs = epochs;
  now.batch = batch;
  now.samples = ds.samples;
  now.lr = lr;
  now.seed = seed;
  auto position = [&](int64_t epochsDone, int64_t stepsDone, const std::string &shuffle) {
    TrainPosition p = now;
    p.epochsDone = epochsDone;
    p.epochStepsDone = stepsDone;
    p.runStep = runStep;
    p.shuffleRng = shuffle;
    p.dropoutRng = dropoutRng.saveState();
    return p;
  };
  std::string savedAt; // what the --save file holds from this run, if anything
  auto save = [&](const TrainPosition &p) {
    for (size_t i = 0; i < params.size(); ++i)
      if (!allFinite(params[i]))
        runError("the trained parameter '" + m.params[i].name + "' is not finite" +
                 (o.save.empty() ? ""
                  : savedAt.empty() ? "; " + o.save + " was not written"
                                    : "; " + o.save + " holds the checkpoint " + savedAt));
    if (o.save.empty())
      return;
    if (rank0) {
      if (std::string err = saveCheckpoint(o.save, m, params, state, p); !err.empty())
        runError(err);
    }
    savedAt = p.epochStepsDone ? "at epoch " + std::to_string(p.epochsDone + 1) + ", step " +
                                     std::to_string(p.epochStepsDone) + " of " +
                                     std::to_string(stepsPerEpoch)
                               : "after epoch " + std::to_string(p.epochsDone);
  };
  // Stops the run after a signal: checkpoint (when --save was given), say
  // where, exit 128 + signal.
  auto interrupted = [&](const TrainPosition &p, bool alreadySaved) {
    report.abort();
    int sig = stopRequested() ? stopRequested() : SIGTERM; // another rank's signal
    if (!o.save.empty() && !alreadySaved)
      save(p);
    std::string where = p.epochStepsDone
                            ? "epoch " + std::to_string(p.epochsDone + 1) + ", step " +
                                  std::to_string(p.epochStepsDone) + " of " +
                                  std::to_string(stepsPerEpoch)
                            : "the end of epoch " + std::to_string(p.epochsDone);
    std::string msg = std::string("interrupted (") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                      ") at " + where + " (step " + std::to_string(runStep) + " of the run); ";
    msg += o.save.empty() ? "nothing saved (no --save)"
                          : "checkpoint saved to " + o.save + "; continue with --resume " +
                                o.save;
    throw CliError(128 + sig, false, msg, /*interrupt=*/true);
  };

  double stepSeconds = 0; // in kiln_train_step, all-reduce included
  // A launched step; land() waits for it, reads its loss and metrics into
  // `values` and stops the run if the loss is not finite.
  struct Launched {
    int64_t epoch, step, runStep, rows;
    Slot *slot;
    uint64_t ticket;
  };
  std::optional<Launched> inFlight; // launched, not yet landed (cuda)
  auto land = [&](const Launched &l) {
    gpu::waitFor(l.ticket);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = scalarValue(l.slot->scalars[i]);
    if (!std::isfinite(values[0])) {
      kiln_cuda_sync(); // the next step may be queued: let it finish before the exit frees its buffers
      report.abort();
      const char *what = std::isnan(values[0]) ? "nan" : values[0] > 0 ? "inf" : "-inf";
      runError("epoch " + std::to_string(l.epoch) + ", step " + std::to_string(l.step + 1) +
               " of " + std::to_string(stepsPerEpoch) + " (step " + std::to_string(l.runStep) +
               " of the run): the loss is not finite (" + what + ")" +
               (o.save.empty() ? ""
                : savedAt.empty() ? "; " + o.save + " was not written"
                                  : "; " + o.save + " holds the checkpoint " + savedAt));
    }
  };
  // From here a first SIGINT/SIGTERM stops after the current step.
  setGracefulStop(true);
  std::vector<double> valValues;
  for (int64_t epoch = firstEpoch; epoch <= epochs; ++epoch) {
    std::string epochStart = shuffleRng.saveState();
    if (m.train.shuffle)
      order = permutation(ds.samples, shuffleRng); // one draw per epoch
    int64_t s0 = epoch == firstEpoch ? firstStep : 0;
    // The schedule steps once per epoch (torch.optim.lr_scheduler's
    // recurrence from the run's first lr), so a resumed run derives it too.
    const double epochLr = scheduledLr(m.train, lr, epoch - 1);
    report.beginEpoch(epoch, s0, epochLr);
    bool validatedNow = false;
    for (int64_t s = s0; s < stepsPerEpoch; ++s) {
      int64_t begin = s * cap, rows = std::min(cap, ds.samples - begin);
      const std::pair<int64_t, int64_t> mine = part(rows);
      const int64_t first = mine.first, localRows = mine.second;
      ++runStep;
      // This step's slot: the last step to use it has landed.
      Slot &sl = slot[size_t(runStep) % slots];
      std::vector<MemRef> descs;
      auto stage = [&](std::vector<Tensor> &data, std::vector<StagedTensor> &bufs) {
        for (size_t i = 0; i < bufs.size(); ++i) {
          if (m.train.shuffle)
            gatherRows(data[i], order.data() + begin + first, localRows, bufs[i].host());
          else
            copyRows(data[i], begin + first, localRows, bufs[i].host());
          bufs[i].upload(localRows);
          descs.push_back(bufs[i].view(localRows));
        }
      };
      stage(ds.inputs, sl.inputs);
      stage(ds.targets, sl.targets);
      double dropoutSeed = double(dropoutRng.next() >> 11);
      for (size_t i = 0; i < sl.hyper.size(); ++i)
        sl.hyper[i].as<double>()[0] = m.hyper[i] == "lr"      ? epochLr
                                      : m.hyper[i] == "step"  ? double(runStep)
                                      : m.hyper[i] == "share" ? double(localRows) / double(rows)
                                      : m.hyper[i] == "offset" ? double(first)
                                                               : dropoutSeed;
      for (auto *group : {&params, &state, &sl.hyper, &sl.scalars})
        for (Tensor &t : *group)
          descs.push_back(MemRef::of(t));
      std::vector<void *> args;
      for (MemRef &d : descs)
        args.push_back(d.descriptor());
      auto stepStart = std::chrono::steady_clock::now();
      ep.trainStep(args.data());
      stepSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - stepStart)
                         .count();
      Launched now = {epoch, s, runStep, rows, &sl, gpu::submitted()};
      if (inFlight) { // the step before: its line, now that this one runs
        land(*inFlight);
        report.step(inFlight->runStep, inFlight->rows, values, nullptr);
        inFlight.reset();
      }
      validatedNow = false;
      bool stop = anyStopRequested(); // every rank stops after the same step
      bool validate = val && o.valEvery > 0 && runStep % o.valEvery == 0 && !stop;
      if (slots > 1 && !stop && !validate && s + 1 < stepsPerEpoch) {
        inFlight = now;
        continue;
      }
      land(now);
      if (validate) {
        report.validating();
        validatedNow = evaluate(m, ep, *val, params, cap, valValues, /*stoppable=*/true);
      }
      report.step(runStep, rows, values, validatedNow ? &valValues : nullptr);
      if (stop && s + 1 < stepsPerEpoch)
        interrupted(position(epoch - 1, s + 1, epochStart), false);
    }
    // The epoch's end: validation (unless this very step just had it), the
    // epoch's line, the checkpoint.
    bool haveVal = validatedNow;
    bool stop = anyStopRequested();
    if (val && !validatedNow && !stop) {
      report.validating();
      haveVal = evaluate(m, ep, *val, params, cap, valValues, /*stoppable=*/true);
    }
    report.endEpoch(runStep, haveVal ? &valValues : nullptr);
    TrainPosition p = position(epoch, 0, shuffleRng.saveState());
    save(p);
    if (stop && epoch < epochs)
      interrupted(p, /*alreadySaved=*/true);
  }
  setGracefulStop(false);
  if (firstEpoch > epochs) // nothing to train (--epochs 0, or a finished run)
    save(position(pos.epochsDone, 0, resumed ? pos.shuffleRng : shuffleRng.saveState()));
  if (procs.size > 1) // what data parallelism cost rank 0 (waiting for the others included)
    std::printf("%d processes: the all-reduce took %.3g s of %.3g s in train steps (%.1f%%)\n",
                procs.size, allReduceSeconds(), stepSeconds,
                stepSeconds > 0 ? 100 * allReduceSeconds() / stepSeconds : 0.0);
  if (!o.save.empty())
    std::printf("saved %s after %s (%s) to %s\n",
                m.state.empty() ? "the parameters" : "the parameters and optimizer state",
                plural(epochs, "epoch").c_str(), plural(runStep, "step").c_str(),
                o.save.c_str());
  std::fflush(stdout);
}

} // namespace kiln::runtime
