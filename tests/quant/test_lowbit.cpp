// Sub-8-bit quantization: the binary and n-bit weight schemes, a-bit
// activations, packed storage in the model file (and its validation), the
// binary fast kernels against the reference ones inside the engine, and the
// analysis' bits / bytes / MACs by precision.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "../common/test_models.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/packed_weights.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/quant/weight_scheme.h"

using namespace qaccel;
using namespace qaccel::testing;

namespace {

Graph LowBit(const Graph& fg, const data::Dataset& cal, const char* scheme, int wbits, int abits) {
  quant::QuantizeOptions o;
  o.weight_scheme = scheme;
  o.weight_bits = wbits;
  o.act_bits = abits;
  o.calibration = cal.n;
  o.observer = "minmax";
  return quant::QuantizeGraph(fg, cal, o);
}

std::vector<uint8_t> Bytes(const Graph& g) {
  std::ostringstream os;
  WriteModel(g, os);
  const std::string s = os.str();
  return {s.begin(), s.end()};
}

}  // namespace

TEST(LowBitSchemes, BinaryIsSignWithMeanAbsoluteAlpha) {
  const Tensor w = Tensor::From<float>({2, 3}, {0.5f, -0.25f, 0.0f, -1.0f, -2.0f, 3.0f});
  const quant::WeightQuant q = quant::QuantizeBinary(w, 2, 1);
  EXPECT_EQ(std::vector<int8_t>(q.q.data<int8_t>().begin(), q.q.data<int8_t>().end()),
            (std::vector<int8_t>{1, -1, 1, -1, -1, 1}));  // sign(0) = +1
  EXPECT_FLOAT_EQ(q.scale[0], 0.25f);
  EXPECT_FLOAT_EQ(q.scale[1], 2.0f);
  EXPECT_EQ(q.zero_point, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(quant::FindWeightScheme("binary").bits, 1);
}

TEST(LowBitSchemes, NBitPerChannelUsesTheSymmetricRange) {
  const Tensor w = Tensor::From<float>({1, 4}, {1.0f, -1.0f, 0.4f, 0.1f});
  const quant::WeightQuant q = quant::QuantizePerChannelSymmetric(w, 1, 4);  // qmax 7
  EXPECT_EQ(std::vector<int8_t>(q.q.data<int8_t>().begin(), q.q.data<int8_t>().end()),
            (std::vector<int8_t>{7, -7, 3, 1}));  // 0.4 * 7 = 2.8
  EXPECT_FLOAT_EQ(q.scale[0], 1.0f / 7.0f);
  const auto& pc = quant::FindWeightScheme("per-channel");
  EXPECT_NO_THROW(quant::CheckWeightBits(pc, 2, "--weight-bits"));
  EXPECT_THROW(quant::CheckWeightBits(pc, 1, "--weight-bits"), Error);
  EXPECT_THROW(quant::CheckWeightBits(quant::FindWeightScheme("binary"), 4, "--weight-bits"),
               Error);
}

TEST(LowBitSchemes, ActivationBitsNarrowTheClamp) {
  const quant::AffineQuant a = quant::ChooseActivationQuant(0.0f, 3.0f, 4);
  EXPECT_FLOAT_EQ(a.scale, 0.2f);
  EXPECT_EQ(a.zero_point, -128);
  EXPECT_EQ(quant::ActivationQMax(4), -113);
  Graph fg = RandomModel("lenet5", 3);
  const data::Dataset cal = SyntheticImages(16, 1, 28, 28, 5);
  const Graph q = LowBit(fg, cal, "per-channel", 4, 4);
  const Layer& c2 = q.layers[static_cast<size_t>(q.Find("conv2"))];
  EXPECT_EQ(c2.quant.act_bits, 4);
  EXPECT_EQ(c2.quant.act_max, -113);
  EXPECT_EQ(c2.quant.weight_bits, 4);
  for (int8_t v : c2.params.at("weight").data<int8_t>()) EXPECT_LE(std::abs(v), 7);
  EXPECT_EQ(q.layers[0].quant.act_bits, 8);  // the input stays 8-bit
}

TEST(LowBitModelFile, PackedWeightsRoundTripAndShrinkTheFile) {
  Graph fg = RandomModel("lenet5", 4);
  const data::Dataset cal = SyntheticImages(16, 1, 28, 28, 6);
  const Graph q8 = LowBit(fg, cal, "per-channel", 8, 8);
  for (auto [scheme, bits] : {std::pair{"binary", 1}, {"per-channel", 4}, {"per-channel", 3}}) {
    const Graph q = LowBit(fg, cal, scheme, bits, 8);
    const std::vector<uint8_t> b = Bytes(q);
    const Graph back = ParseModel(b, "m.qmodel");
    for (size_t i = 0; i < q.layers.size(); ++i)
      for (const auto& [name, t] : q.layers[i].params) {
        const Tensor& u = back.layers[i].params.at(name);
        ASSERT_EQ(t.nbytes(), u.nbytes());
        EXPECT_EQ(std::memcmp(t.raw(), u.raw(), t.nbytes()), 0) << q.layers[i].name << " " << name;
      }
    // fc1's 48,000 weights shrink from 48,000 bytes to bits/8 of that.
    EXPECT_LT(b.size() + 48000 * (8 - bits) / 8 - 2000, Bytes(q8).size()) << bits;
  }
}

TEST(LowBitModelFile, BadPackedDataIsOneLineNamingTheFile) {
  Graph fg = RandomModel("lenet5", 4);
  const Graph q = LowBit(fg, SyntheticImages(8, 1, 28, 28, 6), "binary", 1, 8);
  std::vector<uint8_t> b = Bytes(q);
  auto expect_error = [](std::vector<uint8_t> bytes, const std::string& needle) {
    try {
      ParseModel(bytes, "bad.qmodel");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("bad.qmodel", 0), 0u) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  };
  // Header edits of the same length: "packed_bits":1 -> 9, and fc1's shape says more weights.
  std::string s(b.begin(), b.end());
  const size_t at = s.find("\"packed_bits\":1");
  ASSERT_NE(at, std::string::npos);
  std::string bad = s;
  bad[at + 14] = '9';
  expect_error({bad.begin(), bad.end()}, "packed_bits");
  bad = s;
  bad[at + 14] = '4';  // a width that differs from the layer's weight_bits
  expect_error({bad.begin(), bad.end()}, "packed_bits");
  expect_error({b.begin(), b.begin() + static_cast<int64_t>(b.size()) - 100}, "truncated");
}

TEST(LowBitEngine, BinaryFastKernelsMatchReferenceOnRealImages) {
  data::Split real = RealDataOrEmpty();
  const data::Dataset cal =
      real.train.n ? real.train.Head(100) : SyntheticImages(100, 1, 28, 28, 7);
  const data::Dataset test = real.test.n ? real.test : SyntheticImages(300, 1, 28, 28, 8);
  Graph fg = RandomModel("lenet5", 9);
  for (int abits : {8, 4}) {
    const Graph q = LowBit(fg, cal, "binary", 1, abits);
    engine::Engine fast(q, {.threads = 2}), ref(q, {.threads = 2, .reference_kernels = true});
    EXPECT_EQ(fast.RunInt8(test.pixels.data(), test.n), ref.RunInt8(test.pixels.data(), test.n))
        << "act bits " << abits << ", " << test.n << " images";
  }
}

TEST(LowBitAnalysis, BitsBytesAndMacsByPrecision) {
  Graph fg = RandomModel("lenet5", 4);
  quant::QuantizeOptions o;
  o.weight_scheme = "binary";
  o.calibration = 8;
  o.layers["conv1"].weight_scheme = "per-channel";  // first and last layers 8-bit
  o.layers["fc3"].weight_scheme = "per-channel";
  const Graph q = quant::QuantizeGraph(fg, SyntheticImages(8, 1, 28, 28, 6), o);
  const analysis::GraphCost c = analysis::Analyze(q);
  const nlohmann::json j = analysis::ToJson(c);
  for (const auto& l : j["layers"])
    if (l["name"] == "fc1") {
      EXPECT_EQ(l["weight_bits"], 1);
      EXPECT_EQ(l["param_bytes"], 48000 / 8 + 120 * 4);
    }
  EXPECT_EQ(j["macs_by_precision"]["w1a8"], 240000 + 48000 + 10080);
  EXPECT_EQ(j["macs_by_precision"]["w8a8"], 117600 + 840);
  EXPECT_NE(analysis::ToTable(c).find("MACs by precision"), std::string::npos);
}

TEST(PackedWeights, BitOrderIsLsbFirst) {
  const int8_t v[] = {1, -1, -1, 1, 1, 1, 1, 1, -1};
  EXPECT_EQ(PackWeights(v, 9, 1, "t"), (std::vector<uint8_t>{0xf9, 0x00}));
  const int8_t n[] = {-7, 7, 3};  // 4-bit: 0x9, 0x7, 0x3
  EXPECT_EQ(PackWeights(n, 3, 4, "t"), (std::vector<uint8_t>{0x79, 0x03}));
  EXPECT_EQ(UnpackWeights(PackWeights(n, 3, 4, "t").data(), 3, 4, "t"),
            (std::vector<int8_t>{-7, 7, 3}));
  const int8_t three[] = {3, -3, 1, 0, -1, 2};  // 3-bit fields straddle bytes
  EXPECT_EQ(UnpackWeights(PackWeights(three, 6, 3, "t").data(), 6, 3, "t"),
            std::vector<int8_t>(three, three + 6));
  EXPECT_THROW(PackWeights(n, 3, 3, "t"), Error);  // 7 does not fit 3 bits
}
