#include "runtime/data/DataSet.h"

#include "runtime/Args.h"
#include "runtime/Signals.h"
#include "runtime/data/DataFiles.h"
#include "runtime/gpu/CudaRuntime.h"
#include "runtime/parallel/Mpi.h"
#include "runtime/weights/Params.h"

#include <algorithm>
#include <cstdio>
#include <type_traits>

namespace kiln::runtime {

namespace {

/// The first element of `t` outside [0, classes), or -1.
template <class T> int64_t firstOutside(const Tensor &t, int64_t classes, double &value) {
  const T *v = t.as<T>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    bool ok;
    if constexpr (std::is_floating_point_v<T>)
      ok = v[i] >= 0 && v[i] < T(classes) && v[i] == T(int64_t(v[i]));
    else
      ok = v[i] >= 0 && int64_t(v[i]) < classes;
    if (!ok) {
      value = double(v[i]);
      return i;
    }
  }
  return -1;
}

std::string valueText(double v, DType dtype) {
  char buf[48];
  if (isFloat(dtype))
    std::snprintf(buf, sizeof buf, "%.9g", v);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

} // namespace

void checkIndices(const TensorSpec &spec, const Tensor &t, const std::string &path,
                  const char *kind) {
  if (spec.classes <= 0)
    return;
  double value = 0;
  int64_t at = -1;
  switch (t.dtype()) {
  case DType::F32: at = firstOutside<float>(t, spec.classes, value); break;
  case DType::F64: at = firstOutside<double>(t, spec.classes, value); break;
  case DType::I32: at = firstOutside<int32_t>(t, spec.classes, value); break;
  case DType::I64: at = firstOutside<int64_t>(t, spec.classes, value); break;
  case DType::U8: at = firstOutside<uint8_t>(t, spec.classes, value); break;
  }
  if (at < 0)
    return;
  int64_t perSample = t.samples() > 0 ? t.numel() / t.samples() : 1;
  std::string where = "sample " + std::to_string(at / perSample);
  if (perSample > 1)
    where += ", element " + std::to_string(at % perSample);
  bool target = std::string(kind) == "target";
  inputError(path + ": " + where + " (0-based) holds " + valueText(value, t.dtype()) +
             ", not " + (target ? "a class index" : "an index") + " of the model's " +
             kind + " '" + spec.name + "', which takes 0 to " +
             std::to_string(spec.classes - 1) +
             (target ? " (" + std::to_string(spec.classes) + " classes)" : ""));
}

DataSet loadDataSet(const Manifest &m, const DataFiles &files, bool withTargets) {
  DataSet ds;
  std::string firstPath;
  auto load = [&](const TensorSpec &spec, std::vector<Tensor> &into, const char *kind) {
    const std::string &path = files.at(spec.name);
    Result<Tensor> t = loadData(path, spec.dtype, spec.sampleShape());
    if (!t.ok())
      inputError(t.error);
    if (t.value.samples() == 0)
      inputError(path + ": holds no samples");
    if (firstPath.empty()) {
      firstPath = path;
      ds.samples = t.value.samples();
    } else if (t.value.samples() != ds.samples) {
      inputError(firstPath + " has " + std::to_string(ds.samples) + " samples, but " +
                 path + " has " + std::to_string(t.value.samples()));
    }
    checkIndices(spec, t.value, path, kind);
    into.push_back(std::move(t.value));
  };
  for (const TensorSpec &s : m.inputs)
    load(s, ds.inputs, "input");
  if (withTargets)
    for (const TensorSpec &s : m.targets)
      load(s, ds.targets, "target");
  return ds;
}

std::vector<Tensor> loadWeights(const Manifest &m, const std::string &path) {
  Result<std::vector<Tensor>> params = loadParams(path, m.params);
  if (!params.ok())
    inputError(params.error);
  return std::move(params.value);
}

/// `spec`'s shape with `rows` samples.
static std::vector<int64_t> batchShape(const TensorSpec &spec, int64_t rows) {
  std::vector<int64_t> shape = spec.shape;
  shape[0] = rows;
  return shape;
}

Tensor batchBuffer(const TensorSpec &spec, int64_t rows, Tensor::Memory memory) {
  return Tensor(spec.dtype, batchShape(spec, rows), memory);
}

std::vector<Tensor> batchBuffers(const std::vector<TensorSpec> &specs, int64_t rows,
                                 Tensor::Memory memory) {
  std::vector<Tensor> buffers;
  for (const TensorSpec &s : specs)
    buffers.push_back(batchBuffer(s, rows, memory));
  return buffers;
}

std::vector<Tensor> hyperBuffers(const Manifest &m) {
  std::vector<Tensor> hyper;
  for (size_t i = 0; i < m.hyper.size(); ++i)
    hyper.emplace_back(DType::F64, std::vector<int64_t>{}, Tensor::Memory::Pinned);
  return hyper;
}

std::vector<Tensor> scalarBuffers(const Manifest &m) {
  std::vector<Tensor> scalars;
  for (size_t i = 0; i < scalarNames(m).size(); ++i)
    scalars.emplace_back(m.scalarDType, std::vector<int64_t>{}, Tensor::Memory::Pinned);
  return scalars;
}

std::vector<StagedTensor> stagedBatchBuffers(const std::vector<TensorSpec> &specs,
                                             int64_t rows) {
  std::vector<StagedTensor> buffers;
  for (const TensorSpec &s : specs)
    buffers.emplace_back(s.dtype, batchShape(s, rows));
  return buffers;
}

double scalarValue(const Tensor &t) {
  return t.dtype() == DType::F64 ? t.as<double>()[0] : double(t.as<float>()[0]);
}

bool evaluate(const Manifest &m, const EntryPoints &ep, const DataSet &ds,
              std::vector<Tensor> &params, int64_t batch, std::vector<double> &means,
              bool stoppable) {
  int64_t cap = std::min(batch, ds.samples);
  std::vector<StagedTensor> inBuf = stagedBatchBuffers(m.inputs, cap);
  std::vector<StagedTensor> tgtBuf = stagedBatchBuffers(m.targets, cap);
  std::vector<Tensor> scalars = scalarBuffers(m);
  std::vector<std::string> names = scalarNames(m);
  std::vector<double> sums(names.size(), 0.0);

  // Under mpirun the ranks take the batches in turn and sum their sums;
  // they then must not stop at different batches.
  const Processes &procs = processes();
  for (int64_t begin = cap * procs.rank; begin < ds.samples; begin += cap * procs.size) {
    if (stoppable && procs.size == 1 && stopRequested())
      return false;
    int64_t rows = std::min(cap, ds.samples - begin);
    std::vector<MemRef> descs;
    for (size_t i = 0; i < inBuf.size(); ++i) {
      copyRows(ds.inputs[i], begin, rows, inBuf[i].host());
      inBuf[i].upload(rows);
      descs.push_back(inBuf[i].view(rows));
    }
    for (size_t i = 0; i < tgtBuf.size(); ++i) {
      copyRows(ds.targets[i], begin, rows, tgtBuf[i].host());
      tgtBuf[i].upload(rows);
      descs.push_back(tgtBuf[i].view(rows));
    }
    for (Tensor &p : params)
      descs.push_back(MemRef::of(p));
    for (Tensor &s : scalars)
      descs.push_back(MemRef::of(s));
    std::vector<void *> args;
    for (MemRef &d : descs)
      args.push_back(d.descriptor());
    ep.loss(args.data());
    kiln_cuda_sync(); // a cuda call returns before its kernels finish
    for (size_t i = 0; i < scalars.size(); ++i)
      sums[i] += scalarValue(scalars[i]) * double(rows);
  }
  allReduceSum(sums.data(), int64_t(sums.size()));
  means.assign(names.size(), 0.0);
  for (size_t i = 0; i < names.size(); ++i)
    means[i] = sums[i] / double(ds.samples);
  return true;
}

std::vector<std::string> scalarNames(const Manifest &m) {
  std::vector<std::string> names;
  if (m.loss)
    names.push_back("loss");
  names.insert(names.end(), m.metrics.begin(), m.metrics.end());
  return names;
}

} // namespace kiln::runtime
