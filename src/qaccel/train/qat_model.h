// The fake-quantized forward pass of quantization-aware training (qat.h has
// the scheme). Wraps a GraphModule: its parameters are the latent float
// weights SGD updates; QatModel runs the layers with quantized weights and
// activations. Includes <torch/torch.h>: train/ only.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/train/graph_module.h"
#include "qaccel/train/qat.h"

namespace qaccel::train {

class QatModel {
 public:
  // The module's current (latent) weights start the sign states of binary layers.
  QatModel(GraphModule& m, const QatOptions& o, int epochs);

  // Training mode updates the activation observers unless frozen.
  torch::Tensor Forward(const torch::Tensor& x, bool training);
  void BeginEpoch(int epoch);  // freezes the observers from the half-way epoch on
  // After each optimizer step: clip binary latent weights to [-1, 1], update
  // the sign states (flip threshold), count the flips.
  void AfterStep();
  double TakeFlipRatio();  // flips since the last call / binary weights (NaN: none)

  nlohmann::json State() const;  // observers and sign states, for checkpoints
  void LoadState(const nlohmann::json& j, const std::string& where);

  Evaluation Evaluate(const data::Dataset& d, int64_t batch);
  std::vector<int64_t> Predict(const data::Dataset& d, int64_t batch);
  // The quantized graph: `trained` holds the module's float parameters
  // (StoreParameters); calibration images are needed by QuantizeGraph only
  // for its (unused) observers.
  Graph Convert(const Graph& trained, const data::Dataset& calibration);
  nlohmann::json Record() const;  // per-layer widths for the model's metadata

 private:
  struct Act {
    float lo = 0, hi = 0;
    bool init = false;
    bool relu = false;
    int bits = 8;
  };
  torch::Tensor WeightFq(size_t i, const torch::Tensor& w) const;
  torch::Tensor ActFq(size_t i, const torch::Tensor& x, bool training);
  // The conv/linear weight and bias with a following batchnorm folded in.
  std::pair<torch::Tensor, torch::Tensor> Effective(size_t i) const;

  GraphModule& m_;
  QatOptions o_;
  int freeze_epoch_ = 1;
  bool frozen_ = false;
  std::vector<int> wbits_;    // per layer: weight bits (0: not a weighted layer)
  std::vector<int> bn_of_;    // per conv: the batchnorm folded into it, or -1
  std::vector<bool> folded_;  // per batchnorm: folded (identity in the forward)
  std::vector<int> act_at_;   // per layer: the observed layer whose range applies here, or -1
  std::vector<Act> act_;      // per observed layer
  std::vector<torch::Tensor> sign_;  // per binary layer: {-1, +1} floats
  int64_t flips_ = 0, binary_weights_ = 0;
};

}  // namespace qaccel::train
