// Graph -> SCALE-Sim topology: LeNet-5 and AlexNet against hand-computed
// dimensions, batch/GEMM/grouped mappings, element size, CSV text; and the
// ImageNet zoo models' MACs/parameters.
#include <gtest/gtest.h>

#include "qaccel/accel/scalesim_io.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/graph/zoo.h"

using namespace qaccel;
using accel::LayerSpec;

namespace {

void ExpectSpec(const LayerSpec& s, const std::string& name, int64_t ih, int64_t iw, int64_t fh,
                int64_t fw, int64_t ch, int64_t nf, int64_t stride) {
  SCOPED_TRACE(name);
  EXPECT_EQ(s.name, name);
  EXPECT_EQ(s.ifmap_h, ih);
  EXPECT_EQ(s.ifmap_w, iw);
  EXPECT_EQ(s.filter_h, fh);
  EXPECT_EQ(s.filter_w, fw);
  EXPECT_EQ(s.channels, ch);
  EXPECT_EQ(s.num_filters, nf);
  EXPECT_EQ(s.stride_h, stride);
  EXPECT_EQ(s.stride_w, stride);
}

}  // namespace

TEST(TopologyFromGraph, Lenet5HandComputed) {
  auto t = accel::TopologyFromGraph(BuildZooModel("lenet5"));
  ASSERT_EQ(t.layers.size(), 5u);
  // conv1: 28x28 input, pad 2 folded in -> 32x32.
  ExpectSpec(t.layers[0], "conv1", 32, 32, 5, 5, 1, 6, 1);
  ExpectSpec(t.layers[1], "conv2", 14, 14, 5, 5, 6, 16, 1);
  // fc as SCALE-Sim GEMM (M=1 batch, N=out, K=in): ifmap 1 x K, filter 1 x K.
  ExpectSpec(t.layers[2], "fc1", 1, 400, 1, 400, 1, 120, 1);
  ExpectSpec(t.layers[3], "fc2", 1, 120, 1, 120, 1, 84, 1);
  ExpectSpec(t.layers[4], "fc3", 1, 84, 1, 84, 1, 10, 1);
  int64_t macs = 0;
  for (auto& l : t.layers) macs += l.macs();
  EXPECT_EQ(macs, 416520);     // = analysis total, nothing lost in the mapping
  EXPECT_EQ(t.word_bytes, 4);  // float model
  // Unmapped: relu1 6*28*28, pool1 6*14*14*4, relu2 16*10*10, pool2 16*5*5*4, relu3 120, relu4 84.
  ASSERT_EQ(t.unmapped.size(), 6u);
  EXPECT_EQ(t.unmapped[0].name, "relu1");
  EXPECT_EQ(t.unmapped[0].ops, 4704);
  EXPECT_EQ(t.unmapped[1].kind, "avgpool2d");
  EXPECT_EQ(t.unmapped[1].ops, 4704);
  EXPECT_EQ(t.unmapped[3].ops, 1600);
  EXPECT_EQ(t.unmapped_ops(), 4704 + 4704 + 1600 + 1600 + 120 + 84);
}

TEST(TopologyFromGraph, AlexnetMatchesScaleSimsOwnTopology) {
  auto t = accel::TopologyFromGraph(BuildZooModel("alexnet"));
  ASSERT_EQ(t.layers.size(), 8u);
  // SCALE-Sim's topologies/conv_nets/alexnet.csv rows.
  ExpectSpec(t.layers[0], "conv1", 227, 227, 11, 11, 3, 96, 4);
  ExpectSpec(t.layers[1], "conv2", 31, 31, 5, 5, 96, 256, 1);
  ExpectSpec(t.layers[2], "conv3", 15, 15, 3, 3, 256, 384, 1);
  ExpectSpec(t.layers[3], "conv4", 15, 15, 3, 3, 384, 384, 1);
  ExpectSpec(t.layers[4], "conv5", 15, 15, 3, 3, 384, 256, 1);
  ExpectSpec(t.layers[5], "fc6", 1, 9216, 1, 9216, 1, 4096, 1);
  const std::string csv = accel::TopologyConvCsv(t.layers);
  EXPECT_EQ(csv.substr(0, csv.find('\n') + 1),
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num "
            "Filter, Strides,\n");
  EXPECT_NE(csv.find("\nconv2, 31, 31, 5, 5, 96, 256, 1,\n"), std::string::npos);
}

TEST(TopologyFromGraph, BatchTurnsConvIntoBatchedGemm) {
  accel::TopologyOptions o;
  o.batch = 4;
  auto t = accel::TopologyFromGraph(BuildZooModel("lenet5"), o);
  // conv1: M = 4 * 28 * 28, N = 6, K = 5 * 5 * 1.
  ExpectSpec(t.layers[0], "conv1", 3136, 25, 1, 25, 1, 6, 1);
  EXPECT_TRUE(accel::IsGemmShaped(t.layers[0]));
  ExpectSpec(t.layers[2], "fc1", 4, 400, 1, 400, 1, 120, 1);
  EXPECT_EQ(t.unmapped[0].ops, 4 * 4704);
  int64_t macs = 0;
  for (auto& l : t.layers) macs += l.macs();
  EXPECT_EQ(macs, 4 * 416520);
  EXPECT_EQ(accel::TopologyGemmCsv(t.layers).substr(0, 40),
            "Layer, M, N, K,\nconv1, 3136, 6, 25,\nconv");
}

