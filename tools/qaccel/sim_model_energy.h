// `qaccel sim` extensions kept out of cmd_sim.cpp: a model (file or zoo name)
// in place of the topology CSV, and the energy/area report written next to
// SCALE-Sim's reports (ENERGY_REPORT.csv) and printed in the summary.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
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

// ENERGY_REPORT.csv of the run: (file name, content), written with the
// other reports (accel::WriteSimReports). `table` comes from the .cfg's
// [energy] section (accel::ScaleSimConfigFile).
std::pair<std::string, std::string> EnergyReportFile(
    const accel::EnergyTable& table, const accel::ArchConfig& arch,
    const std::vector<accel::LayerMetrics>& metrics);

// Prints energy, area and (when `topology` is given) the layers not mapped
// to the array with their ops.
void PrintEnergy(const accel::EnergyTable& table, const accel::AreaModel& area,
                 const accel::ArchConfig& arch, const std::vector<accel::LayerMetrics>& metrics,
                 const accel::Topology* topology);

}  // namespace qaccel::cli
