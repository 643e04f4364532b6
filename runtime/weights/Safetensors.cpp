#include "runtime/weights/Safetensors.h"

#include "runtime/data/FileUtil.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace kiln::runtime {

using nlohmann::json;

namespace {

/// Element sizes of every dtype the format defines.
bool dtypeBytes(const std::string &name, uint64_t &size) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  auto it = sizes.find(name);
  if (it == sizes.end())
    return false;
  size = it->second;
  return true;
}

bool readU64(const json &v, uint64_t &out) {
  if (!v.is_number_unsigned() &&
      !(v.is_number_integer() && v.get<int64_t>() >= 0))
    return false;
  out = v.get<uint64_t>();
  return true;
}

/// Checks one header entry; "" or what is wrong with it.
std::string parseEntry(const std::string &name, const json &v, SafetensorsEntry &e) {
  if (!v.is_object())
    return "expected an object";
  e.name = name;
  auto dt = v.find("dtype"), sh = v.find("shape"), off = v.find("data_offsets");
  if (dt == v.end() || sh == v.end() || off == v.end())
    return "needs dtype, shape and data_offsets";
  uint64_t elemSize;
  if (!dt->is_string() || !dtypeBytes(dt->get<std::string>(), elemSize))
    return "unknown dtype " + printable(dt->dump());
  e.dtype = dt->get<std::string>();
  if (!sh->is_array())
    return "shape: expected an array of sizes";
  for (const json &d : *sh) {
    uint64_t n;
    if (!readU64(d, n) || n > uint64_t(INT64_MAX))
      return "shape: expected an array of sizes";
    e.shape.push_back(int64_t(n));
  }
  if (!off->is_array() || off->size() != 2 || !readU64((*off)[0], e.begin) ||
      !readU64((*off)[1], e.end) || e.end < e.begin)
    return "data_offsets: expected [begin, end] with begin <= end";
  int64_t numel;
  if (!checkedNumel(e.shape, numel) || uint64_t(numel) > UINT64_MAX / 8)
    return "shape " + shapeString(e.shape) + " is too large";
  if (e.end - e.begin != uint64_t(numel) * elemSize)
    return "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
           "] hold " + std::to_string(e.end - e.begin) + " bytes, but " + e.dtype +
           shapeString(e.shape) + " needs " + std::to_string(uint64_t(numel) * elemSize);
  return "";
}

} // namespace

