// Engine: float vs int8 on random LeNet-5 / ResNet-20, buffer planning,
// thread-count independence, input quantization, evaluation.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/test_models.h"
#include "qaccel/engine/engine.h"
#include "qaccel/quant/quantize.h"

using namespace qaccel;
using namespace qaccel::testing;

namespace {

struct Compared {
  double agreement = 0, mean_abs_err = 0, logit_rms = 0;
};

Compared CompareFloatInt8(const Graph& fg, const Graph& qg, const data::Dataset& d) {
  engine::Engine fe(fg, {2}), qe(qg, {2});
  auto f = fe.Run(d.pixels.data(), d.n);
  auto q = qe.Run(d.pixels.data(), d.n);
  const int64_t k = fe.num_outputs();
  Compared c;
  int64_t agree = 0;
  for (int64_t i = 0; i < d.n; ++i)
    agree += engine::ArgMax(f.data() + i * k, k) == engine::ArgMax(q.data() + i * k, k);
  for (size_t i = 0; i < f.size(); ++i) {
    c.mean_abs_err += std::fabs(f[i] - q[i]);
    c.logit_rms += f[i] * f[i];
  }
  c.mean_abs_err /= static_cast<double>(f.size());
  c.logit_rms = std::sqrt(c.logit_rms / static_cast<double>(f.size()));
  c.agreement = static_cast<double>(agree) / static_cast<double>(d.n);
  return c;
}

}  // namespace

TEST(Engine, FloatVsInt8RandomLenet5BothSchemes) {
  Graph fg = RandomModel("lenet5", 3);
  data::Dataset cal = SyntheticImages(64, 1, 28, 28, 11),
                test = SyntheticImages(200, 1, 28, 28, 12);
  for (const char* scheme : {quant::kPerTensorAsymmetric, quant::kPerChannelSymmetric}) {
    quant::QuantizeOptions o;
    o.observer = "minmax";
    o.weight_scheme = scheme;
    o.calibration = 64;
    Graph qg = quant::QuantizeGraph(fg, cal, o);
    Compared c = CompareFloatInt8(fg, qg, test);
    std::printf("lenet5 %s: top-1 agreement %.3f, mean |logit error| %.4f (logit rms %.4f)\n",
                scheme, c.agreement, c.mean_abs_err, c.logit_rms);
    EXPECT_GE(c.agreement, 0.9) << scheme;
    EXPECT_LT(c.mean_abs_err, 0.05 * c.logit_rms) << scheme;
  }
}

TEST(Engine, FloatVsInt8RandomResnet20FoldsBatchNormAndAdds) {
  Graph fg = RandomModel("resnet20", 5, 12);
  data::Dataset cal = SyntheticImages(16, 1, 12, 12, 21), test = SyntheticImages(24, 1, 12, 12, 22);
  quant::QuantizeOptions o;
  o.observer = "minmax";
  o.calibration = 16;
  Graph qg = quant::QuantizeGraph(fg, cal, o);
  const Layer& bn = qg.layers[static_cast<size_t>(qg.Find("bn1"))];
  EXPECT_EQ(bn.quant.folded_into, "conv1");
  EXPECT_TRUE(bn.params.empty());
  Compared c = CompareFloatInt8(fg, qg, test);
  std::printf("resnet20: top-1 agreement %.3f, mean |logit error| %.4f (logit rms %.4f)\n",
              c.agreement, c.mean_abs_err, c.logit_rms);
  EXPECT_GE(c.agreement, 0.75);
  EXPECT_LT(c.mean_abs_err, 0.15 * c.logit_rms);
}

TEST(Engine, ArenaIsPlannedWithReuse) {
  engine::Engine e(RandomModel("lenet5", 1), {1});
  // LeNet-5 float: the largest live pair is input (784) + conv1 (4704) floats.
  EXPECT_GE(e.activation_bytes(), (784 + 4704) * 4);
  EXPECT_LT(e.activation_bytes(), e.unplanned_bytes());
  EXPECT_GE(e.arena_bytes(), e.activation_bytes() + e.scratch_bytes());
  EXPECT_GE(e.scratch_bytes(), 25 * 784 * 4);  // conv1's im2col columns
  engine::Engine r(RandomModel("resnet20", 1, 12), {1});
  EXPECT_LT(r.activation_bytes() * 3, r.unplanned_bytes());  // reuse matters for deep graphs
  engine::Engine ref(RandomModel("lenet5", 1), {1, true});
  EXPECT_EQ(ref.scratch_bytes(), 0);  // the reference kernels need no scratch
}

