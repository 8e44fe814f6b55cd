// The libtorch side of the op registry: for each op name, a factory that
// builds one layer's torch equivalent (its submodule, forward, and the copy
// of its parameters between the Graph and torch). The built-in ops are the
// list in torch_ops.cpp; RegisterTorchOp adds one at run time. This header
// includes <torch/torch.h>; only train/ uses it.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel::train {

struct TorchLayer {
  // Registered under the layer's name when set (the layer has parameters).
  std::shared_ptr<torch::nn::Module> module;
  // Inputs in the order of Layer::inputs -> output, batch first.
  std::function<torch::Tensor(const std::vector<torch::Tensor>& in)> forward;
  // Copy the layer's f32 parameters into the module (a layer's parameters are
  // all-or-nothing; none present leaves the module's) / out of it into the
  // layer, with exactly ExpectedParamShape's shapes. Null: no parameters.
  std::function<void(const Layer&)> load;
  std::function<void(Layer&)> store;
};

// Builds the torch equivalent of layer l (shapes inferred; in_shape = its
// first input's shape). `init` is "torch" or "kaiming" (graph_module.h).
using TorchOpFactory = TorchLayer (*)(const Layer& l, const Shape& in_shape,
                                      const std::string& init);

void RegisterTorchOp(const std::string& name, TorchOpFactory factory);
// Throws Error naming the op when it has no torch equivalent.
TorchOpFactory FindTorchOp(const Layer& l);

}  // namespace qaccel::train
