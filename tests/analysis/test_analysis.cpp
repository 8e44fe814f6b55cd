#include <gtest/gtest.h>

#include "qaccel/analysis/analysis.h"
#include "qaccel/graph/zoo.h"

using namespace qaccel;

TEST(Analysis, Lenet5MatchesTheBrief) {
  auto c = analysis::Analyze(BuildZooModel("lenet5"));
  EXPECT_EQ(c.total_macs, 416520);
  EXPECT_EQ(c.total_params, 61706);
  EXPECT_EQ(c.total_flops, 2 * 416520);
  EXPECT_EQ(c.layers[1].macs, 117600);  // conv1: 6*28*28*25
  EXPECT_EQ(c.layers.back().macs, 840);
}

TEST(Analysis, QuantizedLayersAreNeverZeroOps) {
  Graph g = BuildZooModel("lenet5");
  for (auto& l : g.layers) {
    l.quant.quantized = true;
    l.quant.weight_bits = 8;
    l.quant.act_bits = 8;
  }
  auto c = analysis::Analyze(g);
  EXPECT_EQ(c.total_macs, 416520);
  // int8 weights + int32 bias: 61470 + 236*4 bytes.
  EXPECT_EQ(c.total_param_bytes, 61470 + 236 * 4);
}

TEST(Analysis, Resnet20ParameterCount) {
  auto c = analysis::Analyze(BuildZooModel("resnet20"));
  // ~0.27 M parameters (He et al.), counting batchnorm's 4 per channel.
  EXPECT_GT(c.total_params, 260000);
  EXPECT_LT(c.total_params, 280000);
}
