// The integer numeric contract: multiplier/shift decomposition below and
// above 1, rounding of ties, saturation, zero points, accumulator bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "qaccel/core/error.h"
#include "qaccel/core/rng.h"
#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/numeric_contract.h"

using namespace qaccel;
using namespace qaccel::kernels;

namespace {
// round(x / 2^e), half away from zero, computed in floating point.
int64_t RoundHalfAway(double v) { return static_cast<int64_t>(std::round(v)); }
}  // namespace

TEST(NumericContract, QuantizeMultiplierBelowOne) {
  auto q = QuantizeMultiplier(0.5);
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, 0);
  q = QuantizeMultiplier(0.75);
  EXPECT_EQ(q.multiplier, 3 << 29);
  EXPECT_EQ(q.shift, 0);
  q = QuantizeMultiplier(0.25);
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, -1);
  for (double m : {0.001234, 3.1e-5, 0.0999, 0.7071}) {
    q = QuantizeMultiplier(m);
    EXPECT_GE(q.multiplier, 1 << 30);
    EXPECT_LE(q.shift, 0);
    EXPECT_NEAR(q.Real() / m, 1.0, 1e-9) << m;
  }
}

TEST(NumericContract, QuantizeMultiplierAboveOne) {
  auto q = QuantizeMultiplier(1.0);
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, 1);
  q = QuantizeMultiplier(3.7);
  EXPECT_EQ(q.shift, 2);
  EXPECT_NEAR(q.Real(), 3.7, 1e-8);
  q = QuantizeMultiplier(1000.0);
  EXPECT_EQ(q.shift, 10);
  EXPECT_NEAR(q.Real(), 1000.0, 1e-6);
  // Applying 3.7 to 100: 370 exactly.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, q.multiplier, q.shift), 100000);
  auto q37 = QuantizeMultiplier(3.7);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, q37.multiplier, q37.shift), 370);
}

TEST(NumericContract, QuantizeMultiplierEdges) {
  // A fraction that rounds up to 1.0 moves to the next exponent.
  auto q = QuantizeMultiplier(1.0 - std::ldexp(1.0, -40));
  EXPECT_EQ(q.multiplier, 1 << 30);
  EXPECT_EQ(q.shift, 1);
  q = QuantizeMultiplier(1e-12);  // below 2^-31 * 2^-... : rounds to zero multiplier
  EXPECT_EQ(q.multiplier, 0);
  EXPECT_EQ(q.shift, 0);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(123456, 0, 0), 0);
  EXPECT_THROW(QuantizeMultiplier(0.0), Error);
  EXPECT_THROW(QuantizeMultiplier(-0.5), Error);
  EXPECT_THROW(QuantizeMultiplier(std::nan("")), Error);
  EXPECT_THROW(QuantizeMultiplier(std::ldexp(1.0, 31)), Error);
}

TEST(NumericContract, DoublingHighMulRoundsToNearestTiesUp) {
  // 1 * 2^30 / 2^31 = 0.5 -> 1; -0.5 -> 0; 1.5 -> 2; -1.5 -> -1 (gemmlowp's rule); -0.75 -> -1.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1, 1 << 30), 1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1, 1 << 30), 0);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3, 1 << 30), 2);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, 1 << 30), -1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, 1 << 29), -1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-5, 1 << 30), -2);
  for (int32_t a = -3000; a <= 3000; ++a)  // ties always go up: floor(a / 4 + 1/2)
    ASSERT_EQ(SaturatingRoundingDoublingHighMul(a, 1 << 29),
              static_cast<int32_t>(std::floor(a / 4.0 + 0.5)))
        << a;
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1 << 20, 1 << 30), 1 << 19);
  // The one overflow: INT32_MIN * INT32_MIN saturates.
  const int32_t mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(mn, mn), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(mn, std::numeric_limits<int32_t>::max()),
            -2147483647);
}

TEST(NumericContract, RoundingDivideByPOTTies) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5
  EXPECT_EQ(RoundingDivideByPOT(6, 2), 2);    // 1.5
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);  // -1.5
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);  // -1.25
  EXPECT_EQ(RoundingDivideByPOT(7, 2), 2);    // 1.75
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);
  EXPECT_EQ(RoundingDivideByPOT(17, 0), 17);
  EXPECT_EQ(RoundingDivideByPOT(std::numeric_limits<int32_t>::min(), 31), -1);
  EXPECT_EQ(RoundingDivideByPOT(std::numeric_limits<int32_t>::max(), 31), 1);
  for (int e = 1; e <= 8; ++e)
    for (int32_t x = -1000; x <= 1000; ++x)
      ASSERT_EQ(RoundingDivideByPOT(x, e), RoundHalfAway(std::ldexp(x, -e))) << x << " " << e;
}

