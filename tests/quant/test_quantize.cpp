// Post-training quantization: observers, weight schemes, bias/multipliers,
// structure preservation, errors naming the layer, model file round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/test_models.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/quant/quantize.h"

using namespace qaccel;
using namespace qaccel::testing;

namespace {

std::pair<float, float> RunObserver(const std::string& name,
                                    const std::vector<std::vector<float>>& batches,
                                    quant::ObserverOptions opt = {}) {
  auto o = quant::MakeObserver(name, opt);
  for (int pass = 0; pass < o->passes(); ++pass)
    for (auto& b : batches) {
      o->Observe(b.data(), static_cast<int64_t>(b.size()), pass);
      o->EndBatch(pass);
    }
  return o->Range();
}

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Observers, MinMaxAndMovingAverage) {
  auto r = RunObserver("minmax", {{-1, 2, 0.5f}, {3, -0.25f}});
  EXPECT_EQ(r.first, -1);
  EXPECT_EQ(r.second, 3);
  // Moving average: first batch initializes, then += 0.01 * (batch - running).
  r = RunObserver("moving-average", {{-1, 2}, {-3, 4}});
  EXPECT_NEAR(r.first, -1 + 0.01 * (-3 + 1), 1e-6);
  EXPECT_NEAR(r.second, 2 + 0.01 * (4 - 2), 1e-6);
}

TEST(Observers, HistogramBasedOnesClipOutliers) {
  // 100,000 values uniform in [0, 1] plus 3 outliers at 50.
  Rng rng(3);
  std::vector<float> v(100000);
  for (auto& x : v) x = static_cast<float>(rng.Uniform01());
  for (int i = 0; i < 3; ++i) v[static_cast<size_t>(i)] = 50.0f;
  // Percentile 99.99 ignores the 3 outliers.
  auto r = RunObserver("percentile", {v});
  EXPECT_NEAR(r.second, 1.0, 0.03);
  EXPECT_GE(r.first, 0.0f);
  quant::ObserverOptions p;
  p.percentile = 99.0;
  r = RunObserver("percentile", {v}, p);
  EXPECT_NEAR(r.second, 0.99, 0.03);
  EXPECT_THROW(RunObserver("percentile", {v}, quant::ObserverOptions{30.0}), Error);
  // L2: error(h) = N (h/255)^2 / 12 + 3 (50 - h)^2 is least at h = 47.95, not at 50 nor at 1.
  r = RunObserver("histogram", {v});
  EXPECT_NEAR(r.second, 47.95, 0.5);
  // Entropy on exponential data (like post-ReLU activations): clips the thin tail.
  std::vector<float> e(100000);
  float emax = 0;
  for (auto& x : e) {
    x = static_cast<float>(-std::log(1.0 - rng.Uniform01()));
    emax = std::max(emax, x);
  }
  r = RunObserver("entropy", {e});
  EXPECT_EQ(r.first, 0.0f);
  EXPECT_LT(r.second, 0.9f * emax);
  EXPECT_GT(r.second, 2.3f);  // beyond the 90th percentile
  std::printf("entropy threshold %.3f of max %.3f\n", r.second, emax);
}

TEST(Observers, RegistryNamesAndUnknown) {
  EXPECT_EQ(quant::ObserverNames(), "minmax, moving-average, histogram, entropy, percentile");
  const std::string e = ErrorOf([] { quant::MakeObserver("kl"); });
  EXPECT_NE(e.find("unknown observer 'kl'"), std::string::npos) << e;
  EXPECT_NE(e.find("entropy"), std::string::npos) << e;
}

TEST(Quantize, ActivationQuantZeroPoints) {
  auto a = quant::ChooseActivationQuant(0.0f, 2.55f);
  EXPECT_FLOAT_EQ(a.scale, 0.01f);
  EXPECT_EQ(a.zero_point, -128);
  a = quant::ChooseActivationQuant(-1.0f, 1.55f);
  EXPECT_FLOAT_EQ(a.scale, 0.01f);
  EXPECT_EQ(a.zero_point, -28);  // -128 - round(-1 / 0.01)
  a = quant::ChooseActivationQuant(-2.55f, 0.0f);
  EXPECT_EQ(a.zero_point, 127);
  a = quant::ChooseActivationQuant(0.5f, 1.0f);  // widened to contain 0
  EXPECT_EQ(a.zero_point, -128);
  EXPECT_FLOAT_EQ(a.scale, 1.0f / 255.0f);
}

