// Parameter files + manifest for hardware (see export.h).
#include "qaccel/export/export.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/graph/packed_weights.h"
#include "qaccel/kernels/reference/numeric_contract.h"

namespace qaccel::exporter {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string FloatText(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

template <typename T>
std::string JoinInts(const std::vector<T>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
  return os.str();
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  Check(static_cast<bool>(f), p.string() + ": write failed (disk full or no permission?)");
}

std::string LayoutOf(const Shape& s) {
  if (s.size() == 3) return "CHW";
  if (s.size() == 1) return "F";
  return "row-major";
}

const Layer& Producer(const Graph& g, const Layer& l, size_t k = 0) {
  return g.layers[static_cast<size_t>(l.inputs.at(k))];
}

json NumericContract() {
  return {
      {"quantization", "real = scale * (q - zero_point)"},
      {"integer_division",
       "C semantics: '/' on integers truncates toward zero; '>>' is an arithmetic shift"},
      {"SaturatingRoundingDoublingHighMul(a, b)",
       "int32 a, b: if a == b == -2^31 return 2^31 - 1; p = int64(a) * int64(b); nudge = p >= 0 ? "
       "2^30 : 1 - "
       "2^30; return int32((p + nudge) / 2^31)  (a*b / 2^31 to nearest, ties toward +infinity)"},
      {"RoundingDivideByPOT(x, e)",
       "e == 0: x; else mask = 2^e - 1; rem = x & mask; threshold = (mask >> 1) + (x < 0 ? 1 : 0); "
       "return (x >> e) + (rem > threshold ? 1 : 0)  (x / 2^e rounded half away from zero)"},
      {"SaturatingLeftShift(x, e)", "clamp(int64(x) * 2^e, -2^31, 2^31 - 1); e == 0 returns x"},
      {"MultiplyByQuantizedMultiplier(x, M, shift)",
       "RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(SaturatingLeftShift(x, max(shift, "
       "0)), M), "
       "max(-shift, 0))  (x * M * 2^(shift - 31))"},
      {"RoundingDivide(s, n)",
       "s >= 0 ? (s + n/2) / n : -((-s + n/2) / n)  (half away from zero, n > 0)"},
      {"clamp(v, lo, hi)", "min(max(v, lo), hi), evaluated in int64"},
      {"multiplier_meaning",
       "real multiplier = M * 2^(shift - 31); M is Q31 in [2^30, 2^31) (or 0)"},
      {"accumulator", "int32; |(q_in - zp_in) * (q_w - zp_w)| <= 65025; K <= " +
                          std::to_string(kernels::kMaxAccumulationDepth) +
                          " and |bias| checked, so no overflow"},
      {"accumulator_bound_per_width",
       {{"w8a8", kernels::MaxProductMagnitudeFor(8, 8)},
        {"w4a4", kernels::MaxProductMagnitudeFor(4, 4)},
        {"w2a8", kernels::MaxProductMagnitudeFor(2, 8)},
        {"w1a8", kernels::MaxProductMagnitudeFor(1, 8)},
        {"rule",
         "|product| <= (2^a - 1) * (n == 1 ? 1 : 2^(n-1) - 1) for a-bit activations "
         "and n-bit symmetric / binary weights"}}},
      {"packed_weights",
       "weights of fewer than 8 bits (layer weight.dtype 'packed'): element i (row-major) occupies "
       "bits [i*n, i*n + n) of the file's byte stream, byte (i*n) / 8 from bit (i*n) % 8 upward, "
       "least significant bit first (a field may straddle two bytes; unused high bits of the last "
       "byte are 0). n = 1: bit 1 = +1, bit 0 = -1. n = 2..7: the value's n-bit two's complement. "
       "The files hold the packed bytes (txt: one byte per line as an unsigned decimal 0..255; "
       "hex: two digits per line; bin: raw)."},
      {"binary_accumulation",
       "weight_bits 1 (weights in {-1, +1}, zero point 0): acc = bias + 2 * sum_{k: w[k] = +1} "
       "(a[k] - zp_in) - sum_k (a[k] - zp_in), equal to sum_k w[k] * (a[k] - zp_in); the "
       "multiplier folds alpha[o] * s_in / s_out (weight_scale[o] is alpha[o] = mean "
       "|w_float[o]|)"},
      {"activation_bits",
       "an edge of act_bits a < 8 holds q in [-128, -128 + 2^a - 1] (act_max), stored as int8"},
      {"add_left_shift", kernels::kAddLeftShift},
  };
}

}  // namespace

std::string HexInt8(int8_t v) {
  char b[8];
  std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(static_cast<uint8_t>(v)));
  return b;
}

