// Per-tensor asymmetric int8 weights: the tensor's range, widened to contain
// 0, mapped onto [-128, 127] by the same affine rule as activations
// (ChooseActivationQuant); one scale and zero point.
#include <algorithm>

#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {

WeightQuant QuantizePerTensorAsymmetric(const Tensor& w, int64_t, int) {
  const auto v = w.data<float>();
  WeightQuant r;
  r.q = Tensor(DType::kI8, w.shape());
  auto q = r.q.data<int8_t>();
  const float lo = std::min(0.0f, *std::min_element(v.begin(), v.end()));
  const float hi = std::max(0.0f, *std::max_element(v.begin(), v.end()));
  const AffineQuant a = ChooseActivationQuant(lo, hi);
  r.scale = {a.scale};
  r.zero_point = {a.zero_point};
  for (size_t i = 0; i < v.size(); ++i)
    q[i] = static_cast<int8_t>(
        kernels::QuantizeValue(v[i], a.scale, a.zero_point, kernels::kInt8Min, kernels::kInt8Max));
  return r;
}

}  // namespace qaccel::quant
