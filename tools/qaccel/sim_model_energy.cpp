// See sim_model_energy.h.
#include "sim_model_energy.h"

#include <cstdio>

#include "qaccel/accel/energy.h"
#include "qaccel/core/file_io.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/onnx/onnx_io.h"

namespace qaccel::cli {

bool IsModelSpec(const std::string& spec) {
  if (IsZooModel(spec)) return true;
  std::error_code ec;
  return std::filesystem::is_regular_file(spec, ec) &&
         (IsModelFile(spec) || onnxio::IsOnnxPath(spec));  // docs/interop.md
}

accel::Topology SimTopologyFromModel(const std::string& spec, int64_t batch) {
  accel::TopologyOptions o;
  o.batch = batch;
  return accel::TopologyFromGraph(LoadModelOrZoo(spec), o);
}

std::pair<std::string, std::string> EnergyReportFile(
    const accel::EnergyTable& table, const accel::ArchConfig& arch,
    const std::vector<accel::LayerMetrics>& metrics) {
  return {"ENERGY_REPORT.csv",
          accel::EnergyReportCsv(accel::ComputeNetworkEnergy(arch, metrics, table))};
}

void PrintEnergy(const accel::EnergyTable& table, const accel::AreaModel& area,
                 const accel::ArchConfig& arch, const std::vector<accel::LayerMetrics>& metrics,
                 const accel::Topology* topology) {
  const auto energy = accel::ComputeNetworkEnergy(arch, metrics, table);
  const accel::LayerEnergy t = accel::SumEnergy(energy);
  const accel::AreaEstimate a = accel::EstimateArea(arch, area);
  std::printf(
      "energy %.6g pJ (MAC %.3g, PE RF %.3g, inter-PE %.3g, SRAM %.3g, DRAM %.3g, static %.3g); "
      "DRAM read %lld B, write %lld B; word %d B\n",
      t.total_pj(), t.mac_pj, t.rf_pj, t.inter_pe_pj, t.sram_read_pj + t.sram_write_pj,
      t.dram_read_pj + t.dram_write_pj, t.static_pj, static_cast<long long>(t.dram_read_bytes),
      static_cast<long long>(t.dram_write_bytes), arch.word_bytes);
  std::printf("area proxy: %lld PEs, %.6g kB SRAM, %.4g mm^2 (docs/energy.md)\n",
              static_cast<long long>(a.pes), a.sram_kb, a.area_mm2);
  if (topology && !topology->unmapped.empty()) {
    std::printf("not mapped to the array (%zu layers, %lld element ops, batch %lld):\n",
                topology->unmapped.size(), static_cast<long long>(topology->unmapped_ops()),
                static_cast<long long>(topology->batch));
    for (auto& u : topology->unmapped)
      std::printf("  %-28s %-15s %lld ops\n", u.name.c_str(), u.kind.c_str(),
                  static_cast<long long>(u.ops));
  }
}

}  // namespace qaccel::cli
