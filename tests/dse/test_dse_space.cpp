// Design-space TOML: values, ranges, decoding, and errors that name the file
// and the key.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "qaccel/core/error.h"
#include "qaccel/dse/design_space.h"

using namespace qaccel;
using namespace qaccel::dse;

namespace {

std::string ErrorOf(const std::string& toml) {
  try {
    ParseDesignSpace(toml, "space.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(DseSpace, ListsRangesAndDefaults) {
  DesignSpace s = ParseDesignSpace(R"(
[array]
rows = { min = 4, max = 100, pow2 = true }
cols = { min = 8, max = 20, step = 6 }
dataflows = ["ws", "os"]
[memory]
ifmap_sram_kb = [32, 64.5]
bandwidth_mode = ["calc", "user"]
[constraints]
max_pes = 256
[objective]
metric = "weighted"
weights = { total_cycles = 1, energy_pj = 0.5 }
[search]
strategy = "genetic"
seed = 42
[search.genetic]
population = 10
[energy]
dram_read_pj = 150
)",
                                   "s.toml");
  EXPECT_EQ(s.rows, (std::vector<int>{4, 8, 16, 32, 64}));
  EXPECT_EQ(s.cols, (std::vector<int>{8, 14, 20}));
  ASSERT_EQ(s.dataflows.size(), 2u);
  EXPECT_EQ(s.dataflows[0], accel::Dataflow::kWeightStationary);
  EXPECT_EQ(s.ifmap_sram_kb, (std::vector<double>{32, 64.5}));
  EXPECT_EQ(s.filter_sram_kb, (std::vector<double>{64}));  // ArchConfig default
  EXPECT_EQ(s.Size(), 5u * 3 * 2 * 2 * 1 * 1 * 1 * 2);
  EXPECT_EQ(s.constraints.Max("pes"), 256);
  EXPECT_EQ(s.objective.Name(), "weighted");
  accel::NetworkEvaluation e;  // total_cycles 100, energy_pj 400, area_mm2 7
  e.totals.total_cycles = 100;
  e.energy_pj = 400;
  e.area.area_mm2 = 7;
  EXPECT_DOUBLE_EQ(s.objective.Value(e), 100 * 20);
  EXPECT_EQ(s.strategy, "genetic");
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.genetic.population, 10);
  EXPECT_DOUBLE_EQ(s.energy.dram_read_pj, 150);
  // Flatten / Unflatten round trip and decoding.
  for (uint64_t i = 0; i < s.Size(); ++i) EXPECT_EQ(s.Flatten(s.Unflatten(i)), i);
  Candidate c = s.Unflatten(s.Size() - 1);
  accel::ArchConfig a = s.Decode(c, accel::ArchConfig{});
  EXPECT_EQ(a.array_rows, 64);
  EXPECT_EQ(a.array_cols, 20);
  EXPECT_EQ(a.dataflow, accel::Dataflow::kOutputStationary);
  EXPECT_EQ(a.bw_mode, accel::BandwidthMode::kUser);
  EXPECT_FALSE(s.Feasible(a));  // 64 x 20 PEs > 256
  EXPECT_TRUE(s.Feasible(s.Decode(s.Unflatten(0), accel::ArchConfig{})));
}

TEST(DseSpace, MissingKeyNamesFileAndKey) {
  std::string e = ErrorOf("[array]\nrows = [8]\n");
  EXPECT_NE(e.find("space.toml"), std::string::npos) << e;
  EXPECT_NE(e.find("array.cols"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
  e = ErrorOf("[memory]\nifmap_sram_kb = 4\n");
  EXPECT_NE(e.find("space.toml: missing table [array]"), std::string::npos) << e;
}

TEST(DseSpace, BadTypeNamesFileLineAndKey) {
  std::string e = ErrorOf("[array]\nrows = [8]\ncols = \"wide\"\n");
  EXPECT_NE(e.find("space.toml:3: key 'array.cols': must be an integer, got a string"),
            std::string::npos)
      << e;
  e = ErrorOf("[array]\nrows = [8, 2.5]\ncols = [8]\n");
  EXPECT_NE(e.find("key 'array.rows[1]': must be an integer, got a float"), std::string::npos) << e;
  e = ErrorOf("[array]\nrows = [8]\ncols = [8]\ndataflows = [\"xs\"]\n");
  EXPECT_NE(e.find("key 'array.dataflows'"), std::string::npos) << e;
  EXPECT_NE(e.find("'xs'"), std::string::npos) << e;
}

TEST(DseSpace, EmptyRangeNamesKey) {
  std::string e = ErrorOf("[array]\nrows = { min = 64, max = 8 }\ncols = [8]\n");
  EXPECT_NE(e.find("space.toml:2: key 'array.rows': empty range {min = 64, max = 8}"),
            std::string::npos)
      << e;
  e = ErrorOf("[array]\nrows = { min = 9, max = 15, pow2 = true }\ncols = [8]\n");
  EXPECT_NE(e.find("key 'array.rows': empty range"), std::string::npos) << e;
  e = ErrorOf("[array]\nrows = []\ncols = [8]\n");
  EXPECT_NE(e.find("key 'array.rows': empty list"), std::string::npos) << e;
}

TEST(DseSpace, UnknownKeysAndSyntaxErrors) {
  std::string e = ErrorOf("[array]\nrows = [8]\ncols = [8]\nrow = [4]\n");
  EXPECT_NE(e.find("space.toml:4: key 'array.row': unknown key"), std::string::npos) << e;
  e = ErrorOf("[array]\nrows = [8]\ncols = [8]\n[energy]\ndram_pj = 3\n");
  EXPECT_NE(e.find("key 'energy.dram_pj': unknown key"), std::string::npos) << e;
  e = ErrorOf("[array]\nrows = [8\ncols = [8]\n");
  EXPECT_NE(e.find("space.toml:"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
  e = ErrorOf("[array]\nrows = [8]\ncols = [8]\n[objective]\nmetric = \"fast\"\n");
  EXPECT_NE(e.find("key 'objective.metric'"), std::string::npos) << e;
}

// Objectives and constraints name registered resource metrics
// (accel/resource_metrics.h); unknown names list the registered ones.
TEST(DseMetrics, ObjectiveAndConstraintsByMetricName) {
  DesignSpace s = ParseDesignSpace(
      "[array]\nrows = [4, 8]\ncols = [4]\n[constraints]\nmax_sram_kb = 100\nmax_area = 0.5\n"
      "[objective]\nmetric = \"dram_bytes\"\n",
      "s.toml");
  EXPECT_EQ(s.objective.Name(), "dram_bytes");
  EXPECT_EQ(s.constraints.Max("sram_kb"), 100);
  EXPECT_EQ(s.constraints.Max("area_mm2"), 0.5);
  accel::ArchConfig a = s.Decode(s.Unflatten(0), accel::ArchConfig{});
  a.ifmap_sram_kb = a.filter_sram_kb = a.ofmap_sram_kb = 30;
  EXPECT_TRUE(s.Feasible(a));
  a.ofmap_sram_kb = 50;  // 110 kB
  EXPECT_FALSE(s.Feasible(a));
  // Weighted objectives take any metric.
  s = ParseDesignSpace(
      "[array]\nrows = [4]\ncols = [4]\n[objective]\nmetric = \"weighted\"\n"
      "weights = { cycles = 1, dram_bytes = 2 }\n",
      "s.toml");
  accel::NetworkEvaluation e;
  e.totals.total_cycles = 10;
  e.totals.dram_read_bytes = 3;
  EXPECT_DOUBLE_EQ(s.objective.Value(e), 10.0 * 9.0);
}

TEST(DseMetrics, UnknownOrSimulatedNamesAreErrors) {
  const std::string array = "[array]\nrows = [8]\ncols = [8]\n";
  const std::pair<const char*, std::vector<const char*>> cases[] = {
      {"[objective]\nmetric = \"fast\"\n",
       {"key 'objective.metric': 'fast' is not an objective", "cycles (total_cycles)"}},
      {"[constraints]\nmax_cycles = 5\n", {"key 'constraints.max_cycles'", "before simulating"}},
      {"[constraints]\nmax_speed = 5\n", {"key 'constraints.max_speed': unknown key"}},
      {"[objective]\nmetric = \"weighted\"\nweights = {fast = 1}\n",
       {"key 'objective.weights.fast': unknown metric 'fast'"}},
  };
  for (const auto& [toml, wanted] : cases) {
    const std::string e = ErrorOf(array + toml);
    for (const char* w : wanted) EXPECT_NE(e.find(w), std::string::npos) << e;
  }
}
