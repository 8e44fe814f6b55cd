// Weight schemes: how the float weights of a conv / linear layer become
// integers with their scales and zero points. A narrow registry like the
// observers': a scheme is one file plus one line in weight_scheme_registry.cpp,
// and it carries its own bit width (QuantParams::weight_bits).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qaccel/core/tensor.h"

namespace qaccel::quant {

// A quantized weight tensor: q has the float tensor's shape; scale and
// zero_point have 1 entry (per-tensor) or one per output channel.
struct WeightQuant {
  Tensor q;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
};

struct WeightSchemeInfo {
  std::string name;   // recorded in QuantParams::weight_scheme, e.g. "per-channel-symmetric"
  std::string alias;  // the short CLI name, e.g. "per-channel"
  std::string description;
  int bits = 8;  // QuantParams::weight_bits
  // Weights with out_channels rows (dimension 0) -> their integer form.
  std::function<WeightQuant(const Tensor& weight, int64_t out_channels)> quantize;
};

const std::vector<WeightSchemeInfo>& WeightSchemeRegistry();
// By name or alias; throws Error listing the registered ones for an unknown one.
const WeightSchemeInfo& FindWeightScheme(const std::string& name);
std::string WeightSchemeNames();  // "per-tensor, per-channel"

// Schemes (one per file).
WeightQuant QuantizePerTensorAsymmetric(const Tensor& weight, int64_t out_channels);
WeightQuant QuantizePerChannelSymmetric(const Tensor& weight, int64_t out_channels);

}  // namespace qaccel::quant
