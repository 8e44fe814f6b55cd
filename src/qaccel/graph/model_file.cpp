#include "qaccel/graph/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <set>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/graph/json_field.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/graph/packed_weights.h"
#include "qaccel/graph/quant_params_check.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/onnx/onnx_io.h"

namespace qaccel {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kMagic[8] = {'Q', 'A', 'C', 'C', 'E', 'L', 'M', 'F'};

}  // namespace

json QuantToJson(const QuantParams& q) {
  json j{{"act_bits", q.act_bits}, {"out_scale", q.out_scale}, {"out_zero_point", q.out_zero_point},
         {"act_min", q.act_min},   {"act_max", q.act_max},     {"observer", q.observer}};
  // Weight fields only where a layer has weights, folded_into only where set:
  // empty fields are left out (the loader defaults them) to keep headers small.
  if (!q.weight_scheme.empty() || !q.weight_scale.empty() || !q.multiplier.empty()) {
    j["weight_bits"] = q.weight_bits;
    j["weight_scheme"] = q.weight_scheme;
    j["weight_scale"] = q.weight_scale;
    j["weight_zero_point"] = q.weight_zero_point;
    j["multiplier"] = q.multiplier;
    j["shift"] = q.shift;
  }
  if (!q.folded_into.empty()) j["folded_into"] = q.folded_into;
  return j;
}

QuantParams QuantFromJson(const json& j, const std::string& where) {
  QuantParams q;
  q.quantized = true;
  q.act_bits = Field<int>(j, "act_bits", where);
  q.out_scale = Field<float>(j, "out_scale", where);
  q.out_zero_point = Field<int32_t>(j, "out_zero_point", where);
  q.act_min = Field<int32_t>(j, "act_min", where);
  q.act_max = Field<int32_t>(j, "act_max", where);
  // Weight fields are absent on layers without weights (see QuantToJson).
  if (j.contains("weight_bits")) q.weight_bits = Field<int>(j, "weight_bits", where);
  if (j.contains("weight_scheme")) q.weight_scheme = Field<std::string>(j, "weight_scheme", where);
  if (j.contains("weight_scale"))
    q.weight_scale = Field<std::vector<float>>(j, "weight_scale", where);
  if (j.contains("weight_zero_point"))
    q.weight_zero_point = Field<std::vector<int32_t>>(j, "weight_zero_point", where);
  if (j.contains("multiplier")) q.multiplier = Field<std::vector<int32_t>>(j, "multiplier", where);
  if (j.contains("shift")) q.shift = Field<std::vector<int32_t>>(j, "shift", where);
  q.observer = OptionalField<std::string>(j, "observer", where, "");
  q.folded_into = OptionalField<std::string>(j, "folded_into", where, "");
  Check(std::isfinite(q.out_scale) && q.out_scale > 0, where + ": out_scale must be positive");
  return q;
}

json LayerToJson(const Layer& l) {
  json j{{"name", l.name},
         {"kind", OpKindName(l.kind)},
         {"inputs", l.inputs},
         {"out_shape", l.out_shape}};
  const OpDef& def = FindOp(l.kind);
  if (def.save_attrs) def.save_attrs(l, j);
  if (l.quant.quantized) j["quant"] = QuantToJson(l.quant);
  return j;
}

namespace {

// Lays tensors out in the blob (each padded to 16 bytes) and returns the
// header entry that refers to one: {"dtype", "shape", "offset", "nbytes"}.
class BlobWriter {
 public:
  json Add(const Tensor& t) {
    json ref = {{"dtype", DTypeName(t.dtype())},
                {"shape", t.shape()},
                {"offset", offset_},
                {"nbytes", t.nbytes()}};
    offset_ += (t.nbytes() + 15) / 16 * 16;
    tensors_.push_back(&t);
    return ref;
  }
  const std::vector<const Tensor*>& tensors() const { return tensors_; }

