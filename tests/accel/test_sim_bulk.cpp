// The bulk paths of the simulator (issue #8) against the per-cycle
// reference: SetSimBulkWalkEnabled(false) (QACCEL_SIM_BULK=0) replays every
// demand row and every IFMAP window address; with it on, the CALC walk
// advances OFMAP runs in bulk, counts the IFMAP windows of ws folds whose
// addresses cannot meet anything in the window (BulkStreamRest), extrapolates
// periodic column-fold passes (ws, os), and USER-mode layers come from the
// whole-layer memo. The three SCALE-Sim reports must be byte-identical, on
// random layer shapes (ragged strides, 1..80 channels, GEMMs) x array
// sizes x dataflows x SRAM sizes (down to 100-word buffers, so windows close
// every few rows) x CALC / USER bandwidth.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/sim_cache.h"
#include "sim_cases.h"

using namespace qaccel::accel;

namespace {

using simtest::Case;
using simtest::Reports;

std::vector<Case> RandomCases(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<Case> cases;
  for (int i = 0; i < n; ++i) {
    Case c = simtest::RandomLayerCase(uni, i, {400, 60, 90, 30, 80, 50});
    const double kbs[] = {0.1, 0.25, 0.5, 1, 2, 8};
    c.cfg.ifmap_sram_kb = kbs[uni(0, 5)];
    c.cfg.filter_sram_kb = kbs[uni(0, 5)];
    c.cfg.ofmap_sram_kb = kbs[uni(1, 5)];
    if (uni(0, 3) == 0) {
      c.cfg.bw_mode = BandwidthMode::kUser;
      c.cfg.bandwidth_words_per_cycle = static_cast<double>(uni(1, 16));
    }
    simtest::Describe(c);
    cases.push_back(c);
  }
  return cases;
}

class SimBulkTest : public simtest::FastPathTest {
 protected:
  // Reference (per-cycle, no memo) vs bulk (memo on, each case run twice so
  // the second comes from the memo), byte for byte.
  static void Compare(const std::vector<Case>& cases) {
    std::vector<std::string> ref;
    SetSimCacheEnabled(false);
    SetSimBulkWalkEnabled(false);
    for (const Case& c : cases) ref.push_back(Reports(c));
    SetSimBulkWalkEnabled(true);
    SetSimCacheEnabled(true);
    ClearSimCache();
    int errors = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (size_t i = 0; i < cases.size(); ++i) {
        const std::string got = Reports(cases[i]);
        EXPECT_EQ(ref[i], got) << cases[i].what << " (pass " << pass << ")";
        errors += ref[i].rfind("error: ", 0) == 0;
      }
    // Most cases simulate (a few random SRAMs are too small for SCALE-Sim).
    EXPECT_LT(errors, static_cast<int>(cases.size()));
  }
};

TEST_F(SimBulkTest, RandomLayersMatchThePerCycleReference) { Compare(RandomCases(8, 300)); }

// Layers long enough for many window closes per fold, many folds and many
// column-fold passes, on the shapes the bulk paths target: a ws array with
// many channels per fold (window elements never meet), a GEMM (row folds
// disjoint), ragged stride-2 edges, few channels (folds whose elements meet:
// replayed), and os / is on the same layers.
TEST_F(SimBulkTest, LongStreamsMatchThePerCycleReference) {
  std::vector<Case> cases;
  const std::vector<LayerSpec> layers = {
      {"conv3x3_c24", 40, 44, 3, 3, 24, 40, 1, 1},  {"conv1x1_s2", 41, 37, 1, 1, 32, 48, 2, 2},
      {"conv7x7_s2_c3", 45, 47, 7, 7, 3, 20, 2, 2}, {"conv3x3_c1", 60, 50, 3, 3, 1, 30, 1, 1},
      {"conv3x3_c13", 30, 30, 3, 3, 13, 33, 1, 2},  LayerSpec::Gemm("gemm", 900, 70, 130),
      LayerSpec::Gemm("gemm_tall", 3000, 20, 40)};
  for (const LayerSpec& l : layers)
    for (Dataflow df :
         {Dataflow::kWeightStationary, Dataflow::kOutputStationary, Dataflow::kInputStationary})
      for (double ik : {0.1, 0.3, 1.0, 4.0})
        for (int64_t rows : {4, 12}) {
          Case c;
          c.cfg.array_rows = rows;
          c.cfg.array_cols = 14;
          c.cfg.dataflow = df;
          c.cfg.ifmap_sram_kb = ik;
          c.cfg.filter_sram_kb = 1;
          c.cfg.ofmap_sram_kb = 0.5;
          c.layer = l;
          std::ostringstream what;
          what << l.name << " " << DataflowName(df) << " " << rows << "x14 ifmap " << ik << " kB";
          c.what = what.str();
          cases.push_back(c);
        }
  Compare(cases);
}

}  // namespace

// The window-overlap predicates the bulk IFMAP path relies on
// (OperandMatrices::WindowRangeDistinct / WindowRangesDisjoint) visit tap
// pairs; here against their definition over element pairs, on random
// shapes and ranges (the size guards are the same in both).
TEST(SimWindowPredicates, EqualTheirElementPairDefinition) {
  std::mt19937_64 rng(17);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 3000; ++iter) {
    LayerSpec l;
    l.name = "w";
    l.filter_h = pick(1, 7);
    l.filter_w = pick(1, 7);
    l.stride_h = pick(1, 3);
    l.stride_w = pick(1, 3);
    l.ifmap_h = l.filter_h + pick(0, 9);
    l.ifmap_w = l.filter_w + pick(0, 9);
    l.channels = pick(1, 6);
    l.num_filters = 2;
    const OperandMatrices om(l);
    const int64_t ch = l.channels, fw = l.filter_w, K = om.K();
    const int64_t oh = l.ofmap_h(), ow = l.ofmap_w();  // SCALE-Sim's (rounded up)
    auto meet = [&](int64_t a, int64_t b) {            // elements a, b of one channel
      const int64_t ta = a / ch, tb = b / ch;
      const int64_t dy = tb / fw - ta / fw, dx = tb % fw - ta % fw;
      return dy % l.stride_h == 0 && dx % l.stride_w == 0 && std::abs(dy / l.stride_h) < oh &&
             std::abs(dx / l.stride_w) < ow;
    };
    const int64_t k0 = pick(0, K - 1), k1 = pick(k0 + 1, K);
    const int64_t n = k1 - k0;
    bool distinct = true;
    if (n > ch && n / ch > (int64_t{1} << 20) / n) distinct = false;
    for (int64_t a = k0; a < k1 && distinct; ++a)
      for (int64_t b = a + ch; b < k1; b += ch)
        if (meet(a, b)) distinct = false;
    EXPECT_EQ(om.WindowRangeDistinct(k0, k1), distinct) << iter;
    const int64_t b0 = pick(0, K - 1), b1 = pick(b0 + 1, K);
    bool disjoint = !(k0 < b1 && b0 < k1);
    for (int64_t a = k0; a < k1 && disjoint; ++a)
      for (int64_t b = b0 + ((a - b0) % ch + ch) % ch; b < b1; b += ch)
        if (meet(a, b)) disjoint = false;
    EXPECT_EQ(om.WindowRangesDisjoint(k0, k1, b0, b1), disjoint) << iter;
  }
}
