// One design point -> points.csv columns and objective (see evaluator.h).
#include "qaccel/dse/evaluator.h"

namespace qaccel::dse {

PointResult ToPointResult(const accel::NetworkEvaluation& e, const Objective& objective) {
  PointResult r;
  r.config = e.config;
  r.total_cycles = e.totals.total_cycles;
  r.stall_cycles = e.totals.stall_cycles;
  r.macs = e.totals.macs;
  r.compute_util_pct = e.totals.compute_util_pct;
  r.overall_util_pct = e.totals.overall_util_pct;
  r.sram_read_bytes = e.totals.sram_read_bytes;
  r.sram_write_bytes = e.totals.sram_write_bytes;
  r.dram_read_bytes = e.totals.dram_read_bytes;
  r.dram_write_bytes = e.totals.dram_write_bytes;
  r.energy_pj = e.energy_pj;
  r.area = e.area;
  r.objective = objective.Value(e);
  return r;
}

PointResult EvaluatePoint(const accel::ArchConfig& config, const accel::Workload& w,
                          const accel::EnergyTable& energy, const accel::AreaModel& area,
                          const Objective& objective) {
  return ToPointResult(accel::EvaluateNetwork(config, w, energy, area), objective);
}

}  // namespace qaccel::dse