TEST(TopologyFromGraph, GroupedConvMapsEachGroup) {
  Graph g;
  g.name = "grouped";
  int x = g.AddInput("input", {8, 10, 10});
  x = g.AddConv("dw", x, 8, 3, 1, 1, false, 8);  // depthwise
  g.AddConv("gc", x, 4, 1, 1, 0, false, 2);
  auto t = accel::TopologyFromGraph(g);
  ASSERT_EQ(t.layers.size(), 10u);
  ExpectSpec(t.layers[0], "dw.g0", 12, 12, 3, 3, 1, 1, 1);
  ExpectSpec(t.layers[7], "dw.g7", 12, 12, 3, 3, 1, 1, 1);
  ExpectSpec(t.layers[8], "gc.g0", 10, 10, 1, 1, 4, 2, 1);
  int64_t macs = 0;
  for (auto& l : t.layers) macs += l.macs();
  EXPECT_EQ(macs, analysis::Analyze(g).total_macs);
}

TEST(TopologyFromGraph, ElementSizeFromBitWidths) {
  Graph g = BuildZooModel("lenet5");
  for (auto& l : g.layers) {
    l.quant.quantized = true;
    l.quant.act_bits = 8;
    l.quant.weight_bits = 8;
  }
  auto t = accel::TopologyFromGraph(g);
  EXPECT_EQ(t.word_bytes, 1);
  EXPECT_EQ(t.act_bits, 8);
  for (auto& l : g.layers) l.quant.weight_bits = 1;  // binary weights, 8-bit activations
  EXPECT_EQ(accel::TopologyFromGraph(g).word_bytes, 1);
  for (auto& l : g.layers) l.quant.act_bits = 16;
  EXPECT_EQ(accel::TopologyFromGraph(g).word_bytes, 2);
}

TEST(TopologyFromGraph, ConvCsvRejectsUnequalStrides) {
  LayerSpec s;
  s.name = "odd";
  s.ifmap_h = s.ifmap_w = 8;
  s.stride_h = 1;
  s.stride_w = 2;
  EXPECT_THROW(accel::TopologyConvCsv({s}), Error);
}

TEST(TopologyZoo, AlexnetPaperDimensions) {
  auto c = analysis::Analyze(BuildZooModel("alexnet"));
  // Hand sum: conv 105,415,200 + 447,897,600 + 149,520,384 + 224,280,576 +
  // 149,520,384; fc 37,748,736 + 16,777,216 + 4,096,000.
  EXPECT_EQ(c.total_macs, 1135256096);
  EXPECT_EQ(c.total_params, 62378344);
}

TEST(TopologyZoo, AlexnetTorchvisionIsTheNetAdaptStart) {
  auto c = analysis::Analyze(BuildZooModel("alexnet-tv"));
  EXPECT_EQ(c.total_macs, 710133440);  // the brief's NetAdapt starting point
}

TEST(TopologyZoo, Resnet50ParamsAndMacs) {
  Graph g = BuildZooModel("resnet50");
  auto c = analysis::Analyze(g);
  int64_t bn_channels = 0, convs = 0;
  for (auto& l : g.layers) {
    if (l.kind == OpKind::kBatchNorm) bn_channels += l.in_channels;
    if (l.kind == OpKind::kConv2d) ++convs;
  }
  EXPECT_EQ(convs, 53);
  EXPECT_EQ(bn_channels, 26560);
  // torchvision's count (gamma + beta per batchnorm channel) is 25,557,032;
  // analysis also counts running mean and var.
  EXPECT_EQ(c.total_params - 2 * bn_channels, 25557032);
  EXPECT_EQ(c.total_macs, 4089184256);  // the usual "4.1 G MACs" (torchvision v1.5)
  auto t = accel::TopologyFromGraph(g);
  EXPECT_EQ(t.layers.size(), 54u);
  ExpectSpec(t.layers[0], "conv1", 230, 230, 7, 7, 3, 64, 2);
}

TEST(TopologyFromGraph, CsvRoundTripsThroughTheScaleSimReader) {
  auto t = accel::TopologyFromGraph(BuildZooModel("resnet50"));
  auto back = accel::ParseTopology(accel::TopologyConvCsv(t.layers), "r50.csv",
                                   accel::TopologyFormat::kConv);
  ASSERT_EQ(back.size(), t.layers.size());
  for (size_t i = 0; i < back.size(); ++i) {
    SCOPED_TRACE(t.layers[i].name);
    ExpectSpec(back[i], t.layers[i].name, t.layers[i].ifmap_h, t.layers[i].ifmap_w,
               t.layers[i].filter_h, t.layers[i].filter_w, t.layers[i].channels,
               t.layers[i].num_filters, t.layers[i].stride_h);
  }
  auto gemm = accel::ParseTopology(accel::TopologyGemmCsv(t.layers), "r50_gemm.csv",
                                   accel::TopologyFormat::kGemm);
  ASSERT_EQ(gemm.size(), t.layers.size());
  for (size_t i = 0; i < gemm.size(); ++i) {
    EXPECT_TRUE(accel::IsGemmShaped(gemm[i]));
    EXPECT_EQ(gemm[i].macs(), t.layers[i].macs()) << t.layers[i].name;
  }
}
