// Search strategies and the exploration driver against a fake cost function
// (the driver takes any pure evaluation function; the real one is the cost
// model, exercised in test_dse_cli.cpp).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <tuple>

#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/core/error.h"
#include "qaccel/dse/explore.h"
#include "qaccel/dse/strategy.h"
#include "qaccel/graph/zoo.h"

using namespace qaccel;
using namespace qaccel::dse;

namespace {

DesignSpace SmallSpace() {
  return ParseDesignSpace(R"(
[array]
rows = { min = 2, max = 64, pow2 = true }
cols = { min = 2, max = 64, pow2 = true }
dataflows = ["os", "ws", "is"]
[memory]
ifmap_sram_kb = [32, 64, 128]
[search.genetic]
population = 12
generations = 12
)",
                          "small.toml");
}

// A bumpy fake cost with one global minimum at 16 x 32, ws, 64 kB.
PointResult FakeCost(const accel::ArchConfig& c) {
  PointResult r;
  r.config = c;
  double lr = std::log2(c.array_rows) - 4, lc = std::log2(c.array_cols) - 5;
  double df = c.dataflow == accel::Dataflow::kWeightStationary   ? 0
              : c.dataflow == accel::Dataflow::kOutputStationary ? 3
                                                                 : 5;
  double kb = std::abs(c.ifmap_sram_kb - 64) / 32;
  r.total_cycles = static_cast<int64_t>(1000 + 100 * (lr * lr + 2 * lc * lc) + 40 * df + 25 * kb +
                                        7 * ((c.array_rows * 3 + c.array_cols) % 5));
  r.area.pes = static_cast<int64_t>(c.array_rows) * c.array_cols;
  r.energy_pj = 1e6 / static_cast<double>(r.area.pes) + static_cast<double>(r.area.pes) + 10 * df;
  r.objective = static_cast<double>(r.total_cycles);
  return r;
}

ExploreOptions Opts(const std::string& strategy, uint64_t seed, int threads) {
  ExploreOptions o;
  o.strategy = strategy;
  o.seed = seed;
  o.threads = threads;
  o.progress = false;
  o.batch = 7;  // small batches exercise the strategy rounds
  return o;
}

}  // namespace

TEST(DseSearch, ExhaustiveVisitsEveryPointOnce) {
  DesignSpace s = SmallSpace();
  auto r = Explore(s, FakeCost, Opts("exhaustive", 1, 2));
  ASSERT_EQ(r.points.size(), s.Size());
  EXPECT_EQ(s.Size(), 6u * 6 * 3 * 3);
  for (size_t i = 0; i < r.points.size(); ++i)
    EXPECT_EQ(r.points[i].config.array_rows, s.Decode(s.Unflatten(i), {}).array_rows);
  const auto& b = r.points[r.best].config;
  EXPECT_EQ(b.array_rows, 16);
  EXPECT_EQ(b.array_cols, 32);
  EXPECT_EQ(b.dataflow, accel::Dataflow::kWeightStationary);
  EXPECT_DOUBLE_EQ(b.ifmap_sram_kb, 64);
}

TEST(DseSearch, GeneticFindsTheExhaustiveOptimum) {
  DesignSpace s = SmallSpace();
  auto ex = Explore(s, FakeCost, Opts("exhaustive", 1, 2));
  auto ga = Explore(s, FakeCost, Opts("genetic", 7, 2));
  EXPECT_LT(ga.points.size(), s.Size() / 2);  // it searched, not enumerated
  EXPECT_EQ(ga.points[ga.best].objective, ex.points[ex.best].objective);
  EXPECT_EQ(ga.points[ga.best].config.array_rows, 16);
  EXPECT_EQ(ga.points[ga.best].config.array_cols, 32);
  // No point is evaluated twice.
  std::set<std::tuple<int, int, int, double>> seen;
  for (auto& p : ga.points)
    EXPECT_TRUE(seen.insert({p.config.array_rows, p.config.array_cols,
                             static_cast<int>(p.config.dataflow), p.config.ifmap_sram_kb})
                    .second);
}

