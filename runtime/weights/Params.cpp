#include "runtime/weights/Params.h"

#include "runtime/data/FileUtil.h"
#include "runtime/weights/Random.h"
#include "runtime/weights/Safetensors.h"

#include <set>

namespace kiln::runtime {

std::vector<Tensor> initParams(const std::vector<ParamSpec> &specs, uint64_t seed) {
  Rng rng(seed);
  std::vector<Tensor> values;
  for (const ParamSpec &p : specs) {
    Tensor t(p.dtype, p.shape);
    switch (p.init.kind) {
    case InitSpec::Kind::Zeros: fillConstant(t, 0); break;
    case InitSpec::Kind::Ones: fillConstant(t, 1); break;
    case InitSpec::Kind::Uniform: fillUniform(t, p.init.a, p.init.b, rng); break;
    case InitSpec::Kind::Normal: fillNormal(t, p.init.a, p.init.b, rng); break;
    }
    values.push_back(std::move(t));
  }
  return values;
}

Result<std::vector<Tensor>> loadParams(const std::string &path,
                                       const std::vector<ParamSpec> &specs) {
  using R = Result<std::vector<Tensor>>;
  Result<SafetensorsIndex> index = readSafetensorsIndex(path);
  if (!index.ok())
    return R::failure(index.error);
  std::set<std::string> expected;
  for (const ParamSpec &p : specs) {
    expected.insert(p.name);
    if (!index.value.find(p.name))
      return R::failure(path + ": missing tensor '" + p.name + "' (" +
                        dtypeName(p.dtype) + shapeString(p.shape) + ")");
  }
  for (const SafetensorsEntry &e : index.value.entries)
    if (!expected.count(e.name) && e.name.rfind(kOptimizerPrefix, 0) != 0)
      return R::failure(path + ": unexpected tensor '" + printable(e.name) +
                        "': the model has no such parameter");

  std::vector<Tensor> values;
  for (const ParamSpec &p : specs) {
    const SafetensorsEntry *e = index.value.find(p.name);
    if (e->shape != p.shape)
      return R::failure(path + ": tensor '" + p.name + "' has shape " +
                        shapeString(e->shape) + ", the model expects " +
                        shapeString(p.shape));
    if (e->dtype != safetensorsName(p.dtype))
      return R::failure(path + ": tensor '" + p.name + "' has dtype " + e->dtype +
                        ", the model expects " + safetensorsName(p.dtype));
    Result<Tensor> t = readSafetensor(index.value, *e);
    if (!t.ok())
      return R::failure(t.error);
    values.push_back(std::move(t.value));
  }
  return R::success(std::move(values));
}

std::string saveParams(const std::string &path, const std::vector<ParamSpec> &specs,
                       const std::vector<Tensor> &values) {
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < specs.size() && i < values.size(); ++i)
    named.push_back({specs[i].name, &values[i]});
  return writeSafetensors(path, named, {{"format", "pt"}});
}

} // namespace kiln::runtime
