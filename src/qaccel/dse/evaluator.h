// Evaluates one design point: the cost model's per-layer function
// (accel::SimulateLayer) over the network, plus energy, area and the
// objective. This is the only place the DSE touches the cost model.
//
// Identical layers (same SCALE-Sim dimensions; names differ) are simulated
// once and weighted by their count: SCALE-Sim simulates layers independently
// and SimulateLayer is pure, so this changes no number (ResNet-50's 54 array
// layers have 23 distinct shapes).
//
// Network aggregates: cycles, stalls, MACs and access counts are sums over
// layers; compute_util_pct is the layers' "Compute Util %" weighted by their
// compute cycles (total - stall); overall_util_pct is "Overall Util %"
// weighted by total cycles. Byte counts: SCALE-Sim's word counts x word_bytes
// (sram_read = ifmap + filter SRAM reads, sram_write = ofmap SRAM writes,
// dram_read = ifmap + filter DRAM reads, dram_write = ofmap DRAM writes).
#pragma once

#include <cstdint>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"
#include "qaccel/dse/design_space.h"

namespace qaccel::dse {

struct Workload {
  std::vector<accel::LayerSpec> unique;  // distinct layer shapes, first-seen order
  std::vector<int64_t> count;            // how often each occurs
  int64_t num_layers = 0;
};
Workload MakeWorkload(const std::vector<accel::LayerSpec>& layers);

struct PointResult {
  accel::ArchConfig config;
  int64_t total_cycles = 0, stall_cycles = 0, macs = 0;
  double compute_util_pct = 0, overall_util_pct = 0;
  int64_t sram_read_bytes = 0, sram_write_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0;
  double energy_pj = 0;
  accel::AreaEstimate area;
  double objective = 0;
};

PointResult EvaluatePoint(const accel::ArchConfig& config, const Workload& w,
                          const accel::EnergyTable& energy, const accel::AreaModel& area,
                          const Objective& objective);

}  // namespace qaccel::dse
