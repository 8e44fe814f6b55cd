// Fast fully connected kernels (see linear_fast.h).
#include "qaccel/kernels/fast/linear_fast.h"

#include <string>

#include "qaccel/kernels/fast/binary_fast.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "qaccel/core/error.h"

namespace qaccel::kernels::fast {

std::vector<float> TransposeLinearWeight(const LinearShape& s, const float* w) {
  std::vector<float> t(static_cast<size_t>(s.in_features * s.out_features));
  for (int64_t o = 0; o < s.out_features; ++o)
    for (int64_t i = 0; i < s.in_features; ++i)
      t[static_cast<size_t>(i * s.out_features + o)] = w[o * s.in_features + i];
  return t;
}

std::vector<int16_t> TransposeLinearWeightInt8(const LinearShape& s, const int8_t* w,
                                               const reference::RequantParams& p) {
  const int64_t pairs = (s.in_features + 1) / 2, O = s.out_features;
  std::vector<int16_t> t(static_cast<size_t>(pairs * O * 2), 0);
  for (int64_t o = 0; o < O; ++o) {
    const int32_t zp = p.weight_zero_point[p.per_channel ? o : 0];
    for (int64_t i = 0; i < s.in_features; ++i)
      t[static_cast<size_t>(((i / 2) * O + o) * 2 + i % 2)] =
          static_cast<int16_t>(w[o * s.in_features + i] - zp);
  }
  return t;
}

void LinearFloat(const LinearShape& s, const float* in, const float* wt, const float* bias,
                 float* out, void* scratch) {
  const int64_t O = s.out_features;
  float* acc = static_cast<float*>(scratch);
  for (int64_t o = 0; o < O; ++o) acc[o] = bias ? bias[o] : 0.0f;
  for (int64_t i = 0; i < s.in_features; ++i) {
    const float x = in[i];
    const float* w = wt + i * O;
    for (int64_t o = 0; o < O; ++o) acc[o] += w[o] * x;
  }
  for (int64_t o = 0; o < O; ++o) out[o] = acc[o];
}

void LinearInt8(const LinearShape& s, const reference::RequantParams& p, const int8_t* in,
                const int16_t* wt, const int32_t* bias, int8_t* out, void* scratch) {
  reference::CheckAccumulationDepth(s.in_features, "fast::LinearInt8");
  // Exact int32 arithmetic, so the order of the sum is free: inputs are taken
  // in pairs, (x_i * w_oi + x_i+1 * w_oi+1) with pmaddwd on SSE2.
  const int64_t O = s.out_features, pairs = (s.in_features + 1) / 2;
  int32_t* acc = static_cast<int32_t*>(scratch);
  for (int64_t o = 0; o < O; ++o) acc[o] = bias ? bias[o] : 0;
  for (int64_t ip = 0; ip < pairs; ++ip) {
    const int32_t x0 = in[2 * ip] - p.input_zero_point;
    const int32_t x1 = 2 * ip + 1 < s.in_features ? in[2 * ip + 1] - p.input_zero_point : 0;
    const int16_t* w = wt + ip * O * 2;
    int64_t o = 0;
#if defined(__SSE2__)
    const __m128i xp = _mm_set1_epi32(static_cast<int32_t>(
        static_cast<uint16_t>(static_cast<int16_t>(x0)) |
        (static_cast<uint32_t>(static_cast<uint16_t>(static_cast<int16_t>(x1))) << 16)));
    for (; o + 4 <= O; o += 4) {
      __m128i* a = reinterpret_cast<__m128i*>(acc + o);
      const __m128i wv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + o * 2));
      _mm_storeu_si128(a, _mm_add_epi32(_mm_loadu_si128(a), _mm_madd_epi16(wv, xp)));
    }
#endif
    for (; o < O; ++o) acc[o] += x0 * w[o * 2] + x1 * w[o * 2 + 1];
  }
  for (int64_t o = 0; o < O; ++o) {
    const int64_t c = p.per_channel ? o : 0;
    out[o] =
        AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(acc[o], p.multiplier[c], p.shift[c]),
                             p.output_zero_point, p.act_min, p.act_max);
  }
}

// ---- binary weights (binary_fast.h) ----

BinaryLinearWeights PrepareBinaryLinear(const LinearShape& s, const int8_t* weight) {
  BinaryLinearWeights w;
  w.plus_begin.push_back(0);
  for (int64_t o = 0; o < s.out_features; ++o) {
    for (int64_t i = 0; i < s.in_features; ++i)
      if (weight[o * s.in_features + i] > 0) w.plus.push_back(static_cast<int32_t>(i));
    w.plus_begin.push_back(static_cast<int32_t>(w.plus.size()));
  }
  return w;
}

void LinearBinary(const LinearShape& s, const reference::RequantParams& p, const int8_t* in,
                  const BinaryLinearWeights& w, const int32_t* bias, int8_t* out, void* scratch) {
  reference::CheckAccumulationDepth(s.in_features, "fast::LinearBinary");
  int32_t* x = static_cast<int32_t*>(scratch);
  int32_t total = 0;
  for (int64_t i = 0; i < s.in_features; ++i) {
    x[i] = in[i] - p.input_zero_point;
    total += x[i];
  }
  for (int64_t o = 0; o < s.out_features; ++o) {
    int32_t plus = 0;
    for (int32_t j = w.plus_begin[static_cast<size_t>(o)];
         j < w.plus_begin[static_cast<size_t>(o) + 1]; ++j)
      plus += x[w.plus[static_cast<size_t>(j)]];
    const int64_t c = p.per_channel ? o : 0;
    out[o] =
        AddZeroPointAndClamp(MultiplyByQuantizedMultiplier((bias ? bias[o] : 0) + 2 * plus - total,
                                                           p.multiplier[c], p.shift[c]),
                             p.output_zero_point, p.act_min, p.act_max);
  }
}

}  // namespace qaccel::kernels::fast
