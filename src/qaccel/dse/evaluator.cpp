// One design point -> metrics (see evaluator.h).
#include "qaccel/dse/evaluator.h"

#include <map>
#include <tuple>

namespace qaccel::dse {

Workload MakeWorkload(const std::vector<accel::LayerSpec>& layers) {
  Workload w;
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  std::map<Key, size_t> seen;
  for (const auto& l : layers) {
    Key k{l.ifmap_h,  l.ifmap_w,     l.filter_h, l.filter_w,
          l.channels, l.num_filters, l.stride_h, l.stride_w};
    auto [it, fresh] = seen.emplace(k, w.unique.size());
    if (fresh) {
      w.unique.push_back(l);
      w.count.push_back(1);
    } else {
      ++w.count[it->second];
    }
  }
  w.num_layers = static_cast<int64_t>(layers.size());
  return w;
}

PointResult EvaluatePoint(const accel::ArchConfig& config, const Workload& w,
                          const accel::EnergyTable& energy, const accel::AreaModel& area,
                          const Objective& objective) {
  PointResult r;
  r.config = config;
  double util_compute_w = 0, compute_cycles = 0, util_overall_w = 0;
  for (size_t i = 0; i < w.unique.size(); ++i) {
    const accel::LayerMetrics m = accel::SimulateLayer(config, w.unique[i]);
    const int64_t n = w.count[i];
    const int64_t wb = m.word_bytes;
    r.total_cycles += n * m.total_cycles;
    r.stall_cycles += n * m.stall_cycles;
    r.macs += n * m.macs;
    r.sram_read_bytes += n * (m.ifmap_sram_reads + m.filter_sram_reads) * wb;
    r.sram_write_bytes += n * m.ofmap_sram_writes * wb;
    r.dram_read_bytes += n * (m.ifmap_dram_reads + m.filter_dram_reads) * wb;
    r.dram_write_bytes += n * m.ofmap_dram_writes * wb;
    const double cc = static_cast<double>(n * (m.total_cycles - m.stall_cycles));
    util_compute_w += m.compute_util_pct * cc;
    compute_cycles += cc;
    util_overall_w += m.overall_util_pct * static_cast<double>(n * m.total_cycles);
    r.energy_pj += static_cast<double>(n) * accel::ComputeLayerEnergy(config, m, energy).total_pj();
  }
  r.compute_util_pct = compute_cycles > 0 ? util_compute_w / compute_cycles : 0;
  r.overall_util_pct =
      r.total_cycles > 0 ? util_overall_w / static_cast<double>(r.total_cycles) : 0;
  r.area = accel::EstimateArea(config, area);
  r.objective = objective.Value(static_cast<double>(r.total_cycles), r.energy_pj, r.area.area_mm2);
  return r;
}

}  // namespace qaccel::dse
