// Fast fully connected kernels (see linear_fast.h).
#include "qaccel/kernels/fast/linear_fast.h"

#include <string>

#include "qaccel/core/error.h"

namespace qaccel::kernels::fast {

std::vector<float> TransposeLinearWeight(const LinearShape& s, const float* w) {
  std::vector<float> t(static_cast<size_t>(s.in_features * s.out_features));
  for (int64_t o = 0; o < s.out_features; ++o)
    for (int64_t i = 0; i < s.in_features; ++i) t[static_cast<size_t>(i * s.out_features + o)] = w[o * s.in_features + i];
  return t;
}

std::vector<int16_t> TransposeLinearWeightInt8(const LinearShape& s, const int8_t* w,
                                               const reference::RequantParams& p) {
  std::vector<int16_t> t(static_cast<size_t>(s.in_features * s.out_features));
  for (int64_t o = 0; o < s.out_features; ++o) {
    const int32_t zp = p.weight_zero_point[p.per_channel ? o : 0];
    for (int64_t i = 0; i < s.in_features; ++i)
      t[static_cast<size_t>(i * s.out_features + o)] = static_cast<int16_t>(w[o * s.in_features + i] - zp);
  }
  return t;
}

void LinearFloat(const LinearShape& s, const float* in, const float* wt, const float* bias, float* out,
                 void* scratch) {
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

void LinearInt8(const LinearShape& s, const reference::RequantParams& p, const int8_t* in, const int16_t* wt,
                const int32_t* bias, int8_t* out, void* scratch) {
  Check(s.in_features <= kMaxAccumulationDepth,
        "fast::LinearInt8: accumulation depth " + std::to_string(s.in_features) + " exceeds the int32 bound");
  const int64_t O = s.out_features;
  int32_t* acc = static_cast<int32_t*>(scratch);
  for (int64_t o = 0; o < O; ++o) acc[o] = bias ? bias[o] : 0;
  for (int64_t i = 0; i < s.in_features; ++i) {
    const int32_t x = in[i] - p.input_zero_point;
    const int16_t* w = wt + i * O;
    for (int64_t o = 0; o < O; ++o) acc[o] += x * w[o];
  }
  for (int64_t o = 0; o < O; ++o) {
    const int64_t c = p.per_channel ? o : 0;
    out[o] = AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(acc[o], p.multiplier[c], p.shift[c]),
                                  p.output_zero_point, p.act_min, p.act_max);
  }
}

}  // namespace qaccel::kernels::fast
