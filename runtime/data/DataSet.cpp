#include "runtime/data/DataSet.h"

#include "runtime/Args.h"
#include "runtime/data/DataFiles.h"
#include "runtime/weights/Params.h"

namespace kiln::runtime {

DataSet loadDataSet(const Manifest &m, const DataFiles &files, bool withTargets) {
  DataSet ds;
  std::string firstPath;
  auto load = [&](const TensorSpec &spec, std::vector<Tensor> &into) {
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
    into.push_back(std::move(t.value));
  };
  for (const TensorSpec &s : m.inputs)
    load(s, ds.inputs);
  if (withTargets)
    for (const TensorSpec &s : m.targets)
      load(s, ds.targets);
  return ds;
}

std::vector<Tensor> loadWeights(const Manifest &m, const std::string &path) {
  Result<std::vector<Tensor>> params = loadParams(path, m.params);
  if (!params.ok())
    inputError(params.error);
  return std::move(params.value);
}

Tensor batchBuffer(const TensorSpec &spec, int64_t rows) {
  std::vector<int64_t> shape = spec.shape;
  shape[0] = rows;
  return Tensor(spec.dtype, shape);
}

std::vector<Tensor> batchBuffers(const std::vector<TensorSpec> &specs, int64_t rows) {
  std::vector<Tensor> buffers;
  for (const TensorSpec &s : specs)
    buffers.push_back(batchBuffer(s, rows));
  return buffers;
}

double scalarValue(const Tensor &t) {
  return t.dtype() == DType::F64 ? t.as<double>()[0] : double(t.as<float>()[0]);
}

std::vector<std::string> scalarNames(const Manifest &m) {
  std::vector<std::string> names;
  if (m.loss)
    names.push_back("loss");
  names.insert(names.end(), m.metrics.begin(), m.metrics.end());
  return names;
}

} // namespace kiln::runtime
