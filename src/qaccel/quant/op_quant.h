// The quantizer's side of an op: OpDef::quantize fills one layer's
// QuantParams (and turns its float parameters into integer ones) from the
// context QuantizeGraph builds for it. Helpers shared by several ops' rules
// are declared here too.
#pragma once

#include <string>

#include "qaccel/graph/graph.h"

namespace qaccel::quant {

struct WeightSchemeInfo;

struct OpQuantContext {
  Graph& graph;  // batchnorm-folded; layers before `index` are quantized already
  size_t index;
  // kObserved ops: the calibrated range of the output (at the end of its
  // fused chain) and whether a ReLU is fused into its clamp.
  float lo = 0, hi = 0;
  bool relu_fused = false;
  std::string observer;                             // the observer's name, recorded in QuantParams
  const WeightSchemeInfo* weight_scheme = nullptr;  // conv / linear weights (weight_scheme.h)
  int weight_bits = 8;                              // within the scheme's range
  int act_bits = 8;                                 // of the observed output (2..8)

  Layer& layer() const { return graph.layers[index]; }
  const QuantParams& input(size_t k = 0) const {
    return graph.layers[static_cast<size_t>(layer().inputs.at(k))].quant;
  }
};

// Output scale, zero point and clamp from the observed range (kObserved ops).
void SetObservedOutput(OpQuantContext& ctx);
// Output quantization equal to the first input's (pools, flatten, ...).
void SetSameAsInput(OpQuantContext& ctx);
// The rule of a conv / linear layer: SetObservedOutput, then weights, bias
// and per-channel requantization by ctx.weight_scheme.
void QuantizeWeightedLayer(OpQuantContext& ctx);

}  // namespace qaccel::quant
