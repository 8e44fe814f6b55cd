// USER-mode read buffers (issue #8): the fast replay of UserReadBufferModel
// (per-address hit limits and single-set arithmetic, QACCEL_SIM_BULK on)
// against its reference (every access searched in the window,
// SetSimBulkWalkEnabled(false)). Direct model streams on random prefetch
// orders (windows that wrap, cover the whole ring or never move), and the
// three SCALE-Sim reports of whole USER layers byte for byte on random
// shapes x arrays x dataflows x SRAM sizes x bandwidths, stall-heavy ones
// included (1-16 words/cycle, SRAMs down to a few dozen words).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/memory_model.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/sim_cache.h"
#include "qaccel/accel/simulate_stages.h"
#include "sim_cases.h"

using namespace qaccel::accel;

namespace {

TEST(UserReadBufferFast, RandomStreamsMatchTheReference) {
  std::mt19937_64 rng(11);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 400; ++iter) {
    const int64_t space = uni(1, 300);
    // A prefetch order: every address at least once (so every access
    // converges), then repeats (multi-set addresses) and padding.
    std::vector<int32_t> order;
    for (int64_t a = 0; a < space; ++a) order.push_back(static_cast<int32_t>(a));
    const int64_t extra = uni(0, 3 * space);
    for (int64_t i = 0; i < extra; ++i)
      order.push_back(static_cast<int32_t>(uni(0, 5) == 0 ? -1 : uni(0, space - 1)));
    std::shuffle(order.begin(), order.end(), rng);
    const int64_t words = uni(2, 600);  // a prefetch half of at least one word
    BufferSize size;
    size.total = words;
    size.active = (words + 1) / 2;
    size.other = words - size.active;
    const int64_t bw = uni(1, 12);
    UserReadBufferModel fast(size, bw, space, order, true);
    UserReadBufferModel ref(size, bw, space, order, false);
    // Demand: mostly sweeps through the order (as the dataflows read), with
    // random jumps back (laps) and random addresses.
    int64_t pos = 0, out_f = 0, out_r = 0;
    const int64_t n = uni(1, 4000);
    for (int64_t i = 0; i < n; ++i) {
      int64_t a;
      const int64_t pick = uni(0, 9);
      if (pick == 0) {
        a = uni(0, space - 1);
      } else {
        if (pick == 1) pos = uni(0, static_cast<int64_t>(order.size()) - 1);
        do {
          a = order[static_cast<size_t>(pos)];
          pos = (pos + 1) % static_cast<int64_t>(order.size());
        } while (a < 0);
      }
      if (uni(0, 20) == 0) {  // a new row
        out_f = std::max(out_f, i);
        out_r = std::max(out_r, i);
      }
      out_f = fast.Access(a, out_f);
      out_r = ref.Access(a, out_r);
      ASSERT_EQ(out_f, out_r) << "iter " << iter << " access " << i;
    }
    EXPECT_EQ(fast.accesses(), ref.accesses()) << "iter " << iter;
    EXPECT_EQ(fast.start_cycle(), ref.start_cycle()) << "iter " << iter;
    EXPECT_EQ(fast.stop_cycle(), ref.stop_cycle()) << "iter " << iter;
  }
}

// StackPositions (the closed-form prefetch order) against the listed order
// (PrefetchOrder): every valid entry's valid index, and the diagonal starts,
// on random stack shapes (padded last folds, tall and wide stacks, both
// layouts) and on the stacks of random conv layers (windows over an address
// found by OperandMatrices::ForEachIfmapUse).
TEST(UserPrefetchStack, ClosedFormMatchesTheListedOrder) {
  std::mt19937_64 rng(17);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 600; ++iter) {
    PrefetchLayout pl;
    pl.width = uni(1, 12);
    pl.len = uni(1, 15);
    pl.bound = uni(1, 6 * pl.width);
    pl.folds = (pl.bound + pl.width - 1) / pl.width;
    pl.diagonal = uni(0, 1) == 1;
    pl.index_first = uni(0, 1) == 1;
    // op(x, y): a distinct code per (i, t).
    auto code = [&](int64_t i, int64_t t) { return i * pl.len + t; };
    auto op = [&](int64_t x, int64_t y) { return pl.index_first ? code(x, y) : code(y, x); };
    std::vector<int32_t> order;
    std::vector<int64_t> starts;
    qaccel::accel::detail::PrefetchOrder(pl, op, &order, pl.diagonal ? &starts : nullptr);
    const StackPositions pos(pl);
    ASSERT_EQ(pos.entries(), static_cast<int64_t>(order.size())) << iter;
    if (pl.diagonal) {
      ASSERT_EQ(pos.diagonal_starts(), starts) << iter;
    }
    int64_t v = 0;
    for (const int32_t a : order) {
      if (a < 0) continue;
      ASSERT_EQ(pos.Of(a / pl.len, a % pl.len), v) << iter;
      ++v;
    }
    ASSERT_EQ(pos.valid(), v) << iter;
  }
  // Every (p, k) naming an IFMAP address, and only those.
  for (int iter = 0; iter < 200; ++iter) {
    LayerSpec l;
    l.ifmap_h = uni(1, 12);
    l.ifmap_w = uni(1, 12);
    l.filter_h = std::min(uni(1, 4), l.ifmap_h);
    l.filter_w = std::min(uni(1, 4), l.ifmap_w);
    l.channels = uni(1, 3);
    l.stride_h = uni(1, 3);
    l.stride_w = uni(1, 3);
    const OperandMatrices op(l);
    std::vector<std::vector<std::pair<int64_t, int64_t>>> uses(
        static_cast<size_t>(op.ifmap_space()));
    for (int64_t p = 0; p < op.M(); ++p)
      for (int64_t k = 0; k < op.K(); ++k)
        if (const int64_t a = op.Ifmap(p, k); a >= 0)
          uses[static_cast<size_t>(a)].push_back({p, k});
    for (int64_t a = 0; a < op.ifmap_space(); ++a) {
      std::vector<std::pair<int64_t, int64_t>> got;
      op.ForEachIfmapUse(a, [&](int64_t p, int64_t k) { got.push_back({p, k}); });
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, uses[static_cast<size_t>(a)]) << "iter " << iter << " address " << a;
    }
  }
}

