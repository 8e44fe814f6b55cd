// The cost model's speed-ups must be invisible. The CALC-mode memo
// (accel/sim_cache.h) and the bulk OFMAP walk (WriteBufferModel::
// AdvanceQuietRows) are compared with the straightforward paths:
// every LayerMetrics field identical with and without it, on varied layers,
// arrays, dataflows, SRAM sizes (down to ones that close many read windows
// and drain the OFMAP buffer often), word sizes and both bandwidth modes; also from two threads
// sharing the memo and with a budget so small that entries are evicted.
#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/memory_model.h"
#include "qaccel/accel/sim_cache.h"

using namespace qaccel::accel;

namespace {

// Every field of LayerMetrics, compared exactly (doubles included).
void ExpectSame(const LayerMetrics& a, const LayerMetrics& b, const std::string& what) {
#define QACCEL_SAME(f) EXPECT_EQ(a.f, b.f) << what << ": " #f
  QACCEL_SAME(name);
  QACCEL_SAME(total_cycles);
  QACCEL_SAME(stall_cycles);
  QACCEL_SAME(overall_util_pct);
  QACCEL_SAME(mapping_efficiency_pct);
  QACCEL_SAME(compute_util_pct);
  QACCEL_SAME(avg_ifmap_sram_bw);
  QACCEL_SAME(avg_filter_sram_bw);
  QACCEL_SAME(avg_ofmap_sram_bw);
  QACCEL_SAME(avg_ifmap_dram_bw);
  QACCEL_SAME(avg_filter_dram_bw);
  QACCEL_SAME(avg_ofmap_dram_bw);
  QACCEL_SAME(ifmap_sram_start_cycle);
  QACCEL_SAME(ifmap_sram_stop_cycle);
  QACCEL_SAME(ifmap_sram_reads);
  QACCEL_SAME(filter_sram_start_cycle);
  QACCEL_SAME(filter_sram_stop_cycle);
  QACCEL_SAME(filter_sram_reads);
  QACCEL_SAME(ofmap_sram_start_cycle);
  QACCEL_SAME(ofmap_sram_stop_cycle);
  QACCEL_SAME(ofmap_sram_writes);
  QACCEL_SAME(ifmap_dram_start_cycle);
  QACCEL_SAME(ifmap_dram_stop_cycle);
  QACCEL_SAME(ifmap_dram_reads);
  QACCEL_SAME(filter_dram_start_cycle);
  QACCEL_SAME(filter_dram_stop_cycle);
  QACCEL_SAME(filter_dram_reads);
  QACCEL_SAME(ofmap_dram_start_cycle);
  QACCEL_SAME(ofmap_dram_stop_cycle);
  QACCEL_SAME(ofmap_dram_writes);
  QACCEL_SAME(macs);
  QACCEL_SAME(word_bytes);
#undef QACCEL_SAME
}

struct Case {
  ArchConfig cfg;
  LayerSpec layer;
  std::string what;
};

// A sweep in DSE order (array shape and dataflow outer, SRAM sizes inner), so
// the memo is hit by points that differ only in the other operands' SRAMs.
std::vector<Case> Sweep(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<LayerSpec> layers;
  for (int i = 0; i < 8; ++i) {
    LayerSpec l;
    l.name = "L" + std::to_string(i);
    l.filter_h = uni(1, 4);
    l.filter_w = uni(1, 4);
    l.ifmap_h = l.filter_h + uni(0, 20);
    l.ifmap_w = l.filter_w + uni(0, 20);
    l.channels = uni(1, 12);
    l.num_filters = uni(1, 40);
    l.stride_h = uni(1, 3);
    l.stride_w = uni(1, 3);
    layers.push_back(l);
  }
  layers.push_back(LayerSpec::Gemm("G", 50, 30, 70));
  const std::vector<double> kbs = {0.25, 1, 64};
  std::vector<Case> cases;
  for (const auto& l : layers) {
    const int rows = static_cast<int>(uni(2, 20)), cols = static_cast<int>(uni(2, 20));
    for (Dataflow df :
         {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
      const int word_bytes = uni(0, 3) == 0 ? 2 : 1;
      for (double ik : kbs)
        for (double fk : {0.25, 4.0})
          for (double ok : kbs) {
            Case c;
            c.cfg.array_rows = rows;
            c.cfg.array_cols = cols;
            c.cfg.dataflow = df;
            c.cfg.ifmap_sram_kb = ik;
            c.cfg.filter_sram_kb = fk;
            c.cfg.ofmap_sram_kb = ok;
            c.cfg.word_bytes = ik == 0.25 ? 1 : word_bytes;  // >= 100 words
            c.layer = l;
            c.what = l.name + " " + std::to_string(rows) + "x" + std::to_string(cols) + " " +
                     DataflowName(df) + " sram " + std::to_string(ik) + "/" + std::to_string(fk) +
                     "/" + std::to_string(ok) + " B=" + std::to_string(c.cfg.word_bytes);
            cases.push_back(c);
          }
    }
  }
  return cases;
}

std::vector<LayerMetrics> RunAll(const std::vector<Case>& cases) {
  std::vector<LayerMetrics> out;
  out.reserve(cases.size());
  for (const auto& c : cases) out.push_back(SimulateLayer(c.cfg, c.layer));
  return out;
}

class SimCacheTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetSimBulkWalkEnabled(true);
    SetSimCacheBudget(std::size_t{64} << 20);
    SetSimCacheEnabled(true);
    ClearSimCache();
  }
};

