// GraphModule: a libtorch module that executes a qaccel::Graph's DAG in layer
// order, one torch equivalent per layer from the torch op registry
// (torch_ops.h, which lists the mapping of each op). This header includes
// <torch/torch.h>; only the libtorch translation units of train/
// (graph_module.cpp, torch_ops.cpp, trainer.cpp) may include it. Everything
// else uses the torch-free API in bridge.h / trainer.h.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/train/bridge.h"
#include "qaccel/train/torch_ops.h"

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
  // The outputs of the given layers (early exits: each exit's logits), in the
  // order given; the DAG runs once, up to the last of them.
  std::vector<torch::Tensor> forward_outputs(const torch::Tensor& x, const std::vector<int>& layers);

  // Copies every float parameter present in g into the module (a layer's
  // parameters are all-or-nothing); checks dtype and shape, naming the layer.
  void LoadParameters(const Graph& g);
  // Writes the module's parameters into g as f32 Tensors with exactly the
  // shapes ExpectedParamShape gives (replacing any existing ones).
  void StoreParameters(Graph& g) const;
  const InputTransform& input_transform() const { return structure_.input_transform; }
  // For quantization-aware training (qat.cpp), which runs the layers itself:
  // the structure, layer i's torch forward and its module (null if none).
  const Graph& structure() const { return structure_; }
  torch::Tensor ForwardLayer(size_t i, const std::vector<torch::Tensor>& in) {
    return nodes_[i].forward(in);
  }
  std::shared_ptr<torch::nn::Module> LayerModule(size_t i) const { return nodes_[i].module; }

 private:
  Graph structure_;  // a copy without tensors: the attributes the forward pass reads
  std::vector<TorchLayer>
      nodes_;  // nodes_[i] belongs to structure_.layers[i] (empty for the input)
};
TORCH_MODULE(GraphModule);

// Pixels (uint8, N x C x H x W) -> the model input by the graph's input
// transform (input_transform.h), exactly as the engine computes it.
torch::Tensor PixelsToInput(const InputTransform& t, const uint8_t* pixels, int64_t n, int64_t c,
                            int64_t h, int64_t w);

// Mean cross-entropy and accuracy of the module (switched to eval mode and
// back to its previous mode) over a data set, in batches.
Evaluation Evaluate(GraphModule& m, const data::Dataset& d, int64_t batch_size);

}  // namespace qaccel::train
