// Weight schemes: how the float weights of a conv / linear layer become
// integers with their scales and zero points. A narrow registry like the
// observers': a scheme is one file plus one line in weight_scheme_registry.cpp,
// and it carries its bit width (QuantParams::weight_bits): a default and the
// range it accepts (`qaccel quantize --weight-bits`, `qaccel train --qat`).
// Sub-8-bit weights are held in int8 tensors with values in the narrow range
// (numeric_contract.h); the model file packs them (model_file.h).
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
  int bits = 8;                    // default QuantParams::weight_bits
  int min_bits = 8, max_bits = 8;  // the widths the scheme accepts
  // Weights with out_channels rows (dimension 0) -> their integer form at
  // `bits` (within [min_bits, max_bits]).
  std::function<WeightQuant(const Tensor& weight, int64_t out_channels, int bits)> quantize;
};

const std::vector<WeightSchemeInfo>& WeightSchemeRegistry();
// By name or alias; throws Error listing the registered ones for an unknown one.
const WeightSchemeInfo& FindWeightScheme(const std::string& name);
std::string WeightSchemeNames();  // "per-tensor, per-channel"
// Throws Error naming `flag` unless the scheme accepts `bits`.
void CheckWeightBits(const WeightSchemeInfo& s, int bits, const std::string& flag);

// Schemes (one per file).
WeightQuant QuantizePerTensorAsymmetric(const Tensor& weight, int64_t out_channels, int bits);
// n-bit (2..8) symmetric per channel: q in [-(2^(n-1) - 1), 2^(n-1) - 1].
WeightQuant QuantizePerChannelSymmetric(const Tensor& weight, int64_t out_channels, int bits);
// Binary: q in {-1, +1} (sign, 0 -> +1), scale = alpha = mean |w| per channel.
WeightQuant QuantizeBinary(const Tensor& weight, int64_t out_channels, int bits);

}  // namespace qaccel::quant