std::string HexInt32(int32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", static_cast<unsigned>(static_cast<uint32_t>(v)));
  return b;
}

namespace {

// One layer's manifest record: what every layer has, then its op's own
// fields (attributes, weights, and "integer_ops", the exact integer
// operations in order).
json LayerRecord(const Graph& g, const Layer& l) {
  const QuantParams& q = l.quant;
  json lj{{"name", l.name},
          {"kind", OpKindName(l.kind)},
          {"inputs", json::array()},
          {"out_shape", l.out_shape},
          {"out_layout", LayoutOf(l.out_shape)},
          {"out_dtype", "i8"},
          {"output_scale", q.out_scale},
          {"output_zero_point", q.out_zero_point},
          {"act_min", q.act_min},
          {"act_max", q.act_max},
          {"scale_zero_file", l.name + "_scale_zero.txt"},
          {"integer_ops", json::array()}};
  for (size_t k = 0; k < l.inputs.size(); ++k) lj["inputs"].push_back(Producer(g, l, k).name);
  if (!l.inputs.empty()) {
    lj["input_scale"] = Producer(g, l).quant.out_scale;
    lj["input_zero_point"] = Producer(g, l).quant.out_zero_point;
  }
  const OpDef& def = FindOp(l.kind);
  if (def.export_record) lj.update(def.export_record(g, l));
  return lj;
}

}  // namespace

json BuildManifest(const Graph& g, const ExportOptions& opt) {
  json layers = json::array();
  for (const Layer& l : g.layers) layers.push_back(LayerRecord(g, l));
  const Layer& out = g.layers.back();
  const Layer& in = g.layers.front();
  return json{
      {"format", "qaccel-export"},
      {"version", 1},
      {"model", g.name},
      {"source_model", opt.source_model},
      {"file_format", opt.format},
      {"command", opt.command_line},
      {"qaccel_version", QACCEL_VERSION},
      {"model_format_version", kModelFormatVersion},
      {"metadata", g.metadata},
      {"file_encodings",
       {{"txt", "decimal integers, one value per line, in the tensor's layout order"},
        {"hex",
         "two's complement, lowercase, no prefix, one value per line: 2 digits for i8, 8 for i32 "
         "(Verilog $readmemh)"},
        {"bin", "raw little-endian: 1 byte per i8, 4 bytes per i32, no header"},
        {"scale_zero_txt",
         "'key value [value ...]' lines; scales as %.9g floats (informational), integers exact"}}},
      {"input",
       {{"layer", in.name},
        {"shape", in.out_shape},
        {"layout", LayoutOf(in.out_shape)},
        {"pixel_dtype", DTypeName(g.input_transform.dtype)},
        {"transform", InputTransformToJson(g.input_transform)},
        {"scale", in.quant.out_scale},
        {"zero_point", in.quant.out_zero_point},
        {"quantize", g.input_transform.IsDefault()
                         ? "q = pixel - 128 (int8), i.e. real = pixel / 255"
                         : "real = (pixel * transform.scale - transform.mean[c]) / "
                           "transform.std[c]; q = clamp(round_half_away(real / scale) + "
                           "zero_point, -128, 127)"}}},
      {"output",
       {{"layer", out.name},
        {"shape", out.out_shape},
        {"scale", out.quant.out_scale},
        {"zero_point", out.quant.out_zero_point},
        {"dequantize",
         "logit = scale * (q - zero_point); the class is argmax over q (first on ties)"}}},
      {"execution",
       "layers in the listed order; every layer reads the outputs of the layers named in 'inputs' "
       "(one sample at a time; all activations int8)"},
      {"numeric_contract", NumericContract()},
      {"layers", layers},
  };
}

