// GraphModule: a libtorch module that executes a qaccel::Graph's DAG in layer
// order. This header includes <torch/torch.h>; only the two libtorch
// translation units of train/ (graph_module.cpp, trainer.cpp) may include it.
// Everything else uses the torch-free API in bridge.h / trainer.h.
//
// Mapping (Graph op -> torch):
//   conv2d          torch::nn::Conv2d (stride, padding, groups, bias as in the layer)
//   linear          torch::nn::Linear
//   batchnorm       torch::nn::BatchNorm2d on [C,H,W] activations, BatchNorm1d on [F]
//                   (eps from the layer, momentum 0.1; running stats tracked)
//   avgpool2d       avg_pool2d(kernel, stride, pad, floor, count_include_pad = true)
//   maxpool2d       max_pool2d(kernel, stride, pad)
//   global_avgpool  mean over H and W
//   relu, flatten (from dim 1), add
// Parameters: Graph "weight"/"bias" <-> module weight/bias; batchnorm
// "gamma"/"beta" <-> weight/bias, "mean"/"var" <-> running_mean/running_var.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/train/bridge.h"

namespace qaccel::train {

class GraphModuleImpl : public torch::nn::Module {
 public:
  // Builds one submodule per parameterized layer. Fresh parameters get
  // an initialization drawn from torch's global generator (call
  // torch::manual_seed first), per `init`:
  //   "torch"   PyTorch's default: conv/linear weights kaiming_uniform with
  //             a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias from
  //             the same range;
  //   "kaiming" He et al. for ReLU networks: weights U(-sqrt(6/fan_in),
  //             sqrt(6/fan_in)), bias 0 (trains LeNet-5 much faster from scratch);
  // batchnorm always gamma 1, beta 0, mean 0, var 1. Float parameters already
  // in `g` are then loaded (LoadParameters), so a trained model continues from
  // its weights. Throws Error for a quantized graph or an unknown init.
  explicit GraphModuleImpl(const Graph& g, const std::string& init = "torch");

  // x: [N, C, H, W] (or [N, F] for a vector input), float. Returns the last
  // layer's output [N, ...].
  torch::Tensor forward(const torch::Tensor& x);

  // Copies every float parameter present in g into the module (a layer's
  // parameters are all-or-nothing); checks dtype and shape, naming the layer.
  void LoadParameters(const Graph& g);
  // Writes the module's parameters into g as f32 Tensors with exactly the
  // shapes ExpectedParamShape gives (replacing any existing ones).
  void StoreParameters(Graph& g) const;

 private:
  struct Node {  // nodes_[i] belongs to structure_.layers[i]
    torch::nn::Conv2d conv{nullptr};
    torch::nn::Linear linear{nullptr};
    torch::nn::BatchNorm2d bn2d{nullptr};
    torch::nn::BatchNorm1d bn1d{nullptr};
  };
  Graph structure_;  // a copy without tensors: the attributes the forward pass reads
  std::vector<Node> nodes_;
};
TORCH_MODULE(GraphModule);

// Pixels (uint8, N x C x H x W) -> the model input: pixel / 255.0f as float,
// no mean/std normalization (the project-wide input convention; see bridge.h).
torch::Tensor PixelsToInput(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w);

// Mean cross-entropy and accuracy of the module (switched to eval mode and
// back to its previous mode) over a data set, in batches.
Evaluation Evaluate(GraphModule& m, const data::Dataset& d, int64_t batch_size);

}  // namespace qaccel::train
