// ImageNet-sized zoo topologies, written from the papers' layer dimensions,
// for the simulator and the design-space exploration (no ImageNet data is
// reachable here, so these are never trained; they carry structure only).
//
//   alexnet     Krizhevsky et al. 2012, single-tower form: 3x227x227, conv1
//               11x11/4 96, maxpool 3/2, conv2 5x5 pad 2 256, maxpool 3/2,
//               conv3-5 3x3 pad 1 384/384/256, maxpool 3/2, fc 9216-4096-4096-
//               1000. The paper's two-GPU split (groups=2 on conv2/4/5) and LRN
//               are not modelled (LRN has no OpKind; it costs no MACs).
//               1,135,256,096 MACs, 62,378,344 parameters.
//   alexnet-tv  torchvision's AlexNet channels [64 192 384 256 256 4096 4096
//               classes], 3x224x224, conv1 pad 2; with 10 classes this is the
//               NetAdapt starting point of the brief: 710,133,440 MACs.
//   resnet50    He et al. 2016, bottleneck blocks 3-4-6-3 (64/128/256/512 wide,
//               expansion 4), stride on the 3x3 conv (the torchvision "v1.5"
//               placement, ~4.09 G MACs; the original v1 strides the first
//               1x1 and has ~3.86 G), 3x224x224, 1000 classes; 4,089,184,256 MACs, 25,557,032
//               parameters with batchnorm's gamma/beta (analysis also counts
//               the running mean/var, adding 53,120).
#include <string>

#include "qaccel/graph/zoo.h"

namespace qaccel {
namespace {

int64_t Or(int64_t v, int64_t d) { return v > 0 ? v : d; }

// Shared AlexNet body: five convolutions with ReLU, three max pools, three fc.
Graph AlexnetBody(const std::string& name, const ZooOptions& opt, int64_t default_hw,
                  int64_t conv1_pad, const int64_t ch[5], int64_t default_classes) {
  Graph g;
  g.name = name;
  int x = g.AddInput(
      "input", {Or(opt.in_channels, 3), Or(opt.height, default_hw), Or(opt.width, default_hw)});
  x = g.AddConv("conv1", x, ch[0], 11, 4, conv1_pad);
  x = g.AddRelu("relu1", x);
  x = g.AddMaxPool("pool1", x, 3, 2);
  x = g.AddConv("conv2", x, ch[1], 5, 1, 2);
  x = g.AddRelu("relu2", x);
  x = g.AddMaxPool("pool2", x, 3, 2);
  x = g.AddConv("conv3", x, ch[2], 3, 1, 1);
  x = g.AddRelu("relu3", x);
  x = g.AddConv("conv4", x, ch[3], 3, 1, 1);
  x = g.AddRelu("relu4", x);
  x = g.AddConv("conv5", x, ch[4], 3, 1, 1);
  x = g.AddRelu("relu5", x);
  x = g.AddMaxPool("pool5", x, 3, 2);
  x = g.AddFlatten("flatten", x);
  x = g.AddLinear("fc6", x, 4096);
  x = g.AddRelu("relu6", x);
  x = g.AddLinear("fc7", x, 4096);
  x = g.AddRelu("relu7", x);
  g.AddLinear("fc8", x, Or(opt.num_classes, default_classes));
  return g;
}

}  // namespace

Graph BuildAlexnet(const ZooOptions& opt) {
  const int64_t ch[5] = {96, 256, 384, 384, 256};
  return AlexnetBody("alexnet", opt, 227, 0, ch, 1000);
}

Graph BuildAlexnetTv(const ZooOptions& opt) {
  const int64_t ch[5] = {64, 192, 384, 256, 256};
  return AlexnetBody("alexnet-tv", opt, 224, 2, ch, 10);
}

// ResNet-50: conv1 7x7/2 64 + bn + relu, maxpool 3/2 pad 1, four stages of
// bottleneck blocks (1x1 w, 3x3 w (stride), 1x1 4w; projection shortcut on the
// first block of every stage), global average pool, fc. Convolutions have no
// bias (batchnorm follows).
Graph BuildResnet50(const ZooOptions& opt) {
  Graph g;
  g.name = "resnet50";
  int x = g.AddInput("input", {Or(opt.in_channels, 3), Or(opt.height, 224), Or(opt.width, 224)});
  x = g.AddConv("conv1", x, 64, 7, 2, 3, false);
  x = g.AddBatchNorm("bn1", x);
  x = g.AddRelu("relu1", x);
  x = g.AddMaxPool("maxpool", x, 3, 2, 1);
  const int64_t widths[4] = {64, 128, 256, 512};
  const int blocks[4] = {3, 4, 6, 3};
  for (int s = 0; s < 4; ++s) {
    for (int b = 0; b < blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".";
      const int64_t w = widths[s], out = 4 * widths[s];
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      const int in = x;
      int y = g.AddConv(p + "conv1", in, w, 1, 1, 0, false);
      y = g.AddBatchNorm(p + "bn1", y);
      y = g.AddRelu(p + "relu1", y);
      y = g.AddConv(p + "conv2", y, w, 3, stride, 1, false);
      y = g.AddBatchNorm(p + "bn2", y);
      y = g.AddRelu(p + "relu2", y);
      y = g.AddConv(p + "conv3", y, out, 1, 1, 0, false);
      y = g.AddBatchNorm(p + "bn3", y);
      int shortcut = in;
      if (b == 0) {
        shortcut = g.AddConv(p + "downsample.conv", in, out, 1, stride, 0, false);
        shortcut = g.AddBatchNorm(p + "downsample.bn", shortcut);
      }
      x = g.AddAdd(p + "add", y, shortcut);
      x = g.AddRelu(p + "relu3", x);
    }
  }
  x = g.AddGlobalAvgPool("avgpool", x);
  g.AddLinear("fc", x, Or(opt.num_classes, 1000));
  return g;
}

}  // namespace qaccel
