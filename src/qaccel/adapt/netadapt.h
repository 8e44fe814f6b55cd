// NetAdapt (Yang et al., ECCV 2018) around qaccel's resource metrics
// (docs/adapt.md). Torch-free: the fine-tuning is passed in as callbacks
// (train/finetune.h provides the libtorch ones), so the search, its schedule,
// its outputs and its resumption are testable without libtorch.
//
// Each iteration i (1-based) sets the target
//   target_i = R(current) - init_reduction * R(start) * decay^(i-1)
// and, for every prunable block (prune.h), finds the largest channel count
// (current width - granularity, - 2 * granularity, ..., >= 1) whose network
// meets the target, prunes that block to it by filter L2 norm, and fine-tunes
// the candidate short-term; the candidates run in parallel threads, each
// seeded from (seed, iteration, block), so results do not depend on the
// thread count. The selected candidate (highest holdout accuracy, or least
// accuracy drop per unit of resource removed) becomes the current network.
// The loop ends when R(current) <= budget, after max_iters iterations, or when
// no block can meet the target; then the network is fine-tuned long-term.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qaccel/adapt/resource.h"
#include "qaccel/graph/graph.h"

namespace qaccel::adapt {

struct AdaptOptions {
  std::string metric = "cycles";  // resource.h
  std::string budget;             // absolute ("5000") or a fraction of the start ("0.65x")
  double init_reduction = 0.025;  // first iteration's reduction, as a fraction of R(start)
  double decay = 0.96;            // per-iteration factor on the reduction
  int max_iters = 50;
  int64_t granularity = 1;        // channels removed at a time
  std::string select = "highest-accuracy";  // or "least-drop-per-resource"
  uint64_t seed = 1;
  int threads = 0;  // candidate threads (0: one per hardware thread)
  bool progress = true;
};
void ValidateAdaptOptions(const AdaptOptions& o);
// The budget in the metric's unit: "0.65x" -> 0.65 * start; "5000" -> 5000.
double ParseBudget(const std::string& budget, double start);

// The fine-tuning the search calls (thread-safe: candidates run concurrently).
struct FineTuner {
  // Fine-tunes g in place (short-term), with all randomness from `seed`.
  std::function<void(Graph& g, uint64_t seed)> short_term;
  // Accuracy in [0, 1] of g on the holdout (carved from the training split).
  std::function<double(const Graph& g)> holdout_accuracy;
  // Long-term fine-tune in place; `checkpoint` (in the work directory) makes
  // it resumable.
  std::function<void(Graph& g, const std::filesystem::path& checkpoint)> long_term;
};

struct HistoryRow {
  int iteration = 0;
  std::string block;  // "start" for row 0
  double holdout_accuracy = 0;
  std::vector<std::pair<std::string, double>> metrics;  // AllMetrics
  std::vector<std::pair<std::string, int64_t>> channels;  // every conv/linear: out channels
};

struct AdaptResult {
  std::vector<HistoryRow> history;
  double start_value = 0, budget_value = 0, final_value = 0;
  double final_holdout_accuracy = 0;  // after the long-term fine-tune
  std::string stop_reason;
  Graph adapted;
};

// Where the run keeps its state until it is complete: "<out>.partial/".
std::filesystem::path WorkDirFor(const std::filesystem::path& out);

// Runs NetAdapt on `start` (a float model with parameters) and writes `out`
// as a whole when done (history.csv, iter_<i>.qmodel, adapted.qmodel,
// accuracy_vs_<metric>.svg, manifest.json). `identity` describes everything
// the results depend on (options, model, data); with `resume`, an existing
// work directory of the same identity is continued; without, one is an error.
// `manifest_extra` is merged into manifest.json (command line, ...).
AdaptResult RunNetAdapt(const Graph& start, const AdaptOptions& o, const ResourceContext& ctx,
                        const FineTuner& ft, const std::filesystem::path& out, bool resume,
                        const nlohmann::json& identity, const nlohmann::json& manifest_extra);

std::string HistoryCsv(const std::vector<HistoryRow>& rows);

// The seed of the candidate for block `block` in iteration `iteration`.
uint64_t CandidateSeed(uint64_t seed, int iteration, int block);

}  // namespace qaccel::adapt