namespace {

// <layer>_scale_zero.txt: 'key value [value ...]' lines.
std::string ScaleZeroText(const Graph& g, const Layer& l) {
  const QuantParams& q = l.quant;
  std::ostringstream sz;
  sz << "layer " << l.name << "\nkind " << OpKindName(l.kind) << "\n";
  if (!l.inputs.empty())
    sz << "input_scale " << FloatText(Producer(g, l).quant.out_scale) << "\ninput_zero_point "
       << Producer(g, l).quant.out_zero_point << "\n";
  if (!q.weight_scheme.empty()) {
    sz << "weight_scheme " << q.weight_scheme << "\nweight_scale";
    for (float s : q.weight_scale) sz << " " << FloatText(s);
    sz << "\nweight_zero_point " << JoinInts(q.weight_zero_point) << "\n";
  }
  sz << "output_scale " << FloatText(q.out_scale) << "\noutput_zero_point " << q.out_zero_point
     << "\n";
  if (!q.multiplier.empty())
    sz << "multiplier " << JoinInts(q.multiplier) << "\nshift " << JoinInts(q.shift) << "\n";
  sz << "act_min " << q.act_min << "\nact_max " << q.act_max << "\n";
  return sz.str();
}

// Weight, bias (and, for hex / bin, multiplier and shift) files of a layer
// with an int8 "weight", in `format`.
void WriteParameterFiles(const Layer& l, const std::string& format, const fs::path& dir) {
  const QuantParams& q = l.quant;
  auto emit_i32 = [&](const std::string& stem, const int32_t* v, size_t n) {
    std::string s;
    if (format == "txt") {
      for (size_t i = 0; i < n; ++i) s += std::to_string(v[i]) + "\n";
    } else if (format == "hex") {
      for (size_t i = 0; i < n; ++i) s += HexInt32(v[i]) + "\n";
    } else {
      for (size_t i = 0; i < n; ++i) {
        const uint32_t u = static_cast<uint32_t>(v[i]);
        for (int b = 0; b < 4; ++b) s.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
      }
    }
    WriteFile(dir / (l.name + "." + stem + "." + format), s);
  };
  // Sub-8-bit weights go out packed (the manifest's numeric_contract.packed_weights);
  // the bytes are written like int8 values, as unsigned decimals in txt.
  const auto wv = l.params.at("weight").data<int8_t>();
  std::vector<int8_t> bytes(wv.begin(), wv.end());
  const bool packed = q.weight_bits < 8;
  if (packed) {
    const std::vector<uint8_t> p =
        PackWeights(wv.data(), wv.size(), q.weight_bits, "layer '" + l.name + "'");
    bytes.assign(p.begin(), p.end());
  }
  std::string ws;
  for (int8_t v : bytes) {
    if (format == "txt")
      ws += std::to_string(packed ? static_cast<int>(static_cast<uint8_t>(v)) : v) + "\n";
    else if (format == "hex")
      ws += HexInt8(v) + "\n";
    else
      ws.push_back(static_cast<char>(v));
  }
  WriteFile(dir / (l.name + ".weight." + format), ws);
  if (l.params.count("bias"))
    emit_i32("bias", l.params.at("bias").data<int32_t>().data(),
             static_cast<size_t>(l.out_channels));
  if (format != "txt") {
    emit_i32("multiplier", q.multiplier.data(), q.multiplier.size());
    emit_i32("shift", q.shift.data(), q.shift.size());
  }
}

}  // namespace

void ExportModel(const Graph& g, const fs::path& dir, const ExportOptions& opt) {
  Check(opt.format == "txt" || opt.format == "hex" || opt.format == "bin",
        "unknown export format '" + opt.format + "' (choose txt, hex or bin)");
  Check(g.quantized(), "model '" + g.name +
                           "' is not quantized; export writes integer parameters "
                           "(run qaccel quantize first)");
  for (const Layer& l : g.layers) {
    Check(l.quant.quantized, "layer '" + l.name + "' has no quantization parameters");
    Check(!l.name.empty() && l.name.find_first_of("/\\") == std::string::npos && l.name != "." &&
              l.name != "..",
          "layer name '" + l.name + "' cannot be used in a file name (no '/' or '\\')");
  }
  std::set<std::string> names;
  for (const Layer& l : g.layers)
    Check(names.insert(l.name).second, "two layers are named '" + l.name +
                                           "'; their parameter files would overwrite each other");
  // Replacing the output directory must never take the input model, or a
  // directory qaccel export did not write, with it.
  CheckReplaceableOutputDir(dir, "manifest.json", "\"model_format_version\"",
                            {fs::path(opt.source_model)});
  json manifest = BuildManifest(g, opt);
  if (json ex = engine::ExitsManifest(g); !ex.is_null()) manifest["exits"] = ex;  // docs/exits.md
  AtomicWriteDirectory(dir, [&](const fs::path& tmp) {
    for (const Layer& l : g.layers) {
      WriteFile(tmp / (l.name + "_scale_zero.txt"), ScaleZeroText(g, l));
      if (l.params.count("weight")) WriteParameterFiles(l, opt.format, tmp);
    }
    WriteFile(tmp / "manifest.json", manifest.dump(2) + "\n");
  });
}

}  // namespace qaccel::exporter