TEST(DseSearch, SameSeedSameCsvWhateverTheThreadCount) {
  DesignSpace s = SmallSpace();
  const std::string a = PointsCsv(Explore(s, FakeCost, Opts("genetic", 11, 1)));
  const std::string b = PointsCsv(Explore(s, FakeCost, Opts("genetic", 11, 4)));
  const std::string c = PointsCsv(Explore(s, FakeCost, Opts("genetic", 11, 2)));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_NE(a.find(",genetic,11\n"), std::string::npos);  // the seed is in every row
  EXPECT_NE(a, PointsCsv(Explore(s, FakeCost, Opts("genetic", 12, 2))));
  EXPECT_EQ(PointsCsv(Explore(s, FakeCost, Opts("exhaustive", 1, 1))),
            PointsCsv(Explore(s, FakeCost, Opts("exhaustive", 1, 3))));
}

TEST(DseSearch, ConstraintsRejectBeforeEvaluation) {
  DesignSpace s = SmallSpace();
  s.constraints.SetMax("pes", 64);
  std::atomic<int> calls{0};
  auto r = Explore(
      s,
      [&](const accel::ArchConfig& c) {
        ++calls;
        return FakeCost(c);
      },
      Opts("exhaustive", 1, 2));
  for (auto& p : r.points) EXPECT_LE(p.area.pes, 64);
  EXPECT_EQ(static_cast<uint64_t>(calls.load()), r.points.size());
  EXPECT_EQ(r.points.size() + r.skipped_infeasible, s.Size());
  s.constraints.SetMax("pes", 1);
  EXPECT_THROW(Explore(s, FakeCost, Opts("exhaustive", 1, 2)), Error);
}

TEST(DseSearch, FrontsAreComputedOnTheEvaluatedPoints) {
  DesignSpace s = SmallSpace();
  auto r = Explore(s, FakeCost, Opts("exhaustive", 1, 2));
  ASSERT_FALSE(r.front_pes.empty());
  // Along the front, PEs increase and cycles strictly decrease.
  for (size_t k = 1; k < r.front_pes.size(); ++k) {
    EXPECT_GT(r.points[r.front_pes[k]].area.pes, r.points[r.front_pes[k - 1]].area.pes);
    EXPECT_LT(r.points[r.front_pes[k]].total_cycles, r.points[r.front_pes[k - 1]].total_cycles);
  }
}

TEST(DseSearch, UnknownStrategyIsAnError) {
  DesignSpace s = SmallSpace();
  EXPECT_THROW(Explore(s, FakeCost, Opts("annealing", 1, 1)), Error);
  EXPECT_EQ(StrategyNames(), (std::vector<std::string>{"exhaustive", "genetic"}));
}

TEST(DseSearch, GeneticFindsTheExhaustiveOptimumWithTheCostModel) {
  DesignSpace s = ParseDesignSpace(R"(
[array]
rows = { min = 4, max = 32, pow2 = true }
cols = { min = 4, max = 32, pow2 = true }
dataflows = ["os", "ws", "is"]
[memory]
ifmap_sram_kb = [8, 32]
[objective]
metric = "edp"
[search.genetic]
population = 8
generations = 8
)",
                                   "lenet5.toml");
  auto topo = accel::TopologyFromGraph(BuildZooModel("lenet5"));
  ExploreOptions o = Opts("exhaustive", 1, 2);
  o.base.word_bytes = topo.word_bytes;
  auto ex = Explore(s, topo.layers, o);
  ASSERT_EQ(ex.points.size(), s.Size());
  o.strategy = "genetic";
  o.seed = 3;
  auto ga = Explore(s, topo.layers, o);
  EXPECT_LE(ga.points.size(), 64u);
  EXPECT_EQ(ga.points[ga.best].objective, ex.points[ex.best].objective)
      << "genetic best " << DescribePoint(ga.points[ga.best]) << " vs exhaustive "
      << DescribePoint(ex.points[ex.best]);
}
