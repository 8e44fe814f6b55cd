// The cost model's public entry points: layer geometry, network totals. The
// simulation is in simulate.cpp (entry, validation) and simulate_stages.h;
// dataflow names are the registry's (dataflow_registry.cpp).
#include "qaccel/accel/cost_model.h"

#include <cmath>

#include "qaccel/core/error.h"

namespace qaccel::accel {

LayerSpec LayerSpec::Gemm(std::string name, int64_t m, int64_t n, int64_t k) {
  LayerSpec l;
  l.name = std::move(name);
  l.ifmap_h = m;
  l.ifmap_w = k;
  l.filter_h = 1;
  l.filter_w = k;
  l.channels = 1;
  l.num_filters = n;
  l.stride_h = 1;
  l.stride_w = 1;
  return l;
}

// SCALE-Sim: int(math.ceil((ifmap - filter + stride) / stride)).
int64_t LayerSpec::ofmap_h() const {
  return (ifmap_h - filter_h + stride_h + stride_h - 1) / stride_h;
}
int64_t LayerSpec::ofmap_w() const {
  return (ifmap_w - filter_w + stride_w + stride_w - 1) / stride_w;
}

std::vector<LayerMetrics> SimulateNetwork(const ArchConfig& config,
                                          const std::vector<LayerSpec>& layers) {
  for (const auto& l : layers) CheckSimulationLimits(config, l);
  std::vector<LayerMetrics> out;
  out.reserve(layers.size());
  for (const auto& l : layers) out.push_back(SimulateLayer(config, l));
  return out;
}

void NetworkAccumulator::Add(const LayerMetrics& m, int64_t n) {
  t_.total_cycles += n * m.total_cycles;
  t_.stall_cycles += n * m.stall_cycles;
  t_.macs += n * m.macs;
  t_.ifmap_sram_reads += n * m.ifmap_sram_reads;
  t_.filter_sram_reads += n * m.filter_sram_reads;
  t_.ofmap_sram_writes += n * m.ofmap_sram_writes;
  t_.ifmap_dram_reads += n * m.ifmap_dram_reads;
  t_.filter_dram_reads += n * m.filter_dram_reads;
  t_.ofmap_dram_writes += n * m.ofmap_dram_writes;
  t_.sram_read_bytes += n * (m.ifmap_sram_read_bytes() + m.filter_sram_read_bytes());
  t_.sram_write_bytes += n * m.ofmap_sram_write_bytes();
  t_.dram_read_bytes += n * m.dram_read_bytes();
  t_.dram_write_bytes += n * m.dram_write_bytes();
  const double compute_cycles = static_cast<double>(n * (m.total_cycles - m.stall_cycles));
  util_compute_weighted_ += m.compute_util_pct * compute_cycles;
  compute_cycles_ += compute_cycles;
}

NetworkTotals NetworkAccumulator::Totals(const ArchConfig& config) const {
  NetworkTotals t = t_;
  t.sram_read_words = t.ifmap_sram_reads + t.filter_sram_reads;
  t.sram_write_words = t.ofmap_sram_writes;
  t.dram_read_words = t.ifmap_dram_reads + t.filter_dram_reads;
  t.dram_write_words = t.ofmap_dram_writes;
  const double pes = static_cast<double>(config.array_rows) * config.array_cols;
  if (t.total_cycles > 0)
    t.overall_util_pct =
        100.0 * static_cast<double>(t.macs) / (static_cast<double>(t.total_cycles) * pes);
  if (compute_cycles_ > 0) t.compute_util_pct = util_compute_weighted_ / compute_cycles_;
  return t;
}

NetworkTotals SumNetwork(const ArchConfig& config, const std::vector<LayerMetrics>& layers) {
  NetworkAccumulator acc;
  for (const auto& m : layers) acc.Add(m);
  return acc.Totals(config);
}

}  // namespace qaccel::accel
