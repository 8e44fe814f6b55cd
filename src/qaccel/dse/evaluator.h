// Evaluates one design point for the search: the network evaluation of the
// resource-metric registry (accel::EvaluateNetwork: each distinct layer shape
// simulated once, one aggregation), reduced to the columns of points.csv and
// the objective. Network aggregates are NetworkTotals' (cost_model.h).
#pragma once

#include <cstdint>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"
#include "qaccel/accel/resource_metrics.h"
#include "qaccel/dse/design_space.h"

namespace qaccel::dse {

struct PointResult {
  accel::ArchConfig config;
  int64_t total_cycles = 0, stall_cycles = 0, macs = 0;
  double compute_util_pct = 0, overall_util_pct = 0;
  int64_t sram_read_bytes = 0, sram_write_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0;
  double energy_pj = 0;
  accel::AreaEstimate area;
  double objective = 0;
};

// The points.csv columns of an evaluation, and its objective.
PointResult ToPointResult(const accel::NetworkEvaluation& e, const Objective& objective);

PointResult EvaluatePoint(const accel::ArchConfig& config, const accel::Workload& w,
                          const accel::EnergyTable& energy, const accel::AreaModel& area,
                          const Objective& objective);

}  // namespace qaccel::dse
