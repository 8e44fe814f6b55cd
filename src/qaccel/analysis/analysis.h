// Per-layer cost accounting: output shape, parameters, MACs, FLOPs (= 2 x MACs),
// and bytes at each layer's own precision. Quantized layers are counted like
// float ones (a known failure of other tools is to count them as zero-ops).
// Each op's OpDef::count gives its numbers (the formulas are in the op's
// file under src/qaccel/ops/), e.g. conv MACs = O * OH * OW * (I / groups) * KH * KW;
// element operations of pools, add, relu, batchnorm go to `other_ops`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel::analysis {

struct LayerCost {
  std::string name, kind;
  Shape out_shape;
  int64_t params = 0;
  int64_t macs = 0;
  int64_t flops = 0;      // 2 * macs
  int64_t other_ops = 0;  // pooling / element-wise operations
  int64_t weight_bits = 32, act_bits = 32;
  int64_t param_bytes = 0;       // weights at weight_bits (packed) + bias at 32 bits
  int64_t activation_bytes = 0;  // output tensor at act_bits
};

struct GraphCost {
  std::vector<LayerCost> layers;
  int64_t total_params = 0, total_macs = 0, total_flops = 0, total_other_ops = 0;
  int64_t total_param_bytes = 0, peak_activation_bytes = 0;
  // MACs by operand precision, "w<weight bits>a<input activation bits>"
  // (e.g. w1a8: binary weights x 8-bit activations), or "float"; in layer order
  // of first appearance.
  std::vector<std::pair<std::string, int64_t>> macs_by_precision;
};

GraphCost Analyze(const Graph& g);
nlohmann::json ToJson(const GraphCost& c);
std::string ToTable(const GraphCost& c);  // fixed-width text table with totals

}  // namespace qaccel::analysis
