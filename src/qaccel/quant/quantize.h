// Post-training static quantization: float Graph + calibration images ->
// quantized Graph of the same structure (same layers, same edges).
//
//   input          from the graph's input transform's real range, no
//                  calibration; the default pixel/255: scale 1/255, zero
//                  point -128 (q = pixel - 128, exact)
//   activations    int8 asymmetric: the observer's range, widened to contain 0,
//                  scale = (hi - lo) / 255, zp = clamp(round(-128 - lo / scale));
//                  a-bit (act_bits < 8): scale = (hi - lo) / (2^a - 1), q and zp in
//                  [-128, -128 + 2^a - 1] (held in int8).
//                  one range per conv/linear/add output, observed at the end of
//                  its chain of folded batchnorm / fused ReLU (post-ReLU values).
//   ReLU           folded into the producer's clamp: act_min = max(-128, zp);
//                  the ReLU layer remains and computes max(q, zp) (a no-op then).
//   pools, flatten same scale and zero point as their input.
//   batchnorm      folded into the preceding conv (w' = w * g / sqrt(v + eps),
//                  b' = (b - mean) * g / sqrt(v + eps) + beta); the layer stays
//                  as an identity with quant.folded_into = the conv's name.
//   weights        by the weight scheme (weight_scheme.h): int8 per-tensor
//                  asymmetric ([-128, 127], zero point) or per-channel
//                  symmetric ([-127, 127], zero point 0).
//   bias           int32 at scale s_in * s_w[c], zero point 0.
//   requantization multiplier/shift per output channel (numeric_contract.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/quant/observer.h"

namespace qaccel::quant {

inline constexpr const char* kPerTensorAsymmetric = "per-tensor-asymmetric";
inline constexpr const char* kPerChannelSymmetric = "per-channel-symmetric";

struct QuantizeOptions {
  std::string observer = "histogram";
  std::string weight_scheme = kPerChannelSymmetric;  // a WeightSchemeRegistry() name or alias
  int64_t calibration = 1000;                        // training images used for calibration (> 0)
  uint64_t seed = 1;   // which images: the first `calibration` of a seeded shuffle
  int64_t batch = 32;  // calibration batch (moving-average observer)
  ObserverOptions observer_options;
  int weight_bits = 0;  // 0: the scheme's default; else within its [min_bits, max_bits]
  int act_bits = 8;     // conv / linear / add outputs (2..8); the input stays 8-bit
  // Per-layer overrides by layer name (quantization-aware training sets these:
  // each weighted layer's scheme and widths and the frozen activation range
  // its fake quantization used, which then replaces the observer's).
  struct LayerOverride {
    std::string weight_scheme;  // empty: options' scheme
    int weight_bits = 0;        // 0: as above
    int act_bits = 0;           // 0: options' act_bits
    bool has_range = false;
    float lo = 0, hi = 0;
  };
  std::map<std::string, LayerOverride> layers;
};

// A registered weight scheme's name or alias ("per-tensor",
// "per-tensor-asymmetric", ...) -> its full name; throws Error listing the
// registered schemes otherwise.
std::string ParseWeightScheme(const std::string& s);

// Throws Error (naming the layer / option) for: a graph that is already
// quantized, non-float or non-finite weights, calibration <= 0, images whose
// shape differs from the model input, an unknown observer or scheme, a
// batchnorm that does not directly follow a conv with no other consumer.
Graph QuantizeGraph(const Graph& float_graph, const data::Dataset& calibration_source,
                    const QuantizeOptions& options);

// Scale and zero point of an asymmetric edge of `bits` (2..8) covering [lo, hi]
// (widened to contain 0): q in [-128, -128 + 2^bits - 1], stored in int8.
struct AffineQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
AffineQuant ChooseActivationQuant(float lo, float hi, int bits = 8);
// The largest q of a `bits`-wide activation: -128 + 2^bits - 1.
inline int32_t ActivationQMax(int bits) { return -128 + (int32_t{1} << bits) - 1; }

// Checks every float parameter of the graph is finite; throws naming the layer.
void CheckFiniteParameters(const Graph& g);

}  // namespace qaccel::quant