const SafetensorsEntry *SafetensorsIndex::find(const std::string &name) const {
  for (const SafetensorsEntry &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

bool safetensorsDType(const std::string &name, DType &out) {
  static const std::map<std::string, DType> map = {{"F32", DType::F32},
                                                   {"F64", DType::F64},
                                                   {"I32", DType::I32},
                                                   {"I64", DType::I64},
                                                   {"U8", DType::U8}};
  auto it = map.find(name);
  if (it == map.end())
    return false;
  out = it->second;
  return true;
}

const char *safetensorsName(DType t) {
  switch (t) {
  case DType::F32: return "F32";
  case DType::F64: return "F64";
  case DType::I32: return "I32";
  case DType::I64: return "I64";
  case DType::U8: return "U8";
  }
  return "?";
}

Result<SafetensorsIndex> readSafetensorsIndex(const std::string &path) {
  using R = Result<SafetensorsIndex>;
  std::string err;
  FilePtr f = openForReading(path, err);
  if (!f)
    return R::failure(err);
  uint64_t fileBytes = 0;
  fileSize(f.get(), fileBytes);
  unsigned char len[8];
  if (!readExactly(f.get(), len, 8))
    return R::failure(path + ": too short for a safetensors file (" +
                      std::to_string(fileBytes) + " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | len[i];
  // The header is JSON starting with '{' right after the length: anything
  // else (a text file, a PyTorch pickle) is not safetensors at all, whatever
  // its first 8 bytes say as a length.
  unsigned char open = 0;
  if (fileBytes <= 8 || !readExactly(f.get(), &open, 1) || open != '{')
    return R::failure(path + ": not a safetensors file (it does not start with an "
                             "8-byte header length and a JSON header)");
  if (n > fileBytes - 8)
    return R::failure(path + ": header length " + std::to_string(n) +
                      " is past the end of the file (" + std::to_string(fileBytes) +
                      " bytes)");
  if (n > kMaxSafetensorsHeader)
    return R::failure(path + ": header length " + std::to_string(n) +
                      " is over the 100 MB limit");
  std::string header(n, '\0');
  if (n > 0)
    header[0] = char(open);
  if (n > 1 && !readExactly(f.get(), header.data() + 1, n - 1))
    return R::failure(errnoMessage(path, "read error"));
  if (header.empty() || header[0] != '{')
    return R::failure(path + ": not a safetensors file (the header is not a JSON object)");
  json j = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return R::failure(path + ": invalid JSON in the header");

  SafetensorsIndex index;
  index.path = path;
  index.dataStart = 8 + n;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object())
        return R::failure(path + ": __metadata__ must map strings to strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          return R::failure(path + ": __metadata__ must map strings to strings");
        index.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e;
    if (std::string what = parseEntry(it.key(), *it, e); !what.empty())
      return R::failure(path + ": tensor '" + printable(it.key()) + "': " + what);
    index.entries.push_back(std::move(e));
  }
  // The data must tile the buffer: sorted by offset, each starts where the
  // previous one ended, and the last ends at the end of the file.
  std::sort(index.entries.begin(), index.entries.end(),
            [](const SafetensorsEntry &a, const SafetensorsEntry &b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t bufferBytes = fileBytes - index.dataStart, at = 0;
  for (const SafetensorsEntry &e : index.entries) {
    if (e.begin != at)
      return R::failure(path + ": tensor '" + printable(e.name) + "': data_offsets [" +
                        std::to_string(e.begin) + ", " + std::to_string(e.end) + "] " +
                        (e.begin < at ? "overlap the previous tensor"
                                      : "leave a gap after the previous tensor"));
    if (e.end > bufferBytes)
      return R::failure(path + ": tensor '" + printable(e.name) + "': data_offsets [" +
                        std::to_string(e.begin) + ", " + std::to_string(e.end) +
                        "] are out of range: the data buffer holds " +
                        std::to_string(bufferBytes) + " bytes");
    at = e.end;
  }
  if (at != bufferBytes)
    return R::failure(path + ": the tensors cover " + std::to_string(at) +
                      " bytes, but the data buffer holds " +
                      std::to_string(bufferBytes));
  return R::success(std::move(index));
}

Result<Tensor> readSafetensor(const SafetensorsIndex &index,
                              const SafetensorsEntry &entry) {
  using R = Result<Tensor>;
  DType dtype;
  if (!safetensorsDType(entry.dtype, dtype))
    return R::failure(index.path + ": tensor '" + printable(entry.name) + "' has dtype " +
                      entry.dtype + ", which no model uses");
  std::string err;
  FilePtr f = openForReading(index.path, err);
  if (!f)
    return R::failure(err);
  Tensor t(dtype, entry.shape); // its size was checked against the file
  if (fseeko(f.get(), off_t(index.dataStart + entry.begin), SEEK_SET) != 0 ||
      !readExactly(f.get(), t.data(), t.bytes()))
    return R::failure(index.path + ": tensor '" + printable(entry.name) +
                      "': read failed (was the file changed while reading?)");
  return R::success(std::move(t));
}

std::string writeSafetensors(const std::string &path,
                             const std::vector<NamedTensor> &tensors,
                             const std::map<std::string, std::string> &metadata) {
  json header = json::object();
  uint64_t at = 0;
  for (const NamedTensor &nt : tensors) {
    if (nt.name == "__metadata__" || header.contains(nt.name))
      return path + ": cannot write tensor name '" + nt.name + "' (reserved or twice)";
    header[nt.name] = {{"dtype", safetensorsName(nt.tensor->dtype())},
                       {"shape", nt.tensor->shape()},
                       {"data_offsets", {at, at + nt.tensor->bytes()}}};
    at += nt.tensor->bytes();
  }
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' '); // the data starts 8-byte aligned
  return writeFileAtomically(path, [&](FILE *f) -> std::string {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
      len[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));
    bool ok = std::fwrite(len, 1, 8, f) == 8 &&
              std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (size_t i = 0; ok && i < tensors.size(); ++i)
      ok = std::fwrite(tensors[i].tensor->data(), 1, tensors[i].tensor->bytes(), f) ==
           tensors[i].tensor->bytes();
    return ok ? "" : errnoMessage(path, "write failed");
  });
}

} // namespace kiln::runtime