TEST(NumericContract, MultiplyByQuantizedMultiplierMatchesRealWithinOne) {
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    const double m = std::exp((rng.Uniform01() - 0.8) * 12);  // ~ 6e-5 .. 11
    const int32_t x = static_cast<int32_t>(rng.Below(2000001)) - 1000000;
    const auto q = QuantizeMultiplier(m);
    const int64_t got = MultiplyByQuantizedMultiplier(x, q.multiplier, q.shift);
    const double want = x * q.Real();
    ASSERT_LE(std::fabs(static_cast<double>(got) - want), 1.0) << x << " * " << m;
    ASSERT_LE(std::fabs(static_cast<double>(got) - std::round(want)), 1.0);
  }
}

TEST(NumericContract, SaturationAndZeroPoints) {
  EXPECT_EQ(SaturatingLeftShift(1 << 30, 2), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(SaturatingLeftShift(-(1 << 30), 2), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(SaturatingLeftShift(-3, 4), -48);
  EXPECT_EQ(AddZeroPointAndClamp(200, 0, -128, 127), 127);
  EXPECT_EQ(AddZeroPointAndClamp(-300, 0, -128, 127), -128);
  EXPECT_EQ(AddZeroPointAndClamp(10, -128, -128, 127), -118);
  EXPECT_EQ(AddZeroPointAndClamp(-5, -20, -20, 127), -20);  // folded ReLU: act_min = zp
  EXPECT_EQ(AddZeroPointAndClamp(std::numeric_limits<int32_t>::max(), 100, -128, 127),
            127);                                       // no int32 overflow
  EXPECT_EQ(QuantizeValue(0.5, 1.0, 0, -128, 127), 1);  // tie: half away from zero
  EXPECT_EQ(QuantizeValue(-0.5, 1.0, 0, -128, 127), -1);
  EXPECT_EQ(QuantizeValue(1000, 1.0, 0, -128, 127), 127);
  EXPECT_EQ(QuantizeValue(-1000, 1.0, 0, -128, 127), -128);
  EXPECT_EQ(QuantizeValue(0.0, 0.1, -128, -128, 127), -128);  // real 0 -> zero point, exactly
  for (int p = 0; p < 256; ++p)  // the input convention: q = pixel - 128 exactly
    ASSERT_EQ(QuantizeValue(p / 255.0, 1.0f / 255.0f, -128, -128, 127), p - 128);
  EXPECT_EQ(RoundingDivide(5, 2), 3);
  EXPECT_EQ(RoundingDivide(-5, 2), -3);
  EXPECT_EQ(RoundingDivide(4, 8), 1);
  EXPECT_EQ(RoundingDivide(-4, 8), -1);
  EXPECT_EQ(RoundingDivide(-3, 8), 0);
}

TEST(NumericContract, AccumulatorBounds) {
  EXPECT_EQ(kMaxAccumulationDepth * kMaxProductMagnitude + MaxBiasMagnitude(kMaxAccumulationDepth),
            std::numeric_limits<int32_t>::max());
  // Worst case at the bound: every product is (-128 - 127) * (-128 - 127) = 65025.
  const int64_t k = kMaxAccumulationDepth;
  std::vector<int8_t> in(static_cast<size_t>(k), -128), w(static_cast<size_t>(k), -128);
  const int32_t zp = 127, mult = 1 << 30, sh = 0;
  reference::RequantParams p;
  p.input_zero_point = 127;
  p.weight_zero_point = &zp;
  p.multiplier = &mult;
  p.shift = &sh;
  int32_t acc = 0;
  reference::LinearAccumulateInt8({k, 1}, p, in.data(), w.data(), nullptr, &acc);
  EXPECT_EQ(acc, k * 65025);
  // One more term could overflow: the kernel refuses.
  in.push_back(-128);
  w.push_back(-128);
  EXPECT_THROW(reference::LinearAccumulateInt8({k + 1, 1}, p, in.data(), w.data(), nullptr, &acc),
               Error);
}
