// The exploration driver: asks a search strategy for candidates, evaluates
// them on a pool of threads, reports the costs back in hand-out order, and
// collects every evaluated point. Output order, and therefore every output
// file, is independent of the thread count.
//
// Outputs of WriteExploreOutputs(dir):
//   points.csv                 every evaluated point, in evaluation order
//   pareto_cycles_pes.csv      the front of total_cycles vs PEs (same columns)
//   pareto_cycles_energy.csv   the front of total_cycles vs energy_pj
//   pareto.svg                 two panels: all points (scatter) + front (line)
//   best.json, manifest.json   the best point; command line, versions, seed,
//                              strategy, space file, model, counts, timing
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qaccel/core/distribute.h"
#include "qaccel/dse/checkpoint.h"
#include "qaccel/dse/design_space.h"
#include "qaccel/dse/evaluator.h"

namespace qaccel::dse {

// Limits of one search (docs/dse.md, "Limits"): the design points a run may
// evaluate (the strategy's expected evaluations: the space size for
// exhaustive, population x generations for genetic), and the size of the
// space itself (candidates are indexed in 53 bits).
inline constexpr uint64_t kMaxEvaluations = uint64_t{1} << 20;  // 1,048,576
inline constexpr uint64_t kMaxSpacePoints = uint64_t{1} << 53;

// Throws Error naming the limit when the search `strategy` would evaluate
// more than kMaxEvaluations points or the space exceeds kMaxSpacePoints.
void CheckSearchSize(const DesignSpace& space, const std::string& strategy);

struct ExploreOptions {
  std::string strategy;  // registry name
  uint64_t seed = 1;
  int threads = 0;         // 0 = std::thread::hardware_concurrency()
  bool progress = true;    // qaccel::ProgressBar on stderr
  size_t batch = 4096;     // max candidates evaluated between strategy rounds
  accel::ArchConfig base;  // fields the space does not search (word_bytes, offsets, ...)
  // When set: points it holds are replayed instead of evaluated, new ones
  // are appended as they complete (checkpoint.h). Not owned.
  ExploreCheckpoint* checkpoint = nullptr;
  // When set with size() > 1: each batch is split over its processes
  // (core/distribute.h) and gathered, so every process sees every result in
  // the same order and the outputs equal a single process's. Not owned; the
  // checkpoint must then be null (one writer per file).
  WorkDistributor* distributor = nullptr;
};

struct ExploreResult {
  std::string strategy;
  uint64_t seed = 0;
  uint64_t space_size = 0;
  uint64_t skipped_infeasible = 0;   // rejected by the constraints, not simulated
  std::vector<PointResult> points;   // evaluation order
  size_t best = 0;                   // index into points (lowest objective, then earliest)
  std::vector<size_t> front_pes;     // Pareto front total_cycles vs pes (indices into points)
  std::vector<size_t> front_energy;  // Pareto front total_cycles vs energy_pj
  double seconds = 0;
  int threads = 1;
  size_t resumed = 0;  // points replayed from the checkpoint (not simulated again)
};

// Explores with the cost model: EvaluatePoint over `layers`.
ExploreResult Explore(const DesignSpace& space, const std::vector<accel::LayerSpec>& layers,
                      const ExploreOptions& opt);
// The same driver with any pure, thread-safe evaluation function (tests use
// a fake cost; `evaluate` must fill config, total_cycles, ..., objective).
using EvaluateFn = std::function<PointResult(const accel::ArchConfig&)>;
ExploreResult Explore(const DesignSpace& space, const EvaluateFn& evaluate,
                      const ExploreOptions& opt);

// CSV of the given points (all if `which` is null), named columns with units.
std::string PointsCsv(const ExploreResult& r, const std::vector<size_t>* which = nullptr);
std::string ParetoSvg(const ExploreResult& r, const std::string& title);
std::string DescribePoint(const PointResult& p);  // one line for the terminal

// The output set is rendered first and renamed into place as a whole
// (AtomicWriteDirectory). `dir` must pass CheckExploreOutputDir.
void WriteExploreOutputs(const std::filesystem::path& dir, const ExploreResult& r,
                         const std::string& title, const nlohmann::json& manifest);
// Refuses (Error) an output directory that is not empty and holds no
// manifest.json of qaccel explore, or that holds one of `inputs`.
void CheckExploreOutputDir(const std::filesystem::path& dir,
                           const std::vector<std::filesystem::path>& inputs);

}  // namespace qaccel::dse