TEST(Quantize, StructureSchemesBiasAndMultipliers) {
  Graph fg = RandomModel("lenet5", 2);
  data::Dataset cal = SyntheticImages(20, 1, 28, 28, 1);
  for (const char* scheme : {quant::kPerTensorAsymmetric, quant::kPerChannelSymmetric}) {
    quant::QuantizeOptions o;
    o.weight_scheme = scheme;
    o.calibration = 20;
    Graph qg = quant::QuantizeGraph(fg, cal, o);
    ASSERT_EQ(qg.layers.size(), fg.layers.size());
    for (size_t i = 0; i < qg.layers.size(); ++i) {
      const Layer &q = qg.layers[i], &f = fg.layers[i];
      EXPECT_EQ(q.name, f.name);
      EXPECT_EQ(q.kind, f.kind);
      EXPECT_EQ(q.inputs, f.inputs);
      EXPECT_EQ(q.out_shape, f.out_shape);
      EXPECT_TRUE(q.quant.quantized);
      if (q.kind != OpKind::kConv2d && q.kind != OpKind::kLinear) continue;
      const bool pc = std::string(scheme) == quant::kPerChannelSymmetric;
      EXPECT_EQ(q.quant.multiplier.size(), pc ? static_cast<size_t>(q.out_channels) : 1u);
      EXPECT_EQ(q.params.at("weight").dtype(), DType::kI8);
      EXPECT_EQ(q.params.at("bias").dtype(), DType::kI32);
      // Weights dequantize to within half a step of the float ones.
      const auto w = q.params.at("weight").data<int8_t>();
      const auto fw = f.params.at("weight").data<float>();
      const int64_t per = static_cast<int64_t>(w.size()) / q.out_channels;
      for (size_t k = 0; k < w.size(); ++k) {
        const size_t c = pc ? k / static_cast<size_t>(per) : 0;
        const float s = q.quant.weight_scale[c];
        if (pc) {
          ASSERT_GE(w[k], -127);
        }
        ASSERT_NEAR(s * (w[k] - q.quant.weight_zero_point[c]), fw[k], s * 0.5001f) << q.name;
      }
      // bias scale = s_in * s_w; multiplier = s_in * s_w / s_out.
      const float s_in = qg.layers[static_cast<size_t>(q.inputs[0])].quant.out_scale;
      const float fb = f.params.at("bias").data<float>()[0];
      const int32_t qb = q.params.at("bias").data<int32_t>()[0];
      EXPECT_NEAR(qb * s_in * q.quant.weight_scale[0], fb, s_in * q.quant.weight_scale[0] * 0.5001);
      const kernels::QuantizedMultiplier m{q.quant.multiplier[0], q.quant.shift[0]};
      EXPECT_NEAR(m.Real() / (s_in * q.quant.weight_scale[0] / q.quant.out_scale), 1.0, 1e-6);
    }
    // ReLU folded into the producers' clamp; pools keep the input's quantization.
    const auto& conv1 = qg.layers[static_cast<size_t>(qg.Find("conv1"))].quant;
    EXPECT_EQ(conv1.act_min, std::max(-128, conv1.out_zero_point));
    EXPECT_EQ(qg.layers[static_cast<size_t>(qg.Find("pool1"))].quant.out_scale, conv1.out_scale);
    EXPECT_EQ(qg.layers[0].quant.out_zero_point, -128);
    EXPECT_FLOAT_EQ(qg.layers[0].quant.out_scale, 1.0f / 255.0f);
    EXPECT_EQ(qg.metadata["quantization"]["weight_scheme"], scheme);
  }
}

