// THE integer numeric contract of qaccel, written once and used by every
// integer kernel (reference and fast), by the quantizer, and restated in the
// export manifest. Anything that must be bit-exact with hardware is here.
//
// Affine quantization:       real = scale * (q - zero_point)
//   activations: int8 asymmetric, q in [-128, 127], zero_point in [-128, 127];
//                a-bit (a = act_bits, 2..8): q in [-128, -128 + 2^a - 1] (act_max),
//                zero_point in the same range, still held in int8
//   weights:     int8, per-tensor asymmetric (zero_point in [-128, 127]) or
//                per-channel symmetric (zero_point 0, q in [-127, 127]);
//                n-bit per-channel symmetric (n = weight_bits, 2..8): zero_point 0,
//                q in [-(2^(n-1) - 1), 2^(n-1) - 1];
//                binary (weight_bits 1): q in {-1, +1}, zero_point 0,
//                scale[c] = alpha[c] = mean |w[c, ...]|
//                (all held in int8 tensors in memory; packed in the model file)
//   bias:        int32 at scale s_in * s_w[c], zero_point 0
//   input:       the graph's input transform; the default pixel / 255 -> scale 1/255,
//                zero_point -128, q = pixel - 128 (exact)
//
// Requantization ("multiplier and shift", gemmlowp style): a positive real
// multiplier m is stored as a Q31 integer M in [2^30, 2^31) and an exponent
// `shift` with  m = M * 2^(shift - 31).  Applying it to an int32 x:
//   1. x' = SaturatingLeftShift(x, max(shift, 0))
//   2. y  = SaturatingRoundingDoublingHighMul(x', M)  x' * M / 2^31 to nearest, ties toward +inf
//   3. r  = RoundingDivideByPOT(y, max(-shift, 0))    y / 2^-shift to nearest, ties away from zero
// (the two tie rules are gemmlowp's / tflite's, kept so results match them).
// Output pipeline of conv / linear, per output channel c (each stage exact):
//   acc   = bias[c] + sum_k (q_in[k] - zp_in) * (q_w[c,k] - zp_w[c])   int32
//   r     = MultiplyByQuantizedMultiplier(acc, M[c], shift[c])
//   v     = r + zp_out                                                  (int64, no overflow)
//   q_out = clamp(v, act_min, act_max)   (ReLU folded: act_min = max(-128, zp_out))
//   saturating cast to int8 (a no-op after the clamp, since act range is within int8)
#pragma once

#include <cstdint>
#include <limits>
#include <utility>

namespace qaccel::kernels {

inline constexpr int32_t kInt8Min = -128;
inline constexpr int32_t kInt8Max = 127;

// The stored requantization pair (M, shift): M in [kMinQ31Multiplier, 2^31)
// with shift in [kMinShift, kMaxShift], or (0, 0) for a multiplier that
// rounds to zero. Model files are checked against these on load, since a
// shift outside them is undefined behaviour in the shift helpers below.
inline constexpr int32_t kMinQ31Multiplier = int32_t{1} << 30;
inline constexpr int kMinShift = -31;
inline constexpr int kMaxShift = 30;

// a * b / 2^31 rounded to nearest, ties toward +infinity (0.5 -> 1, -0.5 -> 0,
// -1.5 -> -1). Overflow: the only overflowing input, a == b == INT32_MIN
// (true result 2^31), saturates to INT32_MAX.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min())
    return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  // Division truncates toward zero; the nudge (+2^30, or 1 - 2^30 below zero) turns
  // that into round to nearest with ties toward +infinity.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// x / 2^exponent, rounding half away from zero (exponent in [0, 31]). Never
// overflows (the magnitude only shrinks). exponent 0 returns x.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x * 2^exponent (exponent >= 0), saturating to [INT32_MIN, INT32_MAX].
inline int32_t SaturatingLeftShift(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int64_t v = static_cast<int64_t>(x) * (int64_t{1} << exponent);
  if (v > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  if (v < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(v);
}

// x * M * 2^(shift - 31), rounded as the three stages above say (high mul:
// nearest, ties up; right shift: nearest, ties away from zero; the left shift
// saturates). shift in [-31, 30]. Within 1 of the exact product.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(
      SaturatingRoundingDoublingHighMul(SaturatingLeftShift(x, left), multiplier), right);
}

// Adds the output zero point and clamps to [act_min, act_max] (a subrange of
// int8), in int64 so that r + zp cannot overflow. Result fits int8.
inline int8_t AddZeroPointAndClamp(int32_t r, int32_t zero_point, int32_t act_min,
                                   int32_t act_max) {
  int64_t v = static_cast<int64_t>(r) + zero_point;
  if (v < act_min) v = act_min;
  if (v > act_max) v = act_max;
  return static_cast<int8_t>(v);
}

// sum / count, rounding half away from zero (count > 0). Used by the integer
// average pools: the mean of q equals zp + mean(q - zp), so dividing the sum of
// the raw q values keeps the input's scale and zero point.
inline int32_t RoundingDivide(int32_t sum, int32_t count) {
  return sum >= 0 ? (sum + count / 2) / count : -((-sum + count / 2) / count);
}

// Quantizes a real value: clamp(round_half_away(real / scale) + zp, qmin, qmax).
int32_t QuantizeValue(double real, double scale, int32_t zero_point, int32_t qmin, int32_t qmax);

// Q31 multiplier and exponent for a real multiplier m > 0 (below or above 1):
// m = M * 2^(shift - 31), M in [2^30, 2^31) (rounded to nearest, half away from
// zero). m so small that it rounds to 0 (shift < -31) gives (0, 0): the output
// is then zp_out whatever the accumulator. Throws Error for m <= 0, NaN, Inf,
// or m >= 2^30 (shift would exceed 30).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int32_t shift = 0;
  double Real() const;  // M * 2^(shift - 31), for checks and the manifest
};
QuantizedMultiplier QuantizeMultiplier(double real_multiplier);

