// Export round trip: export a quantized model (txt, hex, bin), re-read the
// files and manifest.json, and run an INDEPENDENT integer implementation
// written here from the manifest alone (no engine, no kernels, no
// numeric_contract.h). It must reproduce the engine's int8 logits bit for bit
// on real images.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../common/test_models.h"
#include "qaccel/engine/engine.h"
#include "qaccel/export/export.h"
#include "qaccel/quant/quantize.h"

using namespace qaccel;
using namespace qaccel::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace independent {

// ---- the manifest's numeric contract, re-derived (different formulation) ----
int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}
int64_t SatLeftShift(int64_t x, int e) {
  int64_t v = x * (int64_t{1} << e);
  return std::clamp<int64_t>(v, INT32_MIN, INT32_MAX);
}
int64_t HighMul(int64_t a, int64_t b) {  // a*b / 2^31, to nearest, ties toward +infinity
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  return FloorDiv(a * b + (int64_t{1} << 30), int64_t{1} << 31);
}
int64_t ShiftRightRound(int64_t x, int e) {  // x / 2^e, to nearest, ties away from zero
  if (e == 0) return x;
  const int64_t half = int64_t{1} << (e - 1);
  return x >= 0 ? (x + half) >> e : -((-x + half) >> e);
}
int64_t Requant(int64_t acc, int64_t m, int shift) {
  return ShiftRightRound(HighMul(SatLeftShift(acc, std::max(shift, 0)), m), std::max(-shift, 0));
}
int64_t DivRound(int64_t s, int64_t n) {  // half away from zero
  return s >= 0 ? FloorDiv(2 * s + n, 2 * n) : -FloorDiv(-2 * s + n, 2 * n);
}
int64_t Clamp(int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); }

// ---- reading the exported files ----
std::vector<int64_t> ReadValues(const fs::path& dir, const std::string& file,
                                const std::string& format, int bytes_per_value) {
  std::ifstream f(dir / file, std::ios::binary);
  EXPECT_TRUE(f.good()) << file;
  std::vector<int64_t> v;
  if (format == "bin") {
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (size_t i = 0; i + static_cast<size_t>(bytes_per_value) <= raw.size();
         i += static_cast<size_t>(bytes_per_value)) {
      if (bytes_per_value == 1) {
        v.push_back(static_cast<int8_t>(raw[i]));
      } else {
        uint32_t u = 0;
        for (int b = 0; b < 4; ++b)
          u |= static_cast<uint32_t>(static_cast<uint8_t>(raw[i + static_cast<size_t>(b)]))
               << (8 * b);
        v.push_back(static_cast<int32_t>(u));
      }
    }
  } else {
    std::string line;
    while (std::getline(f, line)) {
      if (line.empty()) continue;
      if (format == "txt") {
        v.push_back(std::stoll(line));
      } else {
        EXPECT_EQ(line.size(), static_cast<size_t>(2 * bytes_per_value)) << file;
        const uint64_t u = std::stoull(line, nullptr, 16);
        v.push_back(bytes_per_value == 1 ? static_cast<int8_t>(u) : static_cast<int32_t>(u));
      }
    }
  }
  return v;
}

std::vector<int64_t> J(const json& j) { return j.get<std::vector<int64_t>>(); }

// Runs the model described by dir/manifest.json on one image.
struct Model {
  json m;
  fs::path dir;
  std::string format;
  std::map<std::string, std::vector<int64_t>> weights, biases, mults, shifts;
  std::set<std::string> binary;  // layers accumulated with adds and subtracts only

  Model(const fs::path& d, const std::string& fmt) : dir(d), format(fmt) {
    std::ifstream f(d / "manifest.json");
    m = json::parse(f);
    for (const json& l : m["layers"]) {
      if (l["kind"] != "conv2d" && l["kind"] != "linear") continue;
      const std::string n = l["name"];
      weights[n] = ReadValues(d, l["weight"]["files"][fmt], fmt, 1);
      int64_t numel = 1;
      for (int64_t s : J(l["weight"]["shape"])) numel *= s;
      if (l["weight"]["dtype"] == "packed") {  // unpack bit by bit, as the manifest says
        const int bits = l["weight"]["bits"];
        std::vector<int64_t> bytes = weights[n], v;
        EXPECT_EQ(static_cast<int64_t>(bytes.size()), l["weight"]["packed_bytes"].get<int64_t>());
        for (int64_t i = 0; i < numel; ++i) {
          int64_t field = 0;
          for (int b = 0; b < bits; ++b) {
            const int64_t pos = i * bits + b;
            field |= ((bytes[static_cast<size_t>(pos / 8)] & 0xff) >> (pos % 8) & 1) << b;
          }
          if (bits == 1)
            v.push_back(field ? 1 : -1);
          else
            v.push_back(field >= (int64_t{1} << (bits - 1)) ? field - (int64_t{1} << bits) : field);
        }
        weights[n] = v;
        if (bits == 1) binary.insert(n);
      }
      EXPECT_EQ(static_cast<int64_t>(weights[n].size()), numel) << n;
      if (!l["bias"].is_null()) biases[n] = ReadValues(d, l["bias"]["files"][fmt], fmt, 4);
      if (fmt ==
          "txt") {  // multipliers and shifts: from the manifest (the txt files carry them too)
        mults[n] = J(l["multiplier"]);
        shifts[n] = J(l["shift"]);
      } else {
        mults[n] = ReadValues(d, l["requant_files"][fmt][0], fmt, 4);
        shifts[n] = ReadValues(d, l["requant_files"][fmt][1], fmt, 4);
        EXPECT_EQ(mults[n], J(l["multiplier"])) << n;
        EXPECT_EQ(shifts[n], J(l["shift"])) << n;
      }
    }
  }