TEST_F(SimCacheTest, CachedEqualsUncachedCalc) {
  const auto cases = Sweep(11);
  SetSimCacheEnabled(false);
  const auto ref = RunAll(cases);
  EXPECT_EQ(GetSimCacheStats().entries, 0u);
  SetSimCacheEnabled(true);
  ClearSimCache();
  const SimCacheStats before = GetSimCacheStats();
  const auto got = RunAll(cases);
  const SimCacheStats after = GetSimCacheStats();
  ASSERT_EQ(ref.size(), got.size());
  int ifmap_windows_closed = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    ExpectSame(ref[i], got[i], cases[i].what);
    // More IFMAP DRAM reads than one window: the replay (memoized) ran.
    const int64_t words =
        static_cast<int64_t>(1024 * cases[i].cfg.ifmap_sram_kb) / cases[i].cfg.word_bytes;
    ifmap_windows_closed += ref[i].ifmap_dram_reads > 50 * (words / 100);
  }
  // The sweep exercises the memoized paths and reuses entries.
  EXPECT_GT(ifmap_windows_closed, 20);
  EXPECT_GT(after.hits - before.hits, cases.size());
  EXPECT_GT(after.entries, 0u);
}

TEST_F(SimCacheTest, CachedEqualsUncachedUserMode) {
  auto cases = Sweep(12);
  std::vector<Case> user;
  for (size_t i = 0; i < cases.size(); i += 7) {
    Case c = cases[i];
    c.cfg.bw_mode = BandwidthMode::kUser;
    c.cfg.bandwidth_words_per_cycle = static_cast<double>(2 + i % 7);
    user.push_back(c);
  }
  SetSimCacheEnabled(false);
  const auto ref = RunAll(user);
  SetSimCacheEnabled(true);
  const auto got = RunAll(user);
  for (size_t i = 0; i < ref.size(); ++i) ExpectSame(ref[i], got[i], "USER " + user[i].what);
}

