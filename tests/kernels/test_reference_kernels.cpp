// Each reference kernel on small hand-checked cases (float and integer).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/kernels/reference/int8_kernels.h"

using namespace qaccel::kernels;
using namespace qaccel::kernels::reference;

TEST(FloatKernels, Conv2dNoPad) {
  // 1x3x3 input, one 2x2 filter, bias 1.
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 0, 0, -1}, b = {1};
  ConvShape s{1, 3, 3, 1, 2, 2, 2, 2, 1, 1, 0, 0, 1};
  std::vector<float> out(4);
  ConvFloat(s, in.data(), w.data(), b.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{1 - 5 + 1, 2 - 6 + 1, 4 - 8 + 1, 5 - 9 + 1}));
}

TEST(FloatKernels, Conv2dPadStrideGroups) {
  // 2 channels 2x2, groups 2, 1x1 kernels {2, -1}: depthwise scaling.
  const std::vector<float> in = {1, 2, 3, 4, 10, 20, 30, 40}, w = {2, -1};
  ConvShape s{2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 2};
  std::vector<float> out(8);
  ConvFloat(s, in.data(), w.data(), nullptr, out.data());
  EXPECT_EQ(out, (std::vector<float>{2, 4, 6, 8, -10, -20, -30, -40}));
  // 3x3 all-ones kernel, pad 1, stride 2 on a 3x3 of ones: corners see 4 values, centre 9.
  const std::vector<float> ones(9, 1.0f), k(9, 1.0f);
  ConvShape s2{1, 3, 3, 1, 2, 2, 3, 3, 2, 2, 1, 1, 1};
  std::vector<float> o2(4);
  ConvFloat(s2, ones.data(), k.data(), nullptr, o2.data());
  EXPECT_EQ(o2, (std::vector<float>{4, 4, 4, 4}));
}

TEST(FloatKernels, LinearPoolsReluAddBatchNorm) {
  const std::vector<float> x = {1, -2, 3}, w = {1, 1, 1, 0, 2, 0}, b = {0.5f, -1};
  std::vector<float> y(2);
  LinearFloat({3, 2}, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{2.5f, -5}));

  const std::vector<float> m = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  PoolShape p{1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0};
  std::vector<float> o(4);
  AvgPoolFloat(p, m.data(), o.data());
  EXPECT_EQ(o, (std::vector<float>{3.5f, 5.5f, 11.5f, 13.5f}));
  MaxPoolFloat(p, m.data(), o.data());
  EXPECT_EQ(o, (std::vector<float>{6, 8, 14, 16}));
  std::vector<float> g(1);
  GlobalAvgPoolFloat(1, 16, m.data(), g.data());
  EXPECT_FLOAT_EQ(g[0], 8.5f);

  std::vector<float> r(3);
  ReluFloat(3, x.data(), r.data());
  EXPECT_EQ(r, (std::vector<float>{1, 0, 3}));
  AddFloat(3, x.data(), x.data(), r.data());
  EXPECT_EQ(r, (std::vector<float>{2, -4, 6}));

  const std::vector<float> bn_in = {1, 3, 10, 20}, gamma = {2, 1}, beta = {0, 1}, mean = {2, 10},
                           var = {4 - 1e-5f, 1 - 1e-5f};
  std::vector<float> bn(4);
  BatchNormFloat(2, 2, bn_in.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f,
                 bn.data());
  EXPECT_NEAR(bn[0], -1, 1e-5);  // 2 * (1 - 2) / 2
  EXPECT_NEAR(bn[1], 1, 1e-5);
  EXPECT_NEAR(bn[2], 1, 1e-5);  // (10 - 10) / 1 + 1
  EXPECT_NEAR(bn[3], 11, 1e-5);
}

namespace {
struct Requant {
  std::vector<int32_t> wzp, mult, shift;
  RequantParams Params(int32_t in_zp, int32_t out_zp, int32_t lo = -128, int32_t hi = 127) const {
    RequantParams p;
    p.input_zero_point = in_zp;
    p.weight_zero_point = wzp.data();
    p.multiplier = mult.data();
    p.shift = shift.data();
    p.per_channel = mult.size() > 1;
    p.output_zero_point = out_zp;
    p.act_min = lo;
    p.act_max = hi;
    return p;
  }
};
}  // namespace

TEST(Int8Kernels, ConvWithZeroPointsAndRequant) {
  // in (zp 10): 3x3, w (zp -1): 2x2, bias 5, multiplier 0.5, out zp -3.
  const std::vector<int8_t> in = {11, 12, 13, 14, 15, 16, 17, 18, 19};  // real-ish 1..9
  const std::vector<int8_t> w = {0, -1, -1, -2};                        // (w - zp) = {1, 0, 0, -1}
  const std::vector<int32_t> bias = {5};
  auto half = QuantizeMultiplier(0.5);
  Requant r{{-1}, {half.multiplier}, {half.shift}};
  ConvShape s{1, 3, 3, 1, 2, 2, 2, 2, 1, 1, 0, 0, 1};
  std::vector<int8_t> out(4);
  ConvInt8(s, r.Params(10, -3), in.data(), w.data(), bias.data(), out.data());
  // acc = 5 + (1 - 5) = 1 -> 0.5 -> round half away = 1 -> + (-3) = -2; all four windows equal.
  EXPECT_EQ(out, (std::vector<int8_t>{-2, -2, -2, -2}));
  // Padding contributes nothing (it is real 0 = zp).
  ConvShape sp{1, 3, 3, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1};
  const std::vector<int8_t> k9(9, 1);  // w - zp = 2 everywhere
  auto one = QuantizeMultiplier(1.0);
  Requant r1{{-1}, {one.multiplier}, {one.shift}};
  std::vector<int8_t> o9(9);
  ConvInt8(sp, r1.Params(10, 0), in.data(), k9.data(), nullptr, o9.data());
  EXPECT_EQ(o9[0], 2 * (1 + 2 + 4 + 5));  // top-left corner sees in-values 1, 2, 4, 5
  EXPECT_EQ(o9[4], 90);                   // centre: 2 * (1 + ... + 9)
  ConvInt8(sp, r1.Params(10, 50), in.data(), k9.data(), nullptr, o9.data());
  EXPECT_EQ(o9[4], 127);  // 90 + 50 saturates at 127
  EXPECT_EQ(o9[0], 24 + 50);
}