  std::vector<int64_t> Run(const uint8_t* pixels) const {
    std::map<std::string, std::vector<int64_t>> act;
    std::map<std::string, std::vector<int64_t>> shape;
    for (const json& l : m["layers"]) {
      const std::string name = l["name"], kind = l["kind"];
      const std::vector<int64_t> os = J(l["out_shape"]);
      int64_t on = 1;
      for (int64_t s : os) on *= s;
      std::vector<int64_t> out(static_cast<size_t>(on));
      const int64_t lo = l["act_min"], hi = l["act_max"], ozp = l["output_zero_point"];
      const std::vector<int64_t>* in = nullptr;
      std::vector<int64_t> is;
      int64_t izp = 0;
      if (!l["inputs"].empty()) {
        in = &act.at(l["inputs"][0]);
        is = shape.at(l["inputs"][0]);
        izp = l["input_zero_point"];
      }
      if (kind == "input") {
        EXPECT_EQ(l["output_zero_point"], -128);
        for (int64_t i = 0; i < on; ++i)
          out[static_cast<size_t>(i)] = static_cast<int64_t>(pixels[i]) - 128;
      } else if (kind == "conv2d") {
        const auto k = J(l["kernel"]), st = J(l["stride"]), pd = J(l["padding"]);
        const int64_t groups = l["groups"], O = os[0], I = is[0], IH = is[1], IW = is[2];
        const int64_t ipg = I / groups, opg = O / groups;
        const auto& w = weights.at(name);
        const auto wzp = J(l["weight_zero_point"]);
        const auto& mu = mults.at(name);
        const auto& sh = shifts.at(name);
        const bool has_b = biases.count(name) != 0;
        for (int64_t o = 0; o < O; ++o)
          for (int64_t y = 0; y < os[1]; ++y)
            for (int64_t x = 0; x < os[2]; ++x) {
              const size_t c = mu.size() == 1 ? 0 : static_cast<size_t>(o);
              int64_t acc = has_b ? biases.at(name)[static_cast<size_t>(o)] : 0;
              for (int64_t i = 0; i < ipg; ++i)
                for (int64_t ky = 0; ky < k[0]; ++ky)
                  for (int64_t kx = 0; kx < k[1]; ++kx) {
                    const int64_t iy = y * st[0] - pd[0] + ky, ix = x * st[1] - pd[1] + kx;
                    if (iy < 0 || iy >= IH || ix < 0 || ix >= IW) continue;
                    const int64_t a =
                        (*in)[static_cast<size_t>(((o / opg) * ipg + i) * IH * IW + iy * IW + ix)] -
                        izp;
                    const int64_t b =
                        w[static_cast<size_t>(((o * ipg + i) * k[0] + ky) * k[1] + kx)] - wzp[c];
                    if (binary.count(name))  // 2 * (the +1 taps) - (all taps)
                      acc += (b > 0 ? 2 * a : 0) - a;
                    else
                      acc += a * b;
                  }
              EXPECT_LE(std::llabs(acc), INT32_MAX);
              out[static_cast<size_t>((o * os[1] + y) * os[2] + x)] =
                  Clamp(Requant(acc, mu[c], static_cast<int>(sh[c])) + ozp, lo, hi);
            }
      } else if (kind == "linear") {
        const int64_t O = os[0], I = is[0];
        const auto& w = weights.at(name);
        const auto wzp = J(l["weight_zero_point"]);
        const auto& mu = mults.at(name);
        const auto& sh = shifts.at(name);
        for (int64_t o = 0; o < O; ++o) {
          const size_t c = mu.size() == 1 ? 0 : static_cast<size_t>(o);
          int64_t acc = biases.count(name) ? biases.at(name)[static_cast<size_t>(o)] : 0;
          if (binary.count(name)) {  // 2 * sum over +1 weights - sum of all
            int64_t plus = 0, all = 0;
            for (int64_t i = 0; i < I; ++i) {
              const int64_t a = (*in)[static_cast<size_t>(i)] - izp;
              all += a;
              if (w[static_cast<size_t>(o * I + i)] > 0) plus += a;
            }
            acc += 2 * plus - all;
          } else {
            for (int64_t i = 0; i < I; ++i)
              acc += ((*in)[static_cast<size_t>(i)] - izp) *
                     (w[static_cast<size_t>(o * I + i)] - wzp[c]);
          }
          out[static_cast<size_t>(o)] =
              Clamp(Requant(acc, mu[c], static_cast<int>(sh[c])) + ozp, lo, hi);
        }
      } else if (kind == "avgpool2d" || kind == "maxpool2d") {
        const auto k = J(l["kernel"]), st = J(l["stride"]), pd = J(l["padding"]);
        for (int64_t c = 0; c < os[0]; ++c)
          for (int64_t y = 0; y < os[1]; ++y)
            for (int64_t x = 0; x < os[2]; ++x) {
              int64_t sum = 0, mx = -128;
              for (int64_t ky = 0; ky < k[0]; ++ky)
                for (int64_t kx = 0; kx < k[1]; ++kx) {
                  const int64_t iy = y * st[0] - pd[0] + ky, ix = x * st[1] - pd[1] + kx;
                  const bool inside = iy >= 0 && iy < is[1] && ix >= 0 && ix < is[2];
                  const int64_t v =
                      inside ? (*in)[static_cast<size_t>((c * is[1] + iy) * is[2] + ix)] : izp;
                  sum += v;
                  if (inside) mx = std::max(mx, v);
                }
              out[static_cast<size_t>((c * os[1] + y) * os[2] + x)] =
                  kind == "maxpool2d" ? mx : Clamp(DivRound(sum, k[0] * k[1]), lo, hi);
            }
      } else if (kind == "global_avgpool") {
        const int64_t hw = is[1] * is[2];
        for (int64_t c = 0; c < os[0]; ++c) {
          int64_t sum = 0;
          for (int64_t i = 0; i < hw; ++i) sum += (*in)[static_cast<size_t>(c * hw + i)];
          out[static_cast<size_t>(c)] = Clamp(DivRound(sum, hw), -128, 127);
        }
      } else if (kind == "relu") {
        for (int64_t i = 0; i < on; ++i)
          out[static_cast<size_t>(i)] = std::max((*in)[static_cast<size_t>(i)], izp);
      } else if (kind == "flatten" || kind == "batchnorm") {
        out = *in;
      } else if (kind == "add") {
        const auto& b = act.at(l["inputs"][1]);
        const int64_t bzp = l["b_input_zero_point"], ls = l["left_shift"];
        const auto mu = J(l["multiplier"]), sh = J(l["shift"]);
        for (int64_t i = 0; i < on; ++i) {
          const int64_t a2 =
              Requant(SatLeftShift((*in)[static_cast<size_t>(i)] - izp, static_cast<int>(ls)),
                      mu[0], static_cast<int>(sh[0]));
          const int64_t b2 =
              Requant(SatLeftShift(b[static_cast<size_t>(i)] - bzp, static_cast<int>(ls)), mu[1],
                      static_cast<int>(sh[1]));
          out[static_cast<size_t>(i)] =
              Clamp(Requant(a2 + b2, mu[2], static_cast<int>(sh[2])) + ozp, lo, hi);
        }
      } else {
        ADD_FAILURE() << "unknown kind " << kind;
      }
      for (int64_t v : out) EXPECT_TRUE(v >= -128 && v <= 127);
      act[name] = std::move(out);
      shape[name] = os;
    }
    return act.at(m["output"]["layer"]);
  }
};

}  // namespace independent

