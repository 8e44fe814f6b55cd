// The distributed explore path (ExploreOptions::distributor) without MPI: a
// fake rank 0 of 2 evaluates only its share of every batch and receives the
// other share from an oracle (the points a single process computed, as the
// exact text records that travel between processes). Its result must equal
// the single process's point for point, for exhaustive and genetic search.
// The real 2-rank run is ctest Mpi.TwoRanksByteIdentical (tests/mpi/).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>

#include "qaccel/core/distribute.h"
#include "qaccel/core/parallel.h"
#include "qaccel/dse/checkpoint.h"
#include "qaccel/dse/explore.h"

using namespace qaccel;
using namespace qaccel::dse;

namespace {

DesignSpace Space() {
  return ParseDesignSpace(R"(
[array]
rows = { min = 2, max = 32, pow2 = true }
cols = { min = 2, max = 32, pow2 = true }
dataflows = ["os", "ws", "is", "rs"]
[memory]
ifmap_sram_kb = [32, 64]
[search.genetic]
population = 10
generations = 6
)",
                          "d.toml");
}

std::atomic<int> evaluations{0};

PointResult Cost(const accel::ArchConfig& c) {
  ++evaluations;
  PointResult r;
  r.config = c;
  r.total_cycles = 1000000 / (c.array_rows * c.array_cols) + static_cast<int>(c.dataflow) * 7 +
                   static_cast<int64_t>(c.ifmap_sram_kb);
  r.area.pes = static_cast<int64_t>(c.array_rows) * c.array_cols;
  r.energy_pj = std::sqrt(static_cast<double>(r.total_cycles)) * 1.1 + 0.1 * r.area.pes;
  r.objective = r.energy_pj * static_cast<double>(r.total_cycles);
  return r;
}

// Rank 0 of 2: the other share comes from `oracle` (the single run's points
// in evaluation order).
class FakeRankZero final : public WorkDistributor {
 public:
  FakeRankZero(const DesignSpace& s, const std::vector<PointResult>& oracle)
      : space_(s), oracle_(oracle) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  // Rank 0 takes the even tasks; rank 1 (the oracle) the odd ones.
  void BeginTasks(size_t n) override {
    tasks_ = n;
    next_task_ = 0;
  }
  bool NextTask(size_t* task) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_task_ >= tasks_) return false;
    *task = next_task_;
    next_task_ += 2;
    return true;
  }
  void AllGather(std::vector<std::string>* items, const std::vector<char>& mine) override {
    for (size_t i = 0; i < items->size(); ++i) {
      const PointResult& p = oracle_.at(next_ + i);
      if (!mine.at(i))
        (*items)[i] = FormatPointRecord(IndexOf(p.config), p);
      else
        EXPECT_FALSE((*items)[i].empty());
    }
    next_ += items->size();
  }

 private:
  // The point's linear index (brute force: the space is small).
  uint64_t IndexOf(const accel::ArchConfig& c) const {
    for (uint64_t i = 0; i < space_.Size(); ++i) {
      const accel::ArchConfig d = space_.Decode(space_.Unflatten(i), {});
      if (d.array_rows == c.array_rows && d.array_cols == c.array_cols &&
          d.dataflow == c.dataflow && d.ifmap_sram_kb == c.ifmap_sram_kb)
        return i;
    }
    ADD_FAILURE() << "not in the space";
    return 0;
  }
  const DesignSpace& space_;
  const std::vector<PointResult>& oracle_;
  size_t next_ = 0;
  size_t tasks_ = 0, next_task_ = 0;
  std::mutex mu_;
};

ExploreOptions Opts(const std::string& strategy) {
  ExploreOptions o;
  o.strategy = strategy;
  o.seed = 5;
  o.threads = 2;
  o.progress = false;
  o.batch = 9;
  return o;
}

}  // namespace

TEST(ExploreDistributed, RankZeroEvaluatesItsShareAndGathersTheSameResult) {
  for (const std::string strategy : {"exhaustive", "genetic"}) {
    const DesignSpace s = Space();
    evaluations = 0;
    const ExploreResult one = Explore(s, Cost, Opts(strategy));
    const int single = evaluations;
    FakeRankZero d(s, one.points);
    ExploreOptions o = Opts(strategy);
    o.distributor = &d;
    evaluations = 0;
    const ExploreResult two = Explore(s, Cost, o);
    EXPECT_LT(evaluations, single * 2 / 3) << strategy;  // about half
    EXPECT_GT(evaluations, single / 3) << strategy;
    ASSERT_EQ(one.points.size(), two.points.size()) << strategy;
    EXPECT_EQ(PointsCsv(one), PointsCsv(two)) << strategy;
    EXPECT_EQ(one.best, two.best);
    EXPECT_EQ(one.front_energy, two.front_energy);
  }
}

TEST(ExploreDistributed, TasksAreRunsOfEqualKeysCutToTheCap) {
  const std::vector<uint64_t> keys = {3, 3, 3, 3, 3, 1, 1, 3, 9};
  using Tasks = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(CutIntoTasks(keys, 100), (Tasks{{0, 5}, {5, 7}, {7, 8}, {8, 9}}));
  EXPECT_EQ(CutIntoTasks(keys, 2), (Tasks{{0, 2}, {2, 4}, {4, 5}, {5, 7}, {7, 8}, {8, 9}}));
  EXPECT_EQ(CutIntoTasks(keys, 0), CutIntoTasks(keys, 1));  // a cap of 0 means 1
  EXPECT_TRUE(CutIntoTasks({}, 4).empty());
}

TEST(ExploreDistributed, SingleProcessDealsEveryTaskOnceAcrossThreads) {
  WorkDistributor& d = SingleProcess();
  for (int round = 0; round < 2; ++round) {
    d.BeginTasks(1000);
    std::vector<std::atomic<int>> taken(1000);
    ParallelFor(4, 4, [&](int64_t, int) {
      for (size_t t = 0; d.NextTask(&t);) taken[t].fetch_add(1);
    });
    for (size_t t = 0; t < taken.size(); ++t) EXPECT_EQ(taken[t].load(), 1) << t;
  }
}