TEST(Int8Kernels, LinearPerChannelAndReluClamp) {
  const std::vector<int8_t> x = {-128, -100, 0};  // zp -128: real-ish 0, 28, 128
  const std::vector<int8_t> w = {1, 1, 1, -1, 0, 0};
  auto a = QuantizeMultiplier(0.25), b = QuantizeMultiplier(2.0);
  Requant r{{0, 0}, {a.multiplier, b.multiplier}, {a.shift, b.shift}};
  std::vector<int8_t> y(2);
  LinearInt8({3, 2}, r.Params(-128, 0), x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y[0], 39);  // (0 + 28 + 128) / 4 = 39
  EXPECT_EQ(y[1], 0);   // -0 * 2
  const std::vector<int32_t> bias = {0, -30};
  LinearInt8({3, 2}, r.Params(-128, -10, -10, 127), x.data(), w.data(), bias.data(), y.data());
  EXPECT_EQ(y[0], 29);   // 39 - 10
  EXPECT_EQ(y[1], -10);  // -60 - 10 clamped at act_min = zp (folded ReLU)
}

TEST(Int8Kernels, AvgPoolRoundsHalfAwayFromZero) {
  PoolShape p{1, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0};
  int8_t o = 0;
  const std::vector<int8_t> a = {1, 2, 2, 2}, b = {-1, -2, -2, -2}, c = {1, 2, 1, 2},
                            d = {-1, -2, -1, -2};
  AvgPoolInt8(p, 0, -128, 127, a.data(), &o);
  EXPECT_EQ(o, 2);  // 1.75
  AvgPoolInt8(p, 0, -128, 127, b.data(), &o);
  EXPECT_EQ(o, -2);  // -1.75
  AvgPoolInt8(p, 0, -128, 127, c.data(), &o);
  EXPECT_EQ(o, 2);  // 1.5 -> 2
  AvgPoolInt8(p, 0, -128, 127, d.data(), &o);
  EXPECT_EQ(o, -2);  // -1.5 -> -2
  // Padding counts as the zero point: a 2x2 window at offset -1 over [[4]] with zp -4.
  PoolShape pp{1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1};
  const int8_t one = 4;
  AvgPoolInt8(pp, -4, -128, 127, &one, &o);
  EXPECT_EQ(o, -2);  // (4 - 4 - 4 - 4) / 4 = -2: real (8 + 0 + 0 + 0) / 4 = 2 -> q = zp + 2
}

TEST(Int8Kernels, MaxPoolGlobalAvgRelu) {
  const std::vector<int8_t> m = {-5, 3, 7, -128, 0, 1, 2, 127, 9, 9, 9, 9, -1, -1, -1, -2};
  PoolShape p{1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0};
  std::vector<int8_t> o(4);
  MaxPoolInt8(p, m.data(), o.data());
  EXPECT_EQ(o, (std::vector<int8_t>{3, 127, 9, 9}));
  std::vector<int8_t> g(2);
  GlobalAvgPoolInt8(2, 8, m.data(), g.data());
  EXPECT_EQ(g[0], 1);  // (-5 + 3 + 7 - 128 + 0 + 1 + 2 + 127) / 8 = 0.875 -> 1
  EXPECT_EQ(g[1], 4);  // (36 - 5) / 8 = 3.875 -> 4
}

TEST(Int8Kernels, AddRescalesToACommonScale) {
  // a: scale 0.1, zp 0; b: scale 0.05, zp 10; out: scale 0.2, zp -5.
  const double sa = 0.1, sb = 0.05, so = 0.2, t = 2 * std::max(sa, sb);
  auto ma = QuantizeMultiplier(sa / t), mb = QuantizeMultiplier(sb / t),
       mo = QuantizeMultiplier(t / (std::ldexp(1.0, kAddLeftShift) * so));
  AddParams p;
  p.a_zero_point = 0;
  p.b_zero_point = 10;
  p.output_zero_point = -5;
  p.a_multiplier = ma.multiplier;
  p.a_shift = ma.shift;
  p.b_multiplier = mb.multiplier;
  p.b_shift = mb.shift;
  p.output_multiplier = mo.multiplier;
  p.output_shift = mo.shift;
  const std::vector<int8_t> a = {10, -20, 127, 3}, b = {30, -10, 127, 11};
  std::vector<int8_t> out(4);
  AddInt8(4, p, a.data(), b.data(), out.data());
  // real: 1.0 + 1.0 = 2.0 -> 10 - 5 = 5; -2.0 - 1.0 = -3 -> -15 - 5 = -20;
  // 12.7 + 5.85 = 18.55 -> 92.75 -> 93 - 5 = 88; 0.3 + 0.05 = 0.35 -> 1.75 -> 2 - 5 = -3.
  EXPECT_EQ(out, (std::vector<int8_t>{5, -20, 88, -3}));
}