namespace {

void CheckRoundTrip(const Graph& qg, const data::Dataset& images, int64_t count,
                    const std::string& tag) {
  engine::Engine e(qg, {2});
  const int64_t n = std::min(count, images.n);
  const std::vector<int8_t> want = e.RunInt8(images.pixels.data(), n);
  const auto dir = ScratchDir("export_" + tag);
  for (const std::string fmt : {"txt", "hex", "bin"}) {
    exporter::ExportOptions opt;
    opt.format = fmt;
    opt.command_line = "test";
    exporter::ExportModel(qg, dir / fmt, opt);
    independent::Model model(dir / fmt, fmt);
    EXPECT_EQ(model.m["file_format"], fmt);
    EXPECT_EQ(model.m["command"], "test");
    EXPECT_TRUE(model.m.contains("qaccel_version"));
    EXPECT_TRUE(fs::exists(dir / fmt / "conv1_scale_zero.txt"));
    int64_t mismatches = 0, max_diff = 0;
    for (int64_t i = 0; i < n; ++i) {
      auto got = model.Run(images.image(i));
      for (int64_t k = 0; k < e.num_outputs(); ++k) {
        const int64_t d = std::llabs(got[static_cast<size_t>(k)] -
                                     want[static_cast<size_t>(i * e.num_outputs() + k)]);
        mismatches += d != 0;
        max_diff = std::max(max_diff, d);
      }
    }
    std::printf(
        "%s %s: %lld images, independent integer implementation vs engine: %s (max diff %lld)\n",
        tag.c_str(), fmt.c_str(), static_cast<long long>(n), mismatches == 0 ? "OK" : "NOT OK",
        static_cast<long long>(max_diff));
    EXPECT_EQ(mismatches, 0) << tag << " " << fmt;
  }
  fs::remove_all(dir);
}

}  // namespace

