// `qaccel sim` extensions kept out of cmd_sim.cpp: a model (file or zoo name)
// in place of the topology CSV, and the energy/area report written next to
// SCALE-Sim's reports (ENERGY_REPORT.csv) and printed in the summary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"
#include "qaccel/accel/topology_from_graph.h"

namespace qaccel::cli {

// True if `spec` names a zoo model or an existing .qmodel file (rather than a
// topology CSV).
bool IsModelSpec(const std::string& spec);

// Topology of a model for `qaccel sim` (mapping: accel/topology_from_graph.h).
accel::Topology SimTopologyFromModel(const std::string& spec, int64_t batch);

// The [energy]/[area] sections of the .cfg (read before simulating, so a bad
// section fails before any report is written).
struct SimEnergyConfig {
  accel::EnergyTable table;
  accel::AreaModel area;
};
SimEnergyConfig ReadSimEnergyConfig(const std::filesystem::path& cfg_path);

// Writes <dir>/ENERGY_REPORT.csv atomically and prints energy, area and (when
// `topology` is given) the layers not mapped to the array with their ops.
void WriteAndPrintEnergy(const SimEnergyConfig& energy_config, const accel::ArchConfig& arch,
                         const std::vector<accel::LayerMetrics>& metrics, const std::filesystem::path& dir,
                         const accel::Topology* topology);

}  // namespace qaccel::cli
