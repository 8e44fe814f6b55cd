// `qaccel eval` of a model with early exits (graph/exits.h): the real
// early-exit run (the engine stops at the first exit taken) and its cost.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "qaccel/analysis/analysis.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"

namespace qaccel::cli {

// JSON fields added to `qaccel eval --json`: exit_names, exit_thresholds,
// exit_fractions, exit_accuracies, accuracy/correct with early exits,
// expected_macs, full_macs and, with an array config, expected_cycles and
// full_cycles (the trunk alone: the network with no early exit and no heads),
// the measured engine speed-up against that trunk. For a model without side
// exits only the cost fields (expected = full).
nlohmann::json EvalExits(const Graph& g, const data::Dataset& test, const std::string& config,
                         int64_t limit, int threads);

// `qaccel info` of a model with side exits: per exit (side exits, then the
// final one) the head's parameters and MACs, the trunk's up to the exit, and
// the total to leave there (trunk + every head evaluated so far). Null
// without side exits.
nlohmann::json ExitsInfo(const Graph& g, const analysis::GraphCost& cost);
std::string ExitsInfoTable(const nlohmann::json& info);

}  // namespace qaccel::cli
