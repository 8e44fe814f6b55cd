// Model zoo: topologies written from the papers' layer dimensions. Zoo models
// come without parameter tensors (training initializes them); analysis and
// the simulator need only the structure. Adding a model = one function + one
// line in the registry in zoo.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel {

struct ZooOptions {
  // 0 = the model's default (lenet5: 1x28x28; resnet20: 1x28x28 for
  // Fashion-MNIST; alexnet / resnet50: 3x224/227 ImageNet).
  int64_t in_channels = 0, height = 0, width = 0, num_classes = 0;
};

bool IsZooModel(const std::string& name);
std::vector<std::string> ZooModelNames();
Graph BuildZooModel(const std::string& name, const ZooOptions& opt = {});

// Individual builders (also reachable through BuildZooModel).
Graph BuildLenet5(const ZooOptions& opt);
Graph BuildResnet20(const ZooOptions& opt);
// One CIFAR-style BasicBlock of ResNet-20 (conv3x3-bn-relu-conv3x3-bn, a 1x1
// projection shortcut when the stride or width changes, add, relu), layers
// named <prefix>conv1 ... <prefix>relu2; returns the block's output layer.
// Shared by resnet20 and resnet20-branchy (graph/exits.cpp).
int AddResnetBasicBlock(Graph& g, const std::string& prefix, int in, int64_t width, int64_t stride);
// ResNet-20's input, stem and three stages of 3 BasicBlocks (16, 32, 64
// channels); after_stage(s, out) is called after stage s = 0, 1, 2 (exits
// attach there). Returns the last stage's output.
int AddResnet20Body(Graph& g, const ZooOptions& opt,
                    const std::function<void(int stage, int out)>& after_stage = {});
// ImageNet topologies (zoo_imagenet.cpp).
Graph BuildAlexnet(const ZooOptions& opt);
Graph BuildAlexnetTv(const ZooOptions& opt);
Graph BuildResnet50(const ZooOptions& opt);

// Registry hook for models defined in other files (zoo_*.cpp).
using ZooBuilder = Graph (*)(const ZooOptions&);
void RegisterZooModel(const std::string& name, ZooBuilder builder, const std::string& description);
std::vector<std::pair<std::string, std::string>> ZooModelDescriptions();

}  // namespace qaccel