TEST_F(SimCacheTest, SharedByThreadsAndEvictsUnderTinyBudget) {
  const auto cases = Sweep(13);
  SetSimCacheEnabled(false);
  const auto ref = RunAll(cases);
  SetSimCacheEnabled(true);
  for (std::size_t budget : {std::size_t{64} << 20, std::size_t{4096}}) {
    ClearSimCache();
    SetSimCacheBudget(budget);
    std::vector<std::vector<LayerMetrics>> got(2);
    std::vector<std::thread> th;
    for (int t = 0; t < 2; ++t) th.emplace_back([&, t] { got[t] = RunAll(cases); });
    for (auto& x : th) x.join();
    for (int t = 0; t < 2; ++t)
      for (size_t i = 0; i < ref.size(); ++i) ExpectSame(ref[i], got[t][i], cases[i].what);
    EXPECT_LE(GetSimCacheStats().bytes, 3 * budget);  // three memos, one budget each
  }
}

TEST_F(SimCacheTest, BulkWalkEqualsPerRowWalk) {
  std::vector<Case> cases = Sweep(14);
  // Larger layers too: long runs of equal OFMAP demand, many drains.
  for (const LayerSpec& l : {LayerSpec{"big_conv", 30, 30, 3, 3, 16, 64, 1, 1},
                             LayerSpec::Gemm("big_gemm", 300, 70, 40)})
    for (Dataflow df :
         {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary})
      for (double ok : {0.25, 0.5, 2.0, 64.0}) {
        Case c;
        c.cfg.array_rows = 8;
        c.cfg.array_cols = 16;
        c.cfg.dataflow = df;
        c.cfg.ifmap_sram_kb = c.cfg.filter_sram_kb = 1;
        c.cfg.ofmap_sram_kb = ok;
        c.layer = l;
        c.what = l.name + " " + DataflowName(df) + " ofmap " + std::to_string(ok) + " kB";
        cases.push_back(c);
      }
  SetSimCacheEnabled(false);
  SetSimBulkWalkEnabled(false);
  const auto ref = RunAll(cases);
  SetSimBulkWalkEnabled(true);
  const auto got = RunAll(cases);
  for (size_t i = 0; i < ref.size(); ++i) ExpectSame(ref[i], got[i], "bulk " + cases[i].what);
}

// AdvanceQuietRows + Service == Service row by row, on random runs of
// constant, rising and falling demand.
TEST(WriteBufferBulk, MatchesServicePerRow) {
  std::mt19937_64 rng(5);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int64_t bulk_rows = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const BufferSize size = BufferSize::FromBytes(static_cast<double>(uni(100, 3000)), 1);
    const int64_t bw = uni(1, 40);
    WriteBufferModel a(size, bw), b(size, bw);
    int64_t row = 0, stall_a = 0, stall_b = 0;
    for (int run = 0; run < 60; ++run) {
      const int64_t slope = uni(-1, 1), n = uni(1, 200);
      const int64_t k = slope < 0 ? n + uni(0, 2 * bw) : uni(1, 2 * bw);  // every row > 0
      for (int64_t j = 0; j < n; ++j) {  // reference: one row at a time
        const int64_t cycle = row + j + stall_a;
        stall_a += a.Service(k + slope * j, cycle) - cycle;
      }
      for (int64_t j = 0; j < n;) {  // bulk, then one row through Service
        const int64_t cycle = row + j + stall_b;
        const int64_t done = b.AdvanceQuietRows(k + slope * j, slope, cycle, n - j);
        bulk_rows += done;
        j += done;
        if (j < n) {
          const int64_t c = row + j + stall_b;
          stall_b += b.Service(k + slope * j, c) - c;
          ++j;
        }
      }
      ASSERT_EQ(stall_a, stall_b) << "trial " << trial << " run " << run;
      row += n + uni(0, 3);  // rows without OFMAP demand in between
    }
    a.Finish(row + stall_a);
    b.Finish(row + stall_b);
    EXPECT_EQ(a.accesses(), b.accesses());
    EXPECT_EQ(a.first_cycle(), b.first_cycle());
    EXPECT_EQ(a.last_cycle(), b.last_cycle());
  }
  EXPECT_GT(bulk_rows, 100000);
}

}  // namespace
