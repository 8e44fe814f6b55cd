// Binary weights (BinaryConnect / XNOR-style weight binarization): for each
// output channel o, alpha[o] = mean |w[o, ...]| (the L1 norm over n, 1 for an
// all-zero channel), q = sign(w) in {-1, +1} with sign(0) = +1, zero point 0.
// real weight = alpha[o] * q; weight_bits 1. The int8 kernels compute the
// exact result; kernels/fast/binary_fast.h adds the add/subtract form.
#include <cmath>

#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {

WeightQuant QuantizeBinary(const Tensor& w, int64_t out_channels, int) {
  const auto v = w.data<float>();
  const int64_t per_out = static_cast<int64_t>(v.size()) / out_channels;
  WeightQuant r;
  r.q = Tensor(DType::kI8, w.shape());
  auto q = r.q.data<int8_t>();
  for (int64_t o = 0; o < out_channels; ++o) {
    double l1 = 0;
    for (int64_t j = 0; j < per_out; ++j) l1 += std::fabs(static_cast<double>(v[o * per_out + j]));
    const float alpha = l1 > 0 ? static_cast<float>(l1 / static_cast<double>(per_out)) : 1.0f;
    r.scale.push_back(alpha);
    r.zero_point.push_back(0);
    for (int64_t j = 0; j < per_out; ++j) q[o * per_out + j] = v[o * per_out + j] >= 0 ? 1 : -1;
  }
  return r;
}

}  // namespace qaccel::quant
