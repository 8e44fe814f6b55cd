// Readers for SCALE-Sim v2's input files: the .cfg (INI) architecture config
// and the topology CSVs (convolution form and M,N,K GEMM form).
//
// Errors are qaccel::Error with "file:line: what is wrong" messages.
// Deliberate leniencies (SCALE-Sim itself is stricter or silently wrong):
//   - keys are case-insensitive, "key = value" and "key: value" both work,
//     '#' and ';' start comment lines (as Python's configparser);
//   - SRAM sizes may be fractional kB (SCALE-Sim: int());
//   - an invalid InterfaceBandwidth or Dataflow is an error (SCALE-Sim prints
//     a warning and continues with a half-read config);
//   - topology rows may or may not end with a trailing comma, fields may be
//     padded with spaces; the first line is skipped as a header only when it
//     is not a data row (SCALE-Sim always drops it);
//   - the stride-width column is optional (defaults to the stride height);
//   - SCALE-Sim ignores the last field of a row, so a trailing non-numeric
//     marker after the last number (its MobileNet files' "#dw") is ignored.
// As in SCALE-Sim, a conv layer whose name contains "DP" is depthwise: it is
// expanded into one single-channel layer per channel ("<name>Channel_<i>").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"

namespace qaccel::accel {

struct ScaleSimConfigFile {
  ArchConfig arch;
  std::string topology_path;  // [network_presets] TopologyCsvLoc, if present
  EnergyTable energy;         // [energy] knobs over the defaults (energy.h)
  AreaModel area;             // [area] knobs over the defaults
};

ScaleSimConfigFile ReadScaleSimConfig(const std::filesystem::path& path);
ScaleSimConfigFile ParseScaleSimConfig(const std::string& text, const std::string& file_name);

// Only the optional [energy] and [area] sections of a .cfg (qaccel's
// extension; SCALE-Sim ignores them), over the values already in *table and
// *area; the other sections need not be complete. Same INI reader as above;
// unknown keys and bad values are errors naming the file, line and key.
void ReadEnergySections(const std::filesystem::path& cfg, EnergyTable* table, AreaModel* area);
void ParseEnergySections(const std::string& text, const std::string& file_name, EnergyTable* table,
                         AreaModel* area);

enum class TopologyFormat { kConv, kGemm };
std::vector<LayerSpec> ReadTopology(const std::filesystem::path& path, TopologyFormat format);
std::vector<LayerSpec> ParseTopology(const std::string& text, const std::string& file_name,
                                     TopologyFormat format);

}  // namespace qaccel::accel
