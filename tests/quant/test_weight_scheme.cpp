// The weight-scheme registry: names, aliases, the error for an unknown
// scheme, and the bit width each scheme records in QuantParams.
#include <gtest/gtest.h>

#include "../common/test_models.h"
#include "qaccel/core/error.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/quant/weight_scheme.h"

using namespace qaccel;

TEST(WeightScheme, AliasesAndFullNamesResolve) {
  EXPECT_EQ(quant::ParseWeightScheme("per-tensor"), quant::kPerTensorAsymmetric);
  EXPECT_EQ(quant::ParseWeightScheme("per-channel-symmetric"), quant::kPerChannelSymmetric);
  for (const auto& s : quant::WeightSchemeRegistry()) {
    EXPECT_EQ(&quant::FindWeightScheme(s.alias), &s);
    EXPECT_GT(s.bits, 0);
  }
}

TEST(WeightScheme, UnknownNameListsTheRegisteredOnes) {
  try {
    quant::ParseWeightScheme("per-row");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("unknown weight scheme 'per-row'"), std::string::npos);
    for (const auto& s : quant::WeightSchemeRegistry())
      EXPECT_NE(m.find(s.alias), std::string::npos) << m;
  }
}

TEST(WeightScheme, QuantizedLayersRecordTheSchemesBits) {
  const Graph f = qaccel::testing::RandomModel("lenet5", 2);
  const data::Dataset images = qaccel::testing::SyntheticImages(8, 1, 28, 28, 4);
  for (const auto& s : quant::WeightSchemeRegistry()) {
    quant::QuantizeOptions o;
    o.weight_scheme = s.alias;
    o.calibration = 8;
    o.observer = "minmax";
    const Graph q = quant::QuantizeGraph(f, images, o);
    for (const Layer& l : q.layers) {
      if (l.quant.weight_scheme.empty()) continue;
      EXPECT_EQ(l.quant.weight_scheme, s.name);
      EXPECT_EQ(l.quant.weight_bits, s.bits);
    }
  }
}