 private:
  uint64_t offset_ = 0;
  std::vector<const Tensor*> tensors_;
};

// Runs f(); an Error it throws is rethrown with `where` in front (for
// helpers such as ParseOpKind whose messages do not know the file).
template <typename F>
auto Prefixed(const std::string& where, F f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

// Bytes of a tensor of `dt` and `shape`, or an Error naming `where` for a
// negative dimension or a size past 2^64 (checked before anything is allocated).
uint64_t DeclaredBytes(DType dt, const Shape& shape, const std::string& where) {
  uint64_t n = DTypeSize(dt);
  for (int64_t d : shape) {
    if (d < 0) throw Error(where + ".shape: negative dimension in " + ShapeToString(shape));
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      throw Error(where + ".shape: " + ShapeToString(shape) + " has more than 2^64 bytes");
  }
  return n;
}

// Reads the tensor a blob reference points at; errors name `where`. Every
// declared size is checked against the bytes the file holds before the
// tensor is allocated, so a tensor is never larger than the file (itself at
// most kMaxInputBytes); the range check cannot wrap (off and nb are
// compared to the blob size separately).
Tensor ReadBlobTensor(const json& ref, const std::vector<uint8_t>& file, size_t blob_start,
                      const std::string& where) {
  const std::string dtype = Field<std::string>(ref, "dtype", where);
  const DType dt = Prefixed(where + ".dtype", [&] { return ParseDType(dtype); });
  const Shape shape = Field<Shape>(ref, "shape", where);
  const uint64_t off = Field<uint64_t>(ref, "offset", where);
  const uint64_t nb = Field<uint64_t>(ref, "nbytes", where);
  const int packed_bits = ref.contains("packed_bits") ? Field<int>(ref, "packed_bits", where) : 0;
  if (ref.contains("packed_bits")) {
    Check(packed_bits >= 1 && packed_bits <= 7 && dt == DType::kI8,
          where + ".packed_bits: " + std::to_string(packed_bits) +
              " is not a packed int8 width (1..7 bits, dtype i8)");
  }
  const uint64_t want = packed_bits ? PackedBytes(DeclaredBytes(dt, shape, where), packed_bits)
                                    : DeclaredBytes(dt, shape, where);
  Check(nb == want, where + ": nbytes " + std::to_string(nb) + " does not match shape " +
                        ShapeToString(shape) +
                        (packed_bits ? " at packed_bits " + std::to_string(packed_bits) : ""));
  const uint64_t blob_size = file.size() > blob_start ? file.size() - blob_start : 0;
  Check(off <= blob_size && nb <= blob_size - off,
        where + ": data [offset " + std::to_string(off) + ", +" + std::to_string(nb) +
            " bytes) beyond the end of the file's " + std::to_string(blob_size) +
            "-byte tensor data (truncated or corrupt?)");
  Tensor t(dt, shape);
  if (packed_bits) {
    std::vector<int8_t> v = UnpackWeights(file.data() + blob_start + off,
                                          static_cast<uint64_t>(t.numel()), packed_bits, where);
    if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size());
    return t;
  }
  if (nb) std::memcpy(t.raw(), file.data() + blob_start + off, nb);
  return t;
}

}  // namespace

void SaveModel(const Graph& g, const fs::path& path) {
  AtomicWriteStream(path, [&](std::ostream& os) { WriteModel(g, os); });
}

void WriteModel(const Graph& g, std::ostream& os) {
  Graph checked = g;
  checked.InferShapes();
  json layers = json::array();
  BlobWriter blob;
  std::deque<Tensor> quant_tensors;  // owns the quant vectors' tensors until written
  for (const Layer& l : checked.layers) {
    json lj = LayerToJson(l);
    // Per-channel quantization vectors go into the blob as typed arrays (a
    // JSON list of 120 multipliers costs ~4x their binary size, enough to
    // push an int8 LeNet-5 file past 30% of the fp32 one).
    if (l.quant.quantized) {
      auto to_blob = [&](const char* field, Tensor t) {
        if (t.numel() <= 1) return;
        quant_tensors.push_back(std::move(t));
        lj["quant"][field] = blob.Add(quant_tensors.back());
      };
      const QuantParams& q = l.quant;
      auto n = [](const auto& v) { return Shape{static_cast<int64_t>(v.size())}; };
      to_blob("weight_scale", Tensor::From<float>(n(q.weight_scale), q.weight_scale));
      to_blob("weight_zero_point",
              Tensor::From<int32_t>(n(q.weight_zero_point), q.weight_zero_point));
      to_blob("multiplier", Tensor::From<int32_t>(n(q.multiplier), q.multiplier));
      to_blob("shift", Tensor::From<int32_t>(n(q.shift), q.shift));
    }
    json params = json::object();
    for (auto& [pname, t] : l.params) {
      // Sub-8-bit weights are stored packed (packed_weights.h): the reference
      // keeps dtype i8 and the shape, nbytes is the packed size, packed_bits n.
      if (pname == "weight" && l.quant.quantized && l.quant.weight_bits < 8 &&
          t.dtype() == DType::kI8) {
        const int bits = l.quant.weight_bits;
        std::vector<uint8_t> packed =
            PackWeights(t.data<int8_t>().data(), static_cast<uint64_t>(t.numel()), bits,
                        "layer '" + l.name + "' weight");
        quant_tensors.push_back(
            Tensor::From<uint8_t>({static_cast<int64_t>(packed.size())}, packed));
        json ref = blob.Add(quant_tensors.back());
        ref["dtype"] = "i8";
        ref["shape"] = t.shape();
        ref["packed_bits"] = bits;
        params[pname] = ref;
        continue;
      }
      params[pname] = blob.Add(t);
    }
    if (!params.empty()) lj["params"] = params;
    layers.push_back(lj);
  }
  json header{{"format", "qaccel-model"},
              {"version", kModelFormatVersion},
              {"name", g.name},
              {"metadata", g.metadata},
              {"input_transform", InputTransformToJson(g.input_transform)},
              {"layers", layers}};
  std::string hs = header.dump();
  os.write(kMagic, 8);
  uint32_t v = kModelFormatVersion, r = 0;
  uint64_t h = hs.size();
  os.write(reinterpret_cast<const char*>(&v), 4);
  os.write(reinterpret_cast<const char*>(&r), 4);
  os.write(reinterpret_cast<const char*>(&h), 8);
  os.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  static const char zeros[16] = {};
  size_t pos = 24 + hs.size();
  os.write(zeros, static_cast<std::streamsize>((16 - pos % 16) % 16));
  for (const Tensor* t : blob.tensors()) {
    os.write(static_cast<const char*>(t->raw()), static_cast<std::streamsize>(t->nbytes()));
    os.write(zeros, static_cast<std::streamsize>((16 - t->nbytes() % 16) % 16));
  }
}

