// Counts of layers whose shapes come from a (malformed) model file are
// overflow-checked: an error naming the layer, never negative MACs.
#include <gtest/gtest.h>

#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"

using namespace qaccel;

// Finding 4: counts of huge layers overflowed int64 (negative MACs in `qaccel info`).
TEST(AnalysisOverflow, HugeLayerCountsAreAnErrorNamingTheLayer) {
  Graph g;
  g.name = "huge";
  int x = g.AddInput("input", {int64_t{1} << 20, int64_t{1} << 15, int64_t{1} << 15});
  g.AddConv("wide", x, int64_t{1} << 20, 1, 1, 0, false);
  try {
    analysis::Analyze(g);
    FAIL() << "no overflow error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'wide'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2^63"), std::string::npos) << e.what();
  }
}