// ---- Accumulator bounds -------------------------------------------------
// One product (q_in - zp_in) * (q_w - zp_w): each factor is in [-255, 255]
// (q and zp both in [-128, 127]), so |product| <= 255 * 255 = 65,025. The
// int32 accumulator cannot overflow when  K * 65,025 + |bias| <= 2^31 - 1.
// kMaxAccumulationDepth keeps 16.7 M of headroom for the bias; kernels assert
// K <= kMaxAccumulationDepth and the quantizer checks the bias against
// MaxBiasMagnitude(K). (LeNet-5: K <= 400; ResNet-20: K <= 576.)
// Narrower operands tighten the bound: with a-bit activations |q_in - zp_in|
// <= 2^a - 1, with n-bit symmetric weights |q_w| <= 2^(n-1) - 1, with binary
// weights |q_w| = 1, so |product| <= MaxProductMagnitudeFor(n, a):
//   w8a8 65,025 (asymmetric weights) | w4a4 105 | w2a8 255 | w1a8 255 | w1a4 15
// The int32 accumulator is then safe up to (2^31 - 1 - |bias|) / that depth
// (w1a8: 8.4 M taps). The kernels keep the 8-bit depth limit for every width.
//
// Binary weights (w in {-1, +1}, zp_w = 0): the sum needs no multiplies,
//   sum_k w[k] * (a[k] - zp_in) = 2 * sum_{k: w[k] = +1} (a[k] - zp_in) - sum_k (a[k] - zp_in)
// (exact in int32 under the bound above); alpha[c] * s_in / s_out is the
// requantization multiplier of channel c, so the output pipeline is unchanged.
inline constexpr int64_t kMaxProductMagnitude = 255 * 255;
inline constexpr int64_t MaxProductMagnitudeFor(int weight_bits, int act_bits) {
  const int64_t a = (int64_t{1} << act_bits) - 1;
  const int64_t w = weight_bits == 1   ? 1
                    : weight_bits == 8 ? 255  // per-tensor asymmetric: q - zp in [-255, 255]
                                       : (int64_t{1} << (weight_bits - 1)) - 1;
  return a * w;
}
inline constexpr int64_t kMaxAccumulationDepth = 32767;
inline constexpr int64_t MaxBiasMagnitude(int64_t depth) {
  return std::numeric_limits<int32_t>::max() - depth * kMaxProductMagnitude;
}

// ---- Integer add (residual connections), as tflite does ------------------
// Inputs a (s_a, zp_a), b (s_b, zp_b), output (s_o, zp_o). With
// L = kAddLeftShift and t = 2 * max(s_a, s_b):
//   a' = MultiplyByQuantizedMultiplier((q_a - zp_a) << L, M_a, shift_a),  m_a = s_a / t
//   b' = MultiplyByQuantizedMultiplier((q_b - zp_b) << L, M_b, shift_b),  m_b = s_b / t
//   q  = clamp(MultiplyByQuantizedMultiplier(a' + b', M_o, shift_o) + zp_o), m_o = t / (2^L * s_o)
// (q - zp) < 2^9, so (q - zp) << 20 < 2^29 and a' + b' < 2^30: no overflow.
// QuantParams of an add layer hold multiplier/shift = [M_a, M_b, M_o] / [shift_a, shift_b,
// shift_o].
inline constexpr int kAddLeftShift = 20;

}  // namespace qaccel::kernels
