// info, eval and predict: load what a command needs, run the generated code
// over batches, report. (train lives in train/Train.cpp.)
#include "runtime/Commands.h"

#include "runtime/Args.h"
#include "runtime/Tensor.h"
#include "runtime/data/DataSet.h"
#include "runtime/data/DataWriters.h"
#include "runtime/gpu/CudaRuntime.h"
#include "runtime/parallel/Mpi.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace kiln::runtime {

namespace {

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// A 128-bit count in decimal.
std::string decimal(unsigned __int128 v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), char('0' + int(v % 10)));
    v /= 10;
  } while (v != 0);
  return digits;
}

} // namespace

std::string outputPath(const std::string &path, const std::string &name,
                       size_t numOutputs) {
  if (numOutputs == 1)
    return path;
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return path + "." + name;
  return path.substr(0, dot) + "." + name + path.substr(dot);
}

//===----------------------------------------------------------------------===//
// info
//===----------------------------------------------------------------------===//

void runInfo(const Manifest &m, bool asJson) {
  if (asJson) {
    std::printf("%s\n", m.toJson().c_str());
    return;
  }
  size_t width = 0;
  for (const auto *group : {&m.inputs, &m.targets, &m.outputs})
    for (const TensorSpec &s : *group)
      width = std::max(width, s.name.size());
  for (const ParamSpec &p : m.params)
    width = std::max(width, p.name.size());

  std::printf("model %s\n", m.model.c_str());
  if (m.target == "cuda")
    std::printf("target cuda (%s), %zu kernels\n", m.gpuArch.c_str(),
                m.kernels.size());
  auto printGroup = [&](const char *title, const std::vector<TensorSpec> &specs) {
    std::printf("%s:\n", title);
    if (specs.empty())
      std::printf("  (none)\n");
    for (const TensorSpec &s : specs)
      std::printf("  %-*s  %s%s\n", int(width), s.name.c_str(), dtypeName(s.dtype),
                  shapeString(s.shape).c_str());
  };
  printGroup("inputs", m.inputs);
  printGroup("targets", m.targets);
  printGroup("outputs", m.outputs);

  std::printf("parameters:\n");
  if (m.params.empty())
    std::printf("  (none)\n");
  // Sums in 128 bits: each parameter may hold up to 2^62 elements of 8
  // bytes, which int64 cannot total.
  unsigned __int128 total = 0, bytes = 0;
  for (const ParamSpec &p : m.params) {
    int64_t n = 1;
    checkedNumel(p.shape, n);
    total += uint64_t(n);
    bytes += (unsigned __int128)uint64_t(n) * dtypeSize(p.dtype);
    std::string type = std::string(dtypeName(p.dtype)) + shapeString(p.shape);
    std::string init = initKindName(p.init.kind);
    if (p.init.kind == InitSpec::Kind::Uniform || p.init.kind == InitSpec::Kind::Normal)
      init += "(" + formatNumber(p.init.a) + ", " + formatNumber(p.init.b) + ")";
    if (p.buffer)
      init += " (buffer, not trained)";
    std::printf("  %-*s  %-16s %12lld  %s\n", int(width), p.name.c_str(), type.c_str(),
                static_cast<long long>(n), init.c_str());
  }
  std::printf("total parameters: %s (%s bytes)\n", decimal(total).c_str(),
              decimal(bytes).c_str());
  std::string scalars = m.loss ? "loss" : "";
  for (const std::string &name : m.metrics)
    scalars += (scalars.empty() ? "" : ", ") + name;
  std::printf("loss and metrics: %s\n", scalars.empty() ? "(none)" : scalars.c_str());
  std::printf("FLOPs per sample: %lld\n", static_cast<long long>(m.flopsPerSample));
  if (m.hasArena) {
    // The workspace the generated code keeps (kiln-plan-memory), at the
    // train block's batch (or 64) as an example.
    int64_t batch = m.hasTrain ? m.train.batch : 64;
    unsigned __int128 atBatch = (unsigned __int128)uint64_t(m.arenaFixedBytes) +
                                (unsigned __int128)uint64_t(m.arenaPerSampleBytes) * uint64_t(batch);
    std::printf("memory plan: %lld bytes + %lld bytes per sample (%s bytes at batch %lld)\n",
                static_cast<long long>(m.arenaFixedBytes),
                static_cast<long long>(m.arenaPerSampleBytes), decimal(atBatch).c_str(),
                static_cast<long long>(batch));
  }
  else
    std::printf("memory plan: (not recorded)\n");
  if (m.hasTrain) {
    const TrainDefaults &t = m.train;
    std::string opt = std::string(optimizerName(t.optimizer)) + "(lr=" + formatNumber(t.lr);
    switch (t.optimizer) {
    case OptimizerKind::SGD:
      opt += ", momentum=" + formatNumber(t.momentum);
      if (t.nesterov)
        opt += ", nesterov=true";
      break;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      opt += ", beta1=" + formatNumber(t.beta1) + ", beta2=" + formatNumber(t.beta2) +
             ", eps=" + formatNumber(t.eps);
      break;
    case OptimizerKind::RMSprop:
      opt += ", alpha=" + formatNumber(t.alpha) + ", eps=" + formatNumber(t.eps) +
             ", momentum=" + formatNumber(t.momentum);
      break;
    }
    opt += ", weight_decay=" + formatNumber(t.weightDecay) + ")";
    if (t.scheduler == SchedulerKind::StepLR)
      opt += ", scheduler StepLR(step_size=" + std::to_string(t.stepSize) +
             ", gamma=" + formatNumber(t.gamma) + ")";
    else if (t.scheduler == SchedulerKind::CosineAnnealingLR)
      opt += ", scheduler CosineAnnealingLR(T_max=" + std::to_string(t.tMax) +
             ", eta_min=" + formatNumber(t.etaMin) + ")";
    if (t.clipGradNorm > 0)
      opt += ", clip_grad_norm " + formatNumber(t.clipGradNorm);
    std::printf("train defaults: optimizer %s, batch %lld, epochs %lld, seed %llu, "
                "shuffle %s\n",
                opt.c_str(), static_cast<long long>(t.batch),
                static_cast<long long>(t.epochs), static_cast<unsigned long long>(t.seed),
                t.shuffle ? "true" : "false");
  } else {
    std::printf("train defaults: (no train block)\n");
  }
  std::string eps;
  for (const std::string &e : m.entryPoints)
    eps += (eps.empty() ? "" : ", ") + e;
  std::printf("entry points: %s\n", eps.c_str());
  if (m.target == "cuda") {
    std::printf("kernels:\n");
    for (const std::string &k : m.kernels)
      std::printf("  %s\n", k.c_str());
  }
}