TEST(ExportRoundTrip, Lenet5OnRealImagesBothSchemes) {
  data::Split real = RealDataOrEmpty();
  const bool have_real = real.train.n > 0;
  if (!have_real) std::printf("NOTE: no MNIST/Fashion-MNIST installed; using synthetic images\n");
  data::Dataset cal = have_real ? real.train.Head(200) : SyntheticImages(200, 1, 28, 28, 1);
  data::Dataset test = have_real ? real.test.Head(100) : SyntheticImages(100, 1, 28, 28, 2);
  Graph fg = RandomModel("lenet5", 12);
  for (const char* scheme : {quant::kPerTensorAsymmetric, quant::kPerChannelSymmetric}) {
    quant::QuantizeOptions o;
    o.weight_scheme = scheme;
    o.calibration = 200;
    CheckRoundTrip(quant::QuantizeGraph(fg, cal, o), test, 100, std::string("lenet5-") + scheme);
  }
}

// Sub-8-bit models: binary (w1a8, w1a4) and 4-bit / 2-bit weights with
// narrow activations; weights go out packed.
TEST(ExportRoundTrip, Lenet5LowBitPacked) {
  data::Split real = RealDataOrEmpty();
  const bool have_real = real.train.n > 0;
  data::Dataset cal = have_real ? real.train.Head(200) : SyntheticImages(200, 1, 28, 28, 1);
  data::Dataset test = have_real ? real.test.Head(40) : SyntheticImages(40, 1, 28, 28, 2);
  Graph fg = RandomModel("lenet5", 12);
  const struct {
    const char* scheme;
    int wbits, abits;
  } cases[] = {{"binary", 1, 8}, {"binary", 1, 4}, {"per-channel", 4, 4}, {"per-channel", 2, 8}};
  for (const auto& c : cases) {
    quant::QuantizeOptions o;
    o.weight_scheme = c.scheme;
    o.weight_bits = c.wbits;
    o.act_bits = c.abits;
    o.calibration = 200;
    Graph qg = quant::QuantizeGraph(fg, cal, o);
    EXPECT_EQ(qg.layers[static_cast<size_t>(qg.Find("conv2"))].quant.weight_bits, c.wbits);
    CheckRoundTrip(qg, test, 40,
                   "lenet5-w" + std::to_string(c.wbits) + "a" + std::to_string(c.abits));
  }
}

TEST(ExportRoundTrip, Resnet20WithAddsAndFoldedBatchNorm) {
  Graph fg = RandomModel("resnet20", 13, 12);
  data::Dataset cal = SyntheticImages(8, 1, 12, 12, 3), test = SyntheticImages(6, 1, 12, 12, 4);
  quant::QuantizeOptions o;
  o.calibration = 8;
  o.observer = "minmax";
  CheckRoundTrip(quant::QuantizeGraph(fg, cal, o), test, 6, "resnet20");
}

TEST(Export, HexIsTwosComplement) {
  EXPECT_EQ(exporter::HexInt8(-1), "ff");
  EXPECT_EQ(exporter::HexInt8(-128), "80");
  EXPECT_EQ(exporter::HexInt8(127), "7f");
  EXPECT_EQ(exporter::HexInt32(-2), "fffffffe");
  EXPECT_EQ(exporter::HexInt32(2295), "000008f7");
}

TEST(Export, RefusesFloatModelsAndUnknownFormatsWritingNothing) {
  const auto dir = ScratchDir("export_refuse");
  Graph fg = RandomModel("lenet5", 1);
  exporter::ExportOptions opt;
  EXPECT_THROW(exporter::ExportModel(fg, dir / "out", opt), Error);
  EXPECT_FALSE(fs::exists(dir / "out"));
  opt.format = "csv";
  EXPECT_THROW(exporter::ExportModel(fg, dir / "out", opt), Error);
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_TRUE(fs::is_empty(dir));  // no temporary directory left behind either
  fs::remove_all(dir);
}
