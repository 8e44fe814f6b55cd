// Float reference kernels: plain, obviously correct loops, one sample at a
// time. The float engine runs these; they are also the meaning of every op.
#pragma once

#include <cstdint>

#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::reference {

// out[o, y, x] = bias[o] + sum_{i in group(o), ky, kx} in[i, y*s - p + ky, x*s - p + kx] * w[o, i,
// ky, kx] (zero padding). bias may be null.
void ConvFloat(const ConvShape& s, const float* in, const float* weight, const float* bias,
               float* out);
// out[o] = bias[o] + sum_i w[o, i] * in[i]; bias may be null.
void LinearFloat(const LinearShape& s, const float* in, const float* weight, const float* bias,
                 float* out);
// Mean over the window; padded positions count as 0 and are included in the count.
void AvgPoolFloat(const PoolShape& s, const float* in, float* out);
// Max over the window; padded positions are ignored.
void MaxPoolFloat(const PoolShape& s, const float* in, float* out);
// [C, H, W] -> [C], mean over H*W.
void GlobalAvgPoolFloat(int64_t channels, int64_t hw, const float* in, float* out);
void ReluFloat(int64_t n, const float* in, float* out);
void AddFloat(int64_t n, const float* a, const float* b, float* out);
// out = gamma * (in - mean) / sqrt(var + eps) + beta, per channel of [C, HW].
void BatchNormFloat(int64_t channels, int64_t hw, const float* in, const float* gamma,
                    const float* beta, const float* mean, const float* var, float eps, float* out);

}  // namespace qaccel::kernels::reference