//===----------------------------------------------------------------------===//
// eval: kiln_loss over batches; sample-weighted means of the batch means.
//===----------------------------------------------------------------------===//

void runEval(const Manifest &m, const EntryPoints &ep, const EvalOptions &o) {
  if (!m.loss && m.metrics.empty())
    usageError("the model has no loss and no metrics to evaluate");
  if (!ep.loss)
    runError("this executable lacks kiln_loss, which its manifest lists");
  DataSet ds = loadDataSet(m, o.data, /*withTargets=*/true);
  std::vector<Tensor> params = loadWeights(m, o.weights);
  std::vector<std::string> names = scalarNames(m);
  std::vector<double> means;
  evaluate(m, ep, ds, params, o.batch, means);

  std::string line;
  for (size_t i = 0; i < names.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.8g", means[i]);
    line += (i ? "  " : "") + names[i] + " " + buf;
  }
  std::printf("%s\n", line.c_str());
  if (m.loss && !std::isfinite(means[0]))
    runError("the loss is not finite");
}

//===----------------------------------------------------------------------===//
// predict: kiln_forward over batches, outputs gathered and written.
//===----------------------------------------------------------------------===//

void runPredict(const Manifest &m, const EntryPoints &ep, const PredictOptions &o) {
  DataSet ds = loadDataSet(m, o.data, /*withTargets=*/false);
  std::vector<Tensor> params = loadWeights(m, o.weights);

  int64_t cap = std::min(o.batch, ds.samples);
  std::vector<StagedTensor> inBuf = stagedBatchBuffers(m.inputs, cap);
  std::vector<Tensor> outBuf = batchBuffers(m.outputs, cap, Tensor::Memory::Pinned);
  std::vector<Tensor> outputs = batchBuffers(m.outputs, ds.samples);

  // Under mpirun the ranks take the batches in turn, each writing its rows
  // into zeroed outputs, and rank 0 gathers them by a bitwise OR.
  const Processes &procs = processes();
  for (int64_t begin = cap * procs.rank; begin < ds.samples; begin += cap * procs.size) {
    int64_t rows = std::min(cap, ds.samples - begin);
    std::vector<MemRef> descs;
    for (size_t i = 0; i < inBuf.size(); ++i) {
      copyRows(ds.inputs[i], begin, rows, inBuf[i].host());
      inBuf[i].upload(rows);
      descs.push_back(inBuf[i].view(rows));
    }
    for (Tensor &p : params)
      descs.push_back(MemRef::of(p));
    for (Tensor &t : outBuf)
      descs.push_back(MemRef::firstRows(t, rows));
    std::vector<void *> args;
    for (MemRef &d : descs)
      args.push_back(d.descriptor());
    ep.forward(args.data());
    kiln_cuda_sync(); // a cuda call returns before its kernels finish
    // Each output's batch goes to rows [begin, begin + rows) of the result.
    for (size_t i = 0; i < outBuf.size(); ++i) {
      size_t row = outBuf[i].sampleBytes();
      std::memcpy(static_cast<char *>(outputs[i].data()) + size_t(begin) * row,
                  outBuf[i].data(), size_t(rows) * row);
    }
  }

  for (Tensor &t : outputs)
    gatherByOr(t.data(), size_t(ds.samples) * t.sampleBytes());
  if (procs.rank != 0)
    return;
  std::string wrote;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = outputPath(o.output, m.outputs[i].name, outputs.size());
    if (std::string err = saveData(path, outputs[i]); !err.empty())
      runError(err);
    wrote += (i ? ", " : "") + m.outputs[i].name + " " + dtypeName(outputs[i].dtype()) +
             shapeString(outputs[i].shape()) + " to " + path;
  }
  std::printf("predicted %lld samples; wrote %s\n", static_cast<long long>(ds.samples),
              wrote.c_str());
}

} // namespace kiln::runtime
