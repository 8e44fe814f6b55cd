#include "qaccel/graph/zoo.h"

#include <algorithm>
#include <map>

#include "qaccel/core/error.h"
#include "qaccel/graph/exits.h"

namespace qaccel {
namespace {

struct Entry {
  ZooBuilder builder;
  std::string description;
};

std::map<std::string, Entry>& Registry() {
  static std::map<std::string, Entry> r = {
      {"lenet5", {&BuildLenet5, "LeNet-5 (28x28x1, conv5x5 pad 2, avgpool; 416,520 MACs)"}},
      {"lenet5-branchy",
       {&BuildLenet5Branchy, "LeNet-5 with a side exit after conv stage 1 (B-LeNet placement)"}},
      {"resnet20-branchy",
       {&BuildResnet20Branchy, "ResNet-20 with side exits after stages 1 and 2"}},
      {"resnet20",
       {&BuildResnet20, "CIFAR-style ResNet-20 (BasicBlocks 16/32/64), ~0.27 M params"}},
      {"alexnet",
       {&BuildAlexnet, "AlexNet (ImageNet 3x227x227, 96/256/384/384/256, fc 4096-4096-1000)"}},
      {"alexnet-tv",
       {&BuildAlexnetTv, "AlexNet, torchvision channels 64/192/384/256/256, 224x224, 10 classes"}},
      {"resnet50",
       {&BuildResnet50, "ResNet-50 (ImageNet 224x224, bottlenecks 3-4-6-3), ~25.6 M params"}},
  };
  return r;
}

int64_t Or(int64_t v, int64_t d) { return v > 0 ? v : d; }

}  // namespace

void RegisterZooModel(const std::string& name, ZooBuilder builder, const std::string& description) {
  Registry()[name] = {builder, description};
}

bool IsZooModel(const std::string& name) { return Registry().count(name) != 0; }

std::vector<std::string> ZooModelNames() {
  std::vector<std::string> n;
  for (auto& [k, v] : Registry()) n.push_back(k);
  return n;
}

std::vector<std::pair<std::string, std::string>> ZooModelDescriptions() {
  std::vector<std::pair<std::string, std::string>> d;
  for (auto& [k, v] : Registry()) d.emplace_back(k, v.description);
  return d;
}

Graph BuildZooModel(const std::string& name, const ZooOptions& opt) {
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::string names;
    for (auto& n : ZooModelNames()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown zoo model '" + name + "' (available: " + names + ")");
  }
  Graph g = it->second.builder(opt);
  g.metadata["zoo"] = name;
  return g;
}

// LeNet-5 as in the brief: 28x28x1, conv 5x5 1->6 pad 2, ReLU, avgpool 2,
// conv 5x5 6->16, ReLU, avgpool 2, fc 400->120, ReLU, fc 120->84, ReLU, fc 84->10.
Graph BuildLenet5(const ZooOptions& opt) {
  Graph g;
  g.name = "lenet5";
  int x = g.AddInput("input", {Or(opt.in_channels, 1), Or(opt.height, 28), Or(opt.width, 28)});
  x = g.AddConv("conv1", x, 6, 5, 1, 2);
  x = g.AddRelu("relu1", x);
  x = g.AddAvgPool("pool1", x, 2, 2);
  x = g.AddConv("conv2", x, 16, 5);
  x = g.AddRelu("relu2", x);
  x = g.AddAvgPool("pool2", x, 2, 2);
  x = g.AddFlatten("flatten", x);
  x = g.AddLinear("fc1", x, 120);
  x = g.AddRelu("relu3", x);
  x = g.AddLinear("fc2", x, 84);
  x = g.AddRelu("relu4", x);
  g.AddLinear("fc3", x, Or(opt.num_classes, 10));
  return g;
}

int AddResnetBasicBlock(Graph& g, const std::string& p, int in, int64_t width, int64_t stride) {
  int y = g.AddConv(p + "conv1", in, width, 3, stride, 1, false);
  y = g.AddBatchNorm(p + "bn1", y);
  y = g.AddRelu(p + "relu1", y);
  y = g.AddConv(p + "conv2", y, width, 3, 1, 1, false);
  y = g.AddBatchNorm(p + "bn2", y);
  int shortcut = in;
  if (stride != 1 || g.layers[static_cast<size_t>(in)].out_shape[0] != width) {
    shortcut = g.AddConv(p + "shortcut.conv", in, width, 1, stride, 0, false);
    shortcut = g.AddBatchNorm(p + "shortcut.bn", shortcut);
  }
  const int x = g.AddAdd(p + "add", y, shortcut);
  return g.AddRelu(p + "relu2", x);
}

int AddResnet20Body(Graph& g, const ZooOptions& opt,
                    const std::function<void(int, int)>& after_stage) {
  int x = g.AddInput("input", {Or(opt.in_channels, 1), Or(opt.height, 28), Or(opt.width, 28)});
  x = g.AddConv("conv1", x, 16, 3, 1, 1, false);
  x = g.AddBatchNorm("bn1", x);
  x = g.AddRelu("relu1", x);
  const int64_t widths[3] = {16, 32, 64};
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < 3; ++b)
      x = AddResnetBasicBlock(g, "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".", x,
                              widths[s], (s > 0 && b == 0) ? 2 : 1);
    if (after_stage) after_stage(s, x);
  }
  return x;
}

// ResNet-20 for CIFAR (He et al. 2016, sec. 4.2): conv3x3 16, then 3 stages of
// 3 BasicBlocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3,
// with a 1x1 projection shortcut), global average pool, fc. Convolutions have
// no bias (batchnorm follows). Default input 1x28x28 (Fashion-MNIST here).
Graph BuildResnet20(const ZooOptions& opt) {
  Graph g;
  g.name = "resnet20";
  int x = AddResnet20Body(g, opt);
  x = g.AddGlobalAvgPool("avgpool", x);
  g.AddLinear("fc", x, Or(opt.num_classes, 10));
  return g;
}

}  // namespace qaccel