TEST(Quantize, DeterministicForASeed) {
  Graph fg = RandomModel("lenet5", 2);
  data::Dataset cal = SyntheticImages(50, 1, 28, 28, 1);
  quant::QuantizeOptions o;
  o.calibration = 10;
  o.seed = 5;
  auto a = quant::QuantizeGraph(fg, cal, o), b = quant::QuantizeGraph(fg, cal, o);
  o.seed = 6;
  auto c = quant::QuantizeGraph(fg, cal, o);
  const int i = a.Find("conv2");
  EXPECT_EQ(a.layers[static_cast<size_t>(i)].quant.out_scale,
            b.layers[static_cast<size_t>(i)].quant.out_scale);
  EXPECT_NE(a.layers[static_cast<size_t>(i)].quant.out_scale,
            c.layers[static_cast<size_t>(i)].quant.out_scale);
  EXPECT_EQ(a.metadata["quantization"]["seed"], 5);
}

TEST(Quantize, ErrorsNameTheProblem) {
  Graph fg = RandomModel("lenet5", 2);
  data::Dataset cal = SyntheticImages(4, 1, 28, 28, 1);
  quant::QuantizeOptions o;
  o.calibration = 0;
  EXPECT_NE(
      ErrorOf([&] { quant::QuantizeGraph(fg, cal, o); }).find("--calibration must be at least 1"),
      std::string::npos);
  o.calibration = 4;
  Graph nan = fg;
  nan.layers[static_cast<size_t>(nan.Find("fc2"))].params.at("weight").data<float>()[7] =
      std::nanf("");
  const std::string e = ErrorOf([&] { quant::QuantizeGraph(nan, cal, o); });
  EXPECT_NE(e.find("layer 'fc2'"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN"), std::string::npos) << e;
  Graph qg = quant::QuantizeGraph(fg, cal, o);
  EXPECT_NE(ErrorOf([&] { quant::QuantizeGraph(qg, cal, o); }).find("already quantized"),
            std::string::npos);
  data::Dataset wrong = SyntheticImages(4, 1, 32, 32, 1);
  EXPECT_NE(ErrorOf([&] { quant::QuantizeGraph(fg, wrong, o); }).find("expects input [1, 28, 28]"),
            std::string::npos);
  o.weight_scheme = "per-row";
  EXPECT_NE(ErrorOf([&] { quant::QuantizeGraph(fg, cal, o); }).find("unknown weight scheme"),
            std::string::npos);
}

TEST(Quantize, ModelFileRoundTripAndSize) {
  Graph fg = RandomModel("resnet20", 2, 12);
  data::Dataset cal = SyntheticImages(4, 1, 12, 12, 1);
  quant::QuantizeOptions o;
  o.calibration = 4;
  o.observer = "percentile";
  Graph qg = quant::QuantizeGraph(fg, cal, o);
  auto dir = ScratchDir("quant_roundtrip");
  SaveModel(fg, dir / "f.qmodel");
  SaveModel(qg, dir / "q.qmodel");
  Graph back = LoadModel(dir / "q.qmodel");
  for (size_t i = 0; i < qg.layers.size(); ++i) {
    EXPECT_EQ(QuantToJson(back.layers[i].quant), QuantToJson(qg.layers[i].quant));
    EXPECT_EQ(back.layers[i].quant.folded_into, qg.layers[i].quant.folded_into);
  }
  // The int8 file is well under half of the fp32 one (weights 1 byte each).
  EXPECT_LT(std::filesystem::file_size(dir / "q.qmodel") * 2,
            std::filesystem::file_size(dir / "f.qmodel"));
  std::filesystem::remove_all(dir);
}

TEST(Quantize, EveryRegisteredObserverQuantizesLenet5) {
  Graph fg = RandomModel("lenet5", 9);
  data::Dataset cal = SyntheticImages(24, 1, 28, 28, 4);
  for (const auto& info : quant::ObserverRegistry()) {
    quant::QuantizeOptions o;
    o.observer = info.name;
    o.calibration = 24;
    Graph qg = quant::QuantizeGraph(fg, cal, o);
    for (const Layer& l : qg.layers) {
      EXPECT_TRUE(std::isfinite(l.quant.out_scale) && l.quant.out_scale > 0)
          << info.name << " " << l.name;
      EXPECT_GE(l.quant.out_zero_point, -128);
      EXPECT_LE(l.quant.out_zero_point, 127);
      if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
        EXPECT_EQ(l.quant.observer, info.name);
      }
    }
    EXPECT_EQ(qg.metadata["quantization"]["observer"], info.name);
  }
}
