// Per-channel symmetric n-bit weights (n = 2..8, 8 by default): with
// qmax = 2^(n-1) - 1, for each output channel o scale[o] = max |w[o, ...]| /
// qmax (1 for an all-zero channel), zero point 0,
// q = clamp(round(w / scale[o]), -qmax, qmax), held in int8.
#include <algorithm>
#include <cmath>

#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {

WeightQuant QuantizePerChannelSymmetric(const Tensor& w, int64_t out_channels, int bits) {
  const int32_t qmax = (int32_t{1} << (bits - 1)) - 1;
  const float fmax = static_cast<float>(qmax);
  const auto v = w.data<float>();
  const int64_t per_out = static_cast<int64_t>(v.size()) / out_channels;
  WeightQuant r;
  r.q = Tensor(DType::kI8, w.shape());
  auto q = r.q.data<int8_t>();
  for (int64_t o = 0; o < out_channels; ++o) {
    float amax = 0;
    for (int64_t j = 0; j < per_out; ++j) amax = std::max(amax, std::fabs(v[o * per_out + j]));
    const float scale = amax > 0 ? amax / fmax : 1.0f;
    r.scale.push_back(scale);
    r.zero_point.push_back(0);
    for (int64_t j = 0; j < per_out; ++j)
      q[o * per_out + j] =
          static_cast<int8_t>(kernels::QuantizeValue(v[o * per_out + j], scale, 0, -qmax, qmax));
  }
  return r;
}

}  // namespace qaccel::quant