TEST(UserPrefetchStack, NarrowDivMatchesDivision) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 100000; ++iter) {
    const int64_t a = static_cast<int64_t>(rng() >> (1 + rng() % 62));
    const int64_t b = 1 + static_cast<int64_t>(rng() >> (1 + rng() % 62));
    ASSERT_EQ(NarrowDiv(a, b), a / b) << a << " / " << b;
  }
}

using simtest::Case;
using simtest::Reports;

class SimUserTest : public simtest::FastPathTest {
 protected:
  static void Compare(const std::vector<Case>& cases) {
    int errors = 0;
    for (const Case& c : cases) {
      SetSimBulkWalkEnabled(false);
      const std::string ref = Reports(c);
      SetSimBulkWalkEnabled(true);
      EXPECT_EQ(ref, Reports(c)) << c.what;
      errors += ref.rfind("error: ", 0) == 0;
    }
    EXPECT_LT(errors, static_cast<int>(cases.size()) / 4);
  }
};

TEST_F(SimUserTest, RandomUserLayersMatchTheReference) {
  std::mt19937_64 rng(5);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<Case> cases;
  for (int i = 0; i < 240; ++i) {
    Case c = simtest::RandomLayerCase(uni, i, {300, 60, 80, 24, 64, 48});
    const double kbs[] = {0.03, 0.1, 0.25, 0.5, 1, 2, 8};
    c.cfg.ifmap_sram_kb = kbs[uni(0, 6)];
    c.cfg.filter_sram_kb = kbs[uni(0, 6)];
    c.cfg.ofmap_sram_kb = kbs[uni(2, 6)];
    c.cfg.bw_mode = BandwidthMode::kUser;
    c.cfg.bandwidth_words_per_cycle = static_cast<double>(uni(0, 2) == 0 ? uni(1, 3) : uni(1, 16));
    simtest::Describe(c);
    cases.push_back(c);
  }
  Compare(cases);
}

// AlexNet-like proportions scaled down: many folds, filters lapping the
// filter buffer once per row fold (os), IFMAP addresses in many sets.
TEST_F(SimUserTest, LongUserLayersMatchTheReference) {
  std::vector<Case> cases;
  const std::vector<LayerSpec> layers = {{"conv5x5_c16", 20, 20, 5, 5, 16, 40, 1, 1},
                                         {"conv11_s4", 63, 63, 11, 11, 3, 24, 4, 4},
                                         {"conv3x3_c32", 15, 15, 3, 3, 32, 48, 1, 1},
                                         LayerSpec::Gemm("gemm", 500, 70, 90)};
  for (const LayerSpec& l : layers)
    for (Dataflow df :
         {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary})
      for (double kb : {0.2, 2.0, 16.0})
        for (double bw : {1.0, 10.0}) {
          Case c;
          c.cfg.array_rows = 8;
          c.cfg.array_cols = 8;
          c.cfg.dataflow = df;
          c.cfg.ifmap_sram_kb = kb;
          c.cfg.filter_sram_kb = kb;
          c.cfg.ofmap_sram_kb = 2;
          c.cfg.bw_mode = BandwidthMode::kUser;
          c.cfg.bandwidth_words_per_cycle = bw;
          c.layer = l;
          std::ostringstream what;
          what << l.name << " " << DataflowName(df) << " " << kb << " kB bw " << bw;
          c.what = what.str();
          cases.push_back(c);
        }
  Compare(cases);
}

}  // namespace