TEST(Engine, ThreadCountDoesNotChangeResults) {
  Graph fg = RandomModel("lenet5", 4);
  data::Dataset d = SyntheticImages(37, 1, 28, 28, 5);
  quant::QuantizeOptions o;
  o.observer = "minmax";
  o.calibration = 37;
  Graph qg = quant::QuantizeGraph(fg, d, o);
  EXPECT_EQ(engine::Engine(fg, {1}).Run(d.pixels.data(), d.n),
            engine::Engine(fg, {3}).Run(d.pixels.data(), d.n));
  EXPECT_EQ(engine::Engine(qg, {1}).RunInt8(d.pixels.data(), d.n),
            engine::Engine(qg, {2}).RunInt8(d.pixels.data(), d.n));
}

TEST(Engine, InputQuantizationIsPixelMinus128AndNoFloatInBetween) {
  Graph fg = RandomModel("lenet5", 6);
  data::Dataset d = SyntheticImages(8, 1, 28, 28, 9);
  quant::QuantizeOptions o;
  o.calibration = 8;
  Graph qg = quant::QuantizeGraph(fg, d, o);
  engine::Engine e(qg, {1});
  bool checked = false;
  e.RunTappedInt8(d.image(0), [&](int layer, const int8_t* v, int64_t n) {
    if (layer != 0) return;
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v[i], d.image(0)[i] - 128);
    checked = true;
  });
  EXPECT_TRUE(checked);
  // Dequantized logits are exactly scale * (q - zp) of the int8 logits.
  auto q = e.RunInt8(d.pixels.data(), d.n);
  auto f = e.Run(d.pixels.data(), d.n);
  const QuantParams& oq = qg.layers.back().quant;
  for (size_t i = 0; i < q.size(); ++i)
    ASSERT_EQ(f[i], oq.out_scale * static_cast<float>(q[i] - oq.out_zero_point));
  EXPECT_THROW(engine::Engine(fg).RunInt8(d.pixels.data(), 1), Error);
}

TEST(Engine, EvaluateAccuracyAndAgreement) {
  Graph fg = RandomModel("lenet5", 8);
  data::Dataset d = SyntheticImages(50, 1, 28, 28, 3);
  engine::Engine e(fg, {2});
  auto logits = e.Run(d.pixels.data(), d.n);
  for (int64_t i = 0; i < d.n; ++i)  // label every image with the model's own prediction
    d.labels[static_cast<size_t>(i)] =
        static_cast<uint8_t>(engine::ArgMax(logits.data() + i * 10, 10));
  d.labels[0] = static_cast<uint8_t>((d.labels[0] + 1) % 10);  // one wrong label
  auto r = engine::Evaluate(fg, d, &fg, 0, {2});
  EXPECT_EQ(r.samples, 50);
  EXPECT_EQ(r.correct, 49);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.98);
  EXPECT_TRUE(r.has_agreement);
  EXPECT_DOUBLE_EQ(r.agreement, 1.0);
  // Against a different model the agreement is the count of equal argmaxes,
  // not trivially 1 (a model always agrees with itself).
  Graph other = RandomModel("lenet5", 9);
  auto other_logits = engine::Engine(other, {1}).Run(d.pixels.data(), d.n);
  int64_t agree = 0;
  for (int64_t i = 0; i < d.n; ++i)
    if (engine::ArgMax(logits.data() + i * 10, 10) ==
        engine::ArgMax(other_logits.data() + i * 10, 10))
      ++agree;
  ASSERT_LT(agree, d.n) << "seed 9 must disagree somewhere for this check to mean anything";
  auto ro = engine::Evaluate(fg, d, &other, 0, {2});
  EXPECT_EQ(ro.agree, agree);
  EXPECT_DOUBLE_EQ(ro.agreement, static_cast<double>(agree) / static_cast<double>(d.n));
  auto lim = engine::Evaluate(fg, d, nullptr, 10, {1});
  EXPECT_EQ(lim.samples, 10);
  EXPECT_FALSE(lim.has_agreement);
  data::Dataset wrong = SyntheticImages(4, 1, 32, 32, 1);
  EXPECT_THROW(engine::Evaluate(fg, wrong), Error);
}

TEST(Engine, FastKernelsBitIdenticalToReferenceOnWholeModels) {
  for (const char* zoo : {"lenet5", "resnet20"}) {
    const int64_t hw = std::string(zoo) == "lenet5" ? 28 : 12;
    Graph fg = RandomModel(zoo, 31, hw);
    data::Dataset d = SyntheticImages(12, 1, hw, hw, 8);
    quant::QuantizeOptions o;
    o.calibration = 12;
    o.observer = "minmax";
    Graph qg = quant::QuantizeGraph(fg, d, o);
    EXPECT_EQ(engine::Engine(fg, {1, true}).Run(d.pixels.data(), d.n),
              engine::Engine(fg, {2, false}).Run(d.pixels.data(), d.n))
        << zoo;
    EXPECT_EQ(engine::Engine(qg, {1, true}).RunInt8(d.pixels.data(), d.n),
              engine::Engine(qg, {2, false}).RunInt8(d.pixels.data(), d.n))
        << zoo;
  }
}
