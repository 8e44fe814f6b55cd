// Shared by the simulator's fast-path tests (test_sim_bulk.cpp,
// test_sim_user.cpp): one random layer on one random array, described in one
// line, and its three SCALE-Sim reports as one string.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/sim_cache.h"

namespace qaccel::accel::simtest {

struct Case {
  ArchConfig cfg;
  LayerSpec layer;
  std::string what;
};

inline std::string Name(char prefix, int i) { return prefix + std::to_string(i); }

// Upper bounds of the random layers (conv: filters 1..5, strides 1..3).
struct LayerRanges {
  int64_t gemm_m, gemm_n, gemm_k;  // GEMM layers (1 in 5)
  int64_t extra_hw;                // IFMAP = filter + 0..extra_hw
  int64_t max_channels;            // 1..6 (meeting window elements) or 7..max
  int64_t max_filters;
};

// A random layer (named g<i> or c<i>) on a random 2..20 x 2..20 os/ws/is
// array; SRAM sizes and bandwidth are the caller's.
template <typename Uni>
Case RandomLayerCase(Uni& uni, int i, const LayerRanges& r) {
  Case c;
  LayerSpec& l = c.layer;
  if (uni(0, 4) == 0) {
    l = LayerSpec::Gemm(Name('g', i), uni(1, r.gemm_m), uni(1, r.gemm_n), uni(1, r.gemm_k));
  } else {
    l.name = Name('c', i);
    l.filter_h = uni(1, 5);
    l.filter_w = uni(1, 5);
    l.ifmap_h = l.filter_h + uni(0, r.extra_hw);
    l.ifmap_w = l.filter_w + uni(0, r.extra_hw);
    // Channels below and above the array height: folds whose window
    // elements meet (few channels) and ones that cannot (many).
    l.channels = uni(0, 1) ? uni(1, 6) : uni(7, r.max_channels);
    l.num_filters = uni(1, r.max_filters);
    l.stride_h = uni(1, 3);
    l.stride_w = uni(1, 3);
  }
  const Dataflow dfs[] = {Dataflow::kOutputStationary, Dataflow::kWeightStationary,
                          Dataflow::kInputStationary};
  c.cfg.array_rows = static_cast<int>(uni(2, 20));
  c.cfg.array_cols = static_cast<int>(uni(2, 20));
  c.cfg.dataflow = dfs[uni(0, 2)];
  c.cfg.word_bytes = 1;
  return c;
}

// Sets c.what from the layer and the whole configuration.
inline void Describe(Case& c) {
  const LayerSpec& l = c.layer;
  std::ostringstream what;
  what << l.name << " " << l.ifmap_h << "x" << l.ifmap_w << "x" << l.channels << " f" << l.filter_h
       << "x" << l.filter_w << " s" << l.stride_h << l.stride_w << " n" << l.num_filters << " on "
       << c.cfg.array_rows << "x" << c.cfg.array_cols << " " << DataflowName(c.cfg.dataflow)
       << " sram " << c.cfg.ifmap_sram_kb << "/" << c.cfg.filter_sram_kb << "/"
       << c.cfg.ofmap_sram_kb;
  if (c.cfg.bw_mode == BandwidthMode::kUser)
    what << " USER " << c.cfg.bandwidth_words_per_cycle;
  else
    what << " CALC";
  c.what = what.str();
}

// The three SCALE-Sim reports of one layer, or the error it raised.
inline std::string Reports(const Case& c) {
  try {
    const std::vector<LayerMetrics> m = {SimulateLayer(c.cfg, c.layer)};
    return ComputeReportCsv(m) + BandwidthReportCsv(m) + DetailedAccessReportCsv(m);
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

// Fixture: the memo off while a test sets up; afterwards the bulk paths and
// the memo back on and the memo emptied.
class FastPathTest : public ::testing::Test {
 protected:
  void SetUp() override { SetSimCacheEnabled(false); }
  void TearDown() override {
    SetSimBulkWalkEnabled(true);
    SetSimCacheEnabled(true);
    ClearSimCache();
  }
};

}  // namespace qaccel::accel::simtest
