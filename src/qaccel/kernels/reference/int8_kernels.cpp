// Integer reference kernels (see int8_kernels.h and numeric_contract.h).
#include "qaccel/kernels/reference/int8_kernels.h"

#include <algorithm>
#include <string>

#include "qaccel/core/error.h"

namespace qaccel::kernels::reference {
void CheckAccumulationDepth(int64_t depth, const char* op) {
  Check(depth <= kMaxAccumulationDepth,
        std::string(op) + ": accumulation depth " + std::to_string(depth) +
            " exceeds the int32 accumulator bound " + std::to_string(kMaxAccumulationDepth) +
            " (numeric_contract.h)");
}

namespace {

int8_t Requantize(const RequantParams& p, int64_t channel, int32_t acc) {
  const int64_t c = p.per_channel ? channel : 0;
  return AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(acc, p.multiplier[c], p.shift[c]),
                              p.output_zero_point, p.act_min, p.act_max);
}

// Output `o` of a linear layer before requantization: bias + sum of
// zero-point-corrected products (shared by LinearAccumulateInt8/LinearInt8).
int32_t LinearAccumulator(const LinearShape& s, const RequantParams& p, const int8_t* in,
                          const int8_t* weight, const int32_t* bias, int64_t o) {
  const int32_t w_zp = p.weight_zero_point[p.per_channel ? o : 0];
  const int8_t* w = weight + o * s.in_features;
  int32_t acc = bias ? bias[o] : 0;
  for (int64_t i = 0; i < s.in_features; ++i) acc += (in[i] - p.input_zero_point) * (w[i] - w_zp);
  return acc;
}

}  // namespace

void ConvInt8(const ConvShape& s, const RequantParams& p, const int8_t* in, const int8_t* weight,
              const int32_t* bias, int8_t* out) {
  CheckAccumulationDepth(s.depth(), "ConvInt8");
  const int64_t in_per_group = s.in_c / s.groups, out_per_group = s.out_c / s.groups;
  for (int64_t o = 0; o < s.out_c; ++o) {
    const int64_t g = o / out_per_group;
    const int32_t w_zp = p.weight_zero_point[p.per_channel ? o : 0];
    const int8_t* w_o = weight + o * in_per_group * s.kernel_h * s.kernel_w;
    for (int64_t y = 0; y < s.out_h; ++y) {
      for (int64_t x = 0; x < s.out_w; ++x) {
        int32_t acc = bias ? bias[o] : 0;
        for (int64_t i = 0; i < in_per_group; ++i) {
          const int8_t* in_c = in + (g * in_per_group + i) * s.in_h * s.in_w;
          for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
              const int64_t ix = x * s.stride_w - s.pad_w + kx;
              if (ix < 0 || ix >= s.in_w) continue;
              const int32_t a = in_c[iy * s.in_w + ix] - p.input_zero_point;
              const int32_t w = w_o[(i * s.kernel_h + ky) * s.kernel_w + kx] - w_zp;
              acc += a * w;
            }
          }
        }
        out[(o * s.out_h + y) * s.out_w + x] = Requantize(p, o, acc);
      }
    }
  }
}

void LinearAccumulateInt8(const LinearShape& s, const RequantParams& p, const int8_t* in,
                          const int8_t* weight, const int32_t* bias, int32_t* acc) {
  CheckAccumulationDepth(s.in_features, "LinearInt8");
  for (int64_t o = 0; o < s.out_features; ++o)
    acc[o] = LinearAccumulator(s, p, in, weight, bias, o);
}

void LinearInt8(const LinearShape& s, const RequantParams& p, const int8_t* in,
                const int8_t* weight, const int32_t* bias, int8_t* out) {
  CheckAccumulationDepth(s.in_features, "LinearInt8");
  for (int64_t o = 0; o < s.out_features; ++o)
    out[o] = Requantize(p, o, LinearAccumulator(s, p, in, weight, bias, o));
}

void AvgPoolInt8(const PoolShape& s, int32_t zero_point, int32_t act_min, int32_t act_max,
                 const int8_t* in, int8_t* out) {
  const int32_t count = static_cast<int32_t>(s.kernel_h * s.kernel_w);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y)
      for (int64_t x = 0; x < s.out_w; ++x) {
        int32_t sum = 0;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky, ix = x * s.stride_w - s.pad_w + kx;
            const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
            sum += inside ? in[(c * s.in_h + iy) * s.in_w + ix] : zero_point;
          }
        out[(c * s.out_h + y) * s.out_w + x] =
            AddZeroPointAndClamp(RoundingDivide(sum, count), 0, act_min, act_max);
      }
}

void MaxPoolInt8(const PoolShape& s, const int8_t* in, int8_t* out) {
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y)
      for (int64_t x = 0; x < s.out_w; ++x) {
        int32_t m = kInt8Min;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky, ix = x * s.stride_w - s.pad_w + kx;
            if (iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w)
              m = std::max<int32_t>(m, in[(c * s.in_h + iy) * s.in_w + ix]);
          }
        out[(c * s.out_h + y) * s.out_w + x] = static_cast<int8_t>(m);
      }
}

void GlobalAvgPoolInt8(int64_t channels, int64_t hw, const int8_t* in, int8_t* out) {
  for (int64_t c = 0; c < channels; ++c) {
    int32_t sum = 0;
    for (int64_t i = 0; i < hw; ++i) sum += in[c * hw + i];
    out[c] =
        AddZeroPointAndClamp(RoundingDivide(sum, static_cast<int32_t>(hw)), 0, kInt8Min, kInt8Max);
  }
}

void ReluInt8(int64_t n, int32_t zero_point, const int8_t* in, int8_t* out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<int8_t>(std::max<int32_t>(in[i], zero_point));
}

void AddInt8(int64_t n, const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t sa = (a[i] - p.a_zero_point) * (int32_t{1} << p.left_shift);
    const int32_t sb = (b[i] - p.b_zero_point) * (int32_t{1} << p.left_shift);
    const int32_t ra = MultiplyByQuantizedMultiplier(sa, p.a_multiplier, p.a_shift);
    const int32_t rb = MultiplyByQuantizedMultiplier(sb, p.b_multiplier, p.b_shift);
    const int32_t r = MultiplyByQuantizedMultiplier(ra + rb, p.output_multiplier, p.output_shift);
    out[i] = AddZeroPointAndClamp(r, p.output_zero_point, p.act_min, p.act_max);
  }
}

}  // namespace qaccel::kernels::reference
