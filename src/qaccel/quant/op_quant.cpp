// Quantization rules shared by several ops (see op_quant.h and quantize.h).
#include "qaccel/quant/op_quant.h"

#include <algorithm>
#include <cmath>

#include "qaccel/core/error.h"
#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {
namespace {

using kernels::kInt8Max;
using kernels::kInt8Min;

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(l.kind.name()) + ")";
}

}  // namespace

void SetObservedOutput(OpQuantContext& ctx) {
  const Layer& l = ctx.layer();
  float lo = ctx.lo, hi = ctx.hi;
  Check(
      std::isfinite(lo) && std::isfinite(hi),
      Where(l) + ": observed activation range is not finite (NaN/Inf activations in calibration)");
  if (ctx.relu_fused) lo = 0.0f;
  const AffineQuant a = ChooseActivationQuant(lo, hi, ctx.act_bits);
  QuantParams& q = ctx.layer().quant;
  q.act_bits = ctx.act_bits;
  q.out_scale = a.scale;
  q.out_zero_point = a.zero_point;
  q.act_min = ctx.relu_fused ? std::max(kInt8Min, a.zero_point) : kInt8Min;
  q.act_max = ActivationQMax(ctx.act_bits);
  q.observer = ctx.observer;
}

void SetSameAsInput(OpQuantContext& ctx) {
  const QuantParams& in = ctx.input();
  QuantParams& q = ctx.layer().quant;
  q.out_scale = in.out_scale;
  q.out_zero_point = in.out_zero_point;
  q.act_min = in.act_min;
  q.act_max = in.act_max;
  q.act_bits = in.act_bits;
  q.observer = "same as input";
}

void QuantizeWeightedLayer(OpQuantContext& ctx) {
  SetObservedOutput(ctx);
  Layer& l = ctx.layer();
  QuantParams& q = l.quant;
  const QuantParams& in_q = ctx.input();
  Check(ctx.weight_scheme != nullptr, Where(l) + ": no weight scheme given");
  CheckWeightBits(*ctx.weight_scheme, ctx.weight_bits, Where(l) + ": weight bits");
  WeightQuant wq =
      ctx.weight_scheme->quantize(l.params.at("weight"), l.out_channels, ctx.weight_bits);
  q.weight_bits = ctx.weight_bits;
  q.weight_scheme = ctx.weight_scheme->name;
  q.weight_scale = wq.scale;
  q.weight_zero_point = wq.zero_point;
  q.multiplier.clear();
  q.shift.clear();
  const int64_t depth = NumElements(l.params.at("weight").shape()) / l.out_channels;
  Check(depth <= kernels::kMaxAccumulationDepth,
        Where(l) + ": accumulation depth " + std::to_string(depth) + " exceeds the int32 bound " +
            std::to_string(kernels::kMaxAccumulationDepth));
  std::vector<int32_t> bias_q;
  const float* bias = l.has_bias ? l.params.at("bias").data<float>().data() : nullptr;
  for (int64_t o = 0; o < l.out_channels; ++o) {
    const size_t c = wq.scale.size() == 1 ? 0 : static_cast<size_t>(o);
    const double s_acc = static_cast<double>(in_q.out_scale) * wq.scale[c];
    if (o == 0 || wq.scale.size() > 1) {
      auto qm = kernels::QuantizeMultiplier(s_acc / q.out_scale);
      q.multiplier.push_back(qm.multiplier);
      q.shift.push_back(qm.shift);
    }
    if (!bias) continue;
    const double b = std::round(bias[o] / s_acc);
    if (std::fabs(b) > static_cast<double>(kernels::MaxBiasMagnitude(depth)))
      throw Error(Where(l) + ": bias[" + std::to_string(o) + "] = " + std::to_string(bias[o]) +
                  " does not fit the int32 accumulator at scale s_in*s_w (numeric_contract.h)");
    bias_q.push_back(static_cast<int32_t>(b));
  }
  l.params["weight"] = std::move(wq.q);
  if (bias) l.params["bias"] = Tensor::From<int32_t>({l.out_channels}, bias_q);
}

}  // namespace qaccel::quant