bool IsModelFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  char magic[8] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(magic, 8) && std::memcmp(magic, kMagic, 8) == 0;
}

namespace {

// Checks the fixed 24-byte prefix and parses the JSON header; sets blob_start.
json ParseHeader(const std::vector<uint8_t>& b, const std::string& file, size_t& blob_start) {
  Check(b.size() >= 24 && std::memcmp(b.data(), kMagic, 8) == 0,
        file +
            ": not a qaccel model file (bad magic; expected a file written by qaccel "
            "train/quantize, or a zoo name)");
  uint32_t version;
  uint64_t hlen;
  std::memcpy(&version, b.data() + 8, 4);
  std::memcpy(&hlen, b.data() + 16, 8);
  Check(version == kModelFormatVersion, file + ": model format version " + std::to_string(version) +
                                            " is not supported (this "
                                            "qaccel reads version " +
                                            std::to_string(kModelFormatVersion) + ")");
  Check(hlen <= b.size() - 24, file + ": truncated (header length beyond end of file)");
  blob_start = (24 + hlen + 15) / 16 * 16;
  try {
    return json::parse(b.begin() + 24, b.begin() + 24 + static_cast<int64_t>(hlen));
  } catch (const json::exception& e) {
    throw Error(file + ": corrupt JSON header: " + e.what());
  }
}

// Every integer attribute of a layer and every dimension of its declared
// input shape must lie in [0, kMaxModelDimension] (model_file.h), so shape
// arithmetic on them (in + 2 * pad - kernel, ...) cannot overflow int64.
void CheckDimensions(const Layer& l, const std::string& where) {
  const std::pair<const char*, int64_t> attrs[] = {
      {"in_channels", l.in_channels}, {"out_channels", l.out_channels}, {"kernel", l.kernel_h},
      {"kernel", l.kernel_w},         {"stride", l.stride_h},           {"stride", l.stride_w},
      {"padding", l.pad_h},           {"padding", l.pad_w},             {"groups", l.groups}};
  for (const auto& [field, v] : attrs)
    Check(v >= 0 && v <= kMaxModelDimension,
          where + "." + field + ": " + std::to_string(v) + " is outside [0, " +
              std::to_string(kMaxModelDimension) + "] (kMaxModelDimension)");
  for (int64_t d : l.out_shape)
    Check(d >= 0 && d <= kMaxModelDimension,
          where + ".out_shape: dimension " + std::to_string(d) + " is outside [0, " +
              std::to_string(kMaxModelDimension) + "] (kMaxModelDimension)");
}

// The quant vectors stored in the blob, read back into the JSON lists
// QuantFromJson expects.
json ResolveQuantBlobs(json qj, const std::vector<uint8_t>& b, size_t blob_start,
                       const std::string& where) {
  for (const char* field : {"weight_scale", "weight_zero_point", "multiplier", "shift"}) {
    if (!qj.contains(field) || !qj[field].is_object()) continue;
    const std::string pw = where + ".quant." + field;
    Tensor t = ReadBlobTensor(qj[field], b, blob_start, pw);
    Check(t.rank() == 1, pw + ": must be a vector");
    if (t.dtype() == DType::kF32)
      qj[field] = std::vector<float>(t.data<float>().begin(), t.data<float>().end());
    else if (t.dtype() == DType::kI32)
      qj[field] = std::vector<int32_t>(t.data<int32_t>().begin(), t.data<int32_t>().end());
    else
      throw Error(pw + ": dtype must be f32 or i32");
  }
  return qj;
}

// `index_where` is "<file>: layers[i]"; once the name is read, errors say
// "<file>: layers[i] ('name')".
Layer LoadLayer(const json& lj, const std::vector<uint8_t>& b, size_t blob_start,
                const std::string& index_where) {
  Check(lj.is_object(), index_where + ": must be a JSON object");
  Layer l;
  l.name = Field<std::string>(lj, "name", index_where);
  const std::string where = index_where + " ('" + l.name + "')";
  const std::string kind = Field<std::string>(lj, "kind", where);
  l.kind = Prefixed(where + ".kind", [&] { return ParseOpKind(kind); });
  l.inputs = Field<std::vector<int>>(lj, "inputs", where);
  const OpDef& def = FindOp(l.kind);
  if (def.load_attrs) def.load_attrs(l, lj, where);
  CheckDimensions(l, where);
  if (lj.contains("quant")) {
    Check(lj["quant"].is_object(), where + ".quant: must be a JSON object");
    l.quant = QuantFromJson(ResolveQuantBlobs(lj["quant"], b, blob_start, where), where + ".quant");
  }
  if (lj.contains("params")) {
    Check(lj["params"].is_object(), where + ".params: must be a JSON object");
    for (auto& [pname, pj] : lj["params"].items()) {
      l.params.emplace(pname, ReadBlobTensor(pj, b, blob_start, where + ".params." + pname));
      if (pj.is_object() && pj.contains("packed_bits"))
        Check(l.quant.quantized && pj["packed_bits"] == l.quant.weight_bits,
              where + ".params." + pname + ".packed_bits " + pj["packed_bits"].dump() +
                  " differs from the layer's weight_bits " + std::to_string(l.quant.weight_bits));
    }
  }
  return l;
}

}  // namespace

