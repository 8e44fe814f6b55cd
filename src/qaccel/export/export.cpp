// Parameter files + manifest for hardware (see export.h).
#include "qaccel/export/export.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/graph/model_file.h"
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

// Exact integer operations of one layer, in order (the manifest's contract).
std::vector<std::string> IntegerOps(const Graph& g, const Layer& l) {
  switch (l.kind) {
    case OpKind::kInput:
      return {
          "q = clamp(round_half_away(pixel / 255 / scale) + zero_point, -128, 127); with scale "
          "1/255 and "
          "zero_point -128 this is exactly q = pixel - 128 (pixel is the uint8 image value)"};
    case OpKind::kConv2d:
      return {
          "for o in [0,O), y in [0,OH), x in [0,OW): g = o / (O/groups); acc = bias[o] (0 if no "
          "bias), int32",
          "for i in [0, I/groups), ky in [0,KH), kx in [0,KW): iy = y*stride_h - pad_h + ky, ix = "
          "x*stride_w - "
          "pad_w + kx; skip if outside the input (padding is real 0 = input_zero_point); "
          "acc += (in[g*(I/groups)+i, iy, ix] - input_zero_point) * (weight[o, i, ky, kx] - "
          "weight_zero_point[o])",
          "r = MultiplyByQuantizedMultiplier(acc, multiplier[o], shift[o])  (entry 0 for all o "
          "when per-tensor)",
          "out[o, y, x] = clamp(r + output_zero_point, act_min, act_max)  (computed in int64; fits "
          "int8)"};
    case OpKind::kLinear:
      return {"for o in [0,O): acc = bias[o] (0 if no bias), int32",
              "for i in [0,I): acc += (in[i] - input_zero_point) * (weight[o, i] - "
              "weight_zero_point[o])",
              "r = MultiplyByQuantizedMultiplier(acc, multiplier[o], shift[o])  (entry 0 for all o "
              "when per-tensor)",
              "out[o] = clamp(r + output_zero_point, act_min, act_max)"};
    case OpKind::kAvgPool2d:
      return {
          "for c, y, x: sum = sum over ky<KH, kx<KW of in[c, y*stride_h - pad_h + ky, x*stride_w - "
          "pad_w + kx] "
          "(raw int8 values; a position outside the input counts as input_zero_point), int32",
          "out[c, y, x] = clamp(RoundingDivide(sum, KH*KW), act_min, act_max)  (same scale and "
          "zero point as "
          "the input)"};
    case OpKind::kMaxPool2d:
      return {
          "out[c, y, x] = max over the window of in (positions outside the input are ignored); "
          "same scale and "
          "zero point as the input"};
    case OpKind::kGlobalAvgPool:
      return {
          "out[c] = clamp(RoundingDivide(sum over y, x of in[c, y, x], H*W), -128, 127); same "
          "scale and zero "
          "point as the input"};
    case OpKind::kRelu:
      return {
          "out = max(in, input_zero_point)  (real max(x, 0); already implied by the producer's "
          "clamp when "
          "the ReLU is folded)"};
    case OpKind::kFlatten:
      return {"out[c*H*W + y*W + x] = in[c, y, x]  (a copy)"};
    case OpKind::kBatchNorm:
      return {"out = in  (identity: this batchnorm was folded into layer '" + l.quant.folded_into +
              "' at quantization)"};
    case OpKind::kAdd:
      return {
          "a = SaturatingLeftShift(in_a - a_zero_point, left_shift); b = SaturatingLeftShift(in_b "
          "- "
          "b_zero_point, left_shift)  (left_shift = 20)",
          "a2 = MultiplyByQuantizedMultiplier(a, multiplier[0], shift[0]); b2 = "
          "MultiplyByQuantizedMultiplier(b, multiplier[1], shift[1])",
          "r = MultiplyByQuantizedMultiplier(a2 + b2, multiplier[2], shift[2])",
          "out = clamp(r + output_zero_point, act_min, act_max)"};
  }
  (void)g;
  return {};
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

json BuildManifest(const Graph& g, const ExportOptions& opt) {
  json layers = json::array();
  for (const Layer& l : g.layers) {
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
            {"integer_ops", IntegerOps(g, l)}};
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const Layer& p = Producer(g, l, k);
      lj["inputs"].push_back(p.name);
    }
    if (!l.inputs.empty()) {
      lj["input_scale"] = Producer(g, l).quant.out_scale;
      lj["input_zero_point"] = Producer(g, l).quant.out_zero_point;
    }
    if (l.kind == OpKind::kAdd) {
      lj["b_input_scale"] = Producer(g, l, 1).quant.out_scale;
      lj["b_input_zero_point"] = Producer(g, l, 1).quant.out_zero_point;
      lj["multiplier"] = q.multiplier;
      lj["shift"] = q.shift;
      lj["left_shift"] = kernels::kAddLeftShift;
    }
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kAvgPool2d || l.kind == OpKind::kMaxPool2d) {
      lj["kernel"] = {l.kernel_h, l.kernel_w};
      lj["stride"] = {l.stride_h, l.stride_w};
      lj["padding"] = {l.pad_h, l.pad_w};
    }
    if (l.kind == OpKind::kBatchNorm) lj["folded_into"] = q.folded_into;
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      const bool conv = l.kind == OpKind::kConv2d;
      if (conv) lj["groups"] = l.groups;
      lj["in_channels"] = l.in_channels;
      lj["out_channels"] = l.out_channels;
      lj["weight_scheme"] = q.weight_scheme;
      lj["weight_scale"] = q.weight_scale;
      lj["weight_zero_point"] = q.weight_zero_point;
      lj["multiplier"] = q.multiplier;
      lj["shift"] = q.shift;
      lj["per_channel"] = q.multiplier.size() > 1;
      const Tensor& w = l.params.at("weight");
      json files{{"txt", l.name + ".weight.txt"},
                 {"hex", l.name + ".weight.hex"},
                 {"bin", l.name + ".weight.bin"}};
      lj["weight"] = {
          {"dtype", "i8"},
          {"shape", w.shape()},
          {"layout", conv ? "OIHW (O, I/groups, KH, KW), row-major" : "OI (out, in), row-major"},
          {"files", files}};
      if (l.params.count("bias")) {
        lj["bias"] = {{"dtype", "i32"},
                      {"shape", l.params.at("bias").shape()},
                      {"scale", "input_scale * weight_scale[o]"},
                      {"zero_point", 0},
                      {"files",
                       {{"txt", l.name + ".bias.txt"},
                        {"hex", l.name + ".bias.hex"},
                        {"bin", l.name + ".bias.bin"}}}};
      } else {
        lj["bias"] = nullptr;
      }
      lj["requant_files"] = {{"hex", {l.name + ".multiplier.hex", l.name + ".shift.hex"}},
                             {"bin", {l.name + ".multiplier.bin", l.name + ".shift.bin"}}};
    }
    layers.push_back(lj);
  }
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
        {"pixel_dtype", "u8"},
        {"scale", in.quant.out_scale},
        {"zero_point", in.quant.out_zero_point},
        {"quantize", "q = pixel - 128 (int8), i.e. real = pixel / 255"}}},
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
  const json manifest = BuildManifest(g, opt);

  fs::path target = fs::absolute(dir);
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  Check(!fs::exists(target, ec) || fs::is_directory(target, ec),
        target.string() + ": exists and is not a directory; choose another -o");
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    for (const Layer& l : g.layers) {
      const QuantParams& q = l.quant;
      std::ostringstream sz;
      const std::string in_scale =
          l.inputs.empty() ? "" : FloatText(Producer(g, l).quant.out_scale);
      sz << "layer " << l.name << "\nkind " << OpKindName(l.kind) << "\n";
      if (!l.inputs.empty())
        sz << "input_scale " << in_scale << "\ninput_zero_point "
           << Producer(g, l).quant.out_zero_point << "\n";
      if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
        sz << "weight_scheme " << q.weight_scheme << "\nweight_scale";
        for (float s : q.weight_scale) sz << " " << FloatText(s);
        sz << "\nweight_zero_point " << JoinInts(q.weight_zero_point) << "\n";
      }
      sz << "output_scale " << FloatText(q.out_scale) << "\noutput_zero_point " << q.out_zero_point
         << "\n";
      if (!q.multiplier.empty())
        sz << "multiplier " << JoinInts(q.multiplier) << "\nshift " << JoinInts(q.shift) << "\n";
      sz << "act_min " << q.act_min << "\nact_max " << q.act_max << "\n";
      WriteFile(tmp / (l.name + "_scale_zero.txt"), sz.str());
      if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear) continue;

      const auto w = l.params.at("weight").data<int8_t>();
      const int32_t* bias =
          l.params.count("bias") ? l.params.at("bias").data<int32_t>().data() : nullptr;
      const size_t nb = bias ? static_cast<size_t>(l.out_channels) : 0;
      auto emit_i32 = [&](const std::string& stem, const int32_t* v, size_t n) {
        std::string s;
        if (opt.format == "txt") {
          for (size_t i = 0; i < n; ++i) s += std::to_string(v[i]) + "\n";
        } else if (opt.format == "hex") {
          for (size_t i = 0; i < n; ++i) s += HexInt32(v[i]) + "\n";
        } else {
          for (size_t i = 0; i < n; ++i) {
            const uint32_t u = static_cast<uint32_t>(v[i]);
            for (int b = 0; b < 4; ++b) s.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
          }
        }
        WriteFile(tmp / (l.name + "." + stem + "." + opt.format), s);
      };
      std::string ws;
      for (int8_t v : w) {
        if (opt.format == "txt")
          ws += std::to_string(v) + "\n";
        else if (opt.format == "hex")
          ws += HexInt8(v) + "\n";
        else
          ws.push_back(static_cast<char>(v));
      }
      WriteFile(tmp / (l.name + ".weight." + opt.format), ws);
      if (bias) emit_i32("bias", bias, nb);
      if (opt.format != "txt") {
        emit_i32("multiplier", q.multiplier.data(), q.multiplier.size());
        emit_i32("shift", q.shift.data(), q.shift.size());
      }
    }
    WriteFile(tmp / "manifest.json", manifest.dump(2) + "\n");
    // Swap into place: an existing directory is moved aside, then removed.
    const fs::path old = target.string() + ".old." + std::to_string(::getpid());
    const bool existed = fs::exists(target);
    if (existed) fs::rename(target, old);
    fs::rename(tmp, target);
    if (existed) fs::remove_all(old, ec);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw Error(target.string() + ": cannot write the export directory: " + e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace qaccel::exporter
