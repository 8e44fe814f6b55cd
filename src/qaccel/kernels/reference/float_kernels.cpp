// Float reference kernels (see float_kernels.h). Accumulation in float, in
// the loop order written, so results are deterministic.
#include "qaccel/kernels/reference/float_kernels.h"

#include <cmath>
#include <limits>

namespace qaccel::kernels::reference {

void ConvFloat(const ConvShape& s, const float* in, const float* weight, const float* bias,
               float* out) {
  const int64_t in_per_group = s.in_c / s.groups, out_per_group = s.out_c / s.groups;
  for (int64_t o = 0; o < s.out_c; ++o) {
    const int64_t g = o / out_per_group;
    const float* w_o = weight + o * in_per_group * s.kernel_h * s.kernel_w;
    for (int64_t y = 0; y < s.out_h; ++y) {
      for (int64_t x = 0; x < s.out_w; ++x) {
        float acc = bias ? bias[o] : 0.0f;
        for (int64_t i = 0; i < in_per_group; ++i) {
          const float* in_c = in + (g * in_per_group + i) * s.in_h * s.in_w;
          for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
              const int64_t ix = x * s.stride_w - s.pad_w + kx;
              if (ix < 0 || ix >= s.in_w) continue;
              acc += in_c[iy * s.in_w + ix] * w_o[(i * s.kernel_h + ky) * s.kernel_w + kx];
            }
          }
        }
        out[(o * s.out_h + y) * s.out_w + x] = acc;
      }
    }
  }
}

void LinearFloat(const LinearShape& s, const float* in, const float* weight, const float* bias,
                 float* out) {
  for (int64_t o = 0; o < s.out_features; ++o) {
    float acc = bias ? bias[o] : 0.0f;
    const float* w = weight + o * s.in_features;
    for (int64_t i = 0; i < s.in_features; ++i) acc += w[i] * in[i];
    out[o] = acc;
  }
}

void AvgPoolFloat(const PoolShape& s, const float* in, float* out) {
  const float inv = 1.0f / static_cast<float>(s.kernel_h * s.kernel_w);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y)
      for (int64_t x = 0; x < s.out_w; ++x) {
        float sum = 0;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky, ix = x * s.stride_w - s.pad_w + kx;
            if (iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w)
              sum += in[(c * s.in_h + iy) * s.in_w + ix];
          }
        out[(c * s.out_h + y) * s.out_w + x] = sum * inv;
      }
}

void MaxPoolFloat(const PoolShape& s, const float* in, float* out) {
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y)
      for (int64_t x = 0; x < s.out_w; ++x) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky, ix = x * s.stride_w - s.pad_w + kx;
            if (iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w) {
              const float v = in[(c * s.in_h + iy) * s.in_w + ix];
              if (v > m) m = v;
            }
          }
        out[(c * s.out_h + y) * s.out_w + x] = m;
      }
}

void GlobalAvgPoolFloat(int64_t channels, int64_t hw, const float* in, float* out) {
  for (int64_t c = 0; c < channels; ++c) {
    float sum = 0;
    for (int64_t i = 0; i < hw; ++i) sum += in[c * hw + i];
    out[c] = sum / static_cast<float>(hw);
  }
}

void ReluFloat(int64_t n, const float* in, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void AddFloat(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void BatchNormFloat(int64_t channels, int64_t hw, const float* in, const float* gamma,
                    const float* beta, const float* mean, const float* var, float eps, float* out) {
  for (int64_t c = 0; c < channels; ++c) {
    const float k = gamma[c] / std::sqrt(var[c] + eps);
    for (int64_t i = 0; i < hw; ++i) out[c * hw + i] = k * (in[c * hw + i] - mean[c]) + beta[c];
  }
}

}  // namespace qaccel::kernels::reference