Graph LoadModel(const fs::path& path) {
  if (onnxio::IsOnnxPath(path)) return onnxio::ImportOnnxFile(path);  // docs/interop.md
  return ParseModel(ReadBinaryFile(path), path.string());
}

// Every error starts with the file's name, then the layer and field.
Graph ParseModel(const std::vector<uint8_t>& b, const std::string& file) {
  size_t blob_start = 0;
  const json header = ParseHeader(b, file, blob_start);
  Check(Field<std::string>(header, "format", file) == "qaccel-model",
        file + ": field 'format' is not qaccel-model");
  Graph g;
  g.name = Field<std::string>(header, "name", file);
  if (header.contains("metadata")) {
    Check(header["metadata"].is_object(), file + ": field 'metadata' must be a JSON object");
    g.metadata = header["metadata"];
  }
  // Files written before the transform was a graph attribute use the default.
  if (header.contains("input_transform"))
    g.input_transform =
        InputTransformFromJson(header["input_transform"], file + ": input_transform");
  const json& layers = header.contains("layers") ? header["layers"] : json();
  Check(layers.is_array() && !layers.empty(), file + ": field 'layers' missing or empty");
  std::set<std::string> names;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = file + ": layers[" + std::to_string(i) + "]";
    g.layers.push_back(LoadLayer(layers[i], b, blob_start, where));
    Check(names.insert(g.layers.back().name).second,
          where + ".name: duplicate layer name '" + g.layers.back().name + "'");
  }
  Prefixed(file, [&] { g.InferShapes(); });
  // A model carries all of its parameters or none (a topology-only model):
  // half a set of weights is a damaged file, refused here rather than by
  // whichever command first needs the missing tensor.
  if (std::any_of(g.layers.begin(), g.layers.end(), [](const Layer& l) { return !l.params.empty(); }))
    Prefixed(file, [&] { g.ValidateParameters(); });
  for (size_t i = 0; i < g.layers.size(); ++i)
    if (g.layers[i].quant.quantized)
      CheckQuantParams(g.layers[i], file + ": layers[" + std::to_string(i) + "] ('" +
                                        g.layers[i].name + "').quant");
  return g;
}

Graph LoadModelOrZoo(const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) return LoadModel(spec);
  if (IsZooModel(spec)) return BuildZooModel(spec);
  std::string names;
  for (auto& n : ZooModelNames()) names += (names.empty() ? "" : ", ") + n;
  throw Error(spec + ": no such model file, and not a zoo model (zoo: " + names + ")");
}

}  // namespace qaccel
