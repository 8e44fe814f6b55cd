// The resource-metric registry and the network evaluation it reads (see
// resource_metrics.h).
#include "qaccel/accel/resource_metrics.h"

#include <map>
#include <tuple>

#include "qaccel/core/error.h"

namespace qaccel::accel {

Workload MakeWorkload(const std::vector<LayerSpec>& layers) {
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

ModelCounts CountsFromTopology(const Workload& w, int word_bytes) {
  ModelCounts c;
  for (size_t i = 0; i < w.unique.size(); ++i) {
    const LayerSpec& l = w.unique[i];
    c.macs += w.count[i] * l.macs();
    c.params += w.count[i] * l.window_size() * l.num_filters;
  }
  c.weight_bytes = c.params * word_bytes;
  return c;
}

NetworkEvaluation EvaluateWithoutSimulation(const ArchConfig& config, const AreaModel& area,
                                            const ModelCounts& model) {
  NetworkEvaluation e;
  e.config = config;
  e.area = EstimateArea(config, area);
  e.model = model;
  return e;
}

NetworkEvaluation EvaluateNetwork(const ArchConfig& config, const Workload& w,
                                  const EnergyTable& energy, const AreaModel& area,
                                  const ModelCounts* model) {
  NetworkEvaluation e = EvaluateWithoutSimulation(
      config, area, model ? *model : CountsFromTopology(w, config.word_bytes));
  NetworkAccumulator acc;
  for (size_t i = 0; i < w.unique.size(); ++i) {
    const LayerMetrics m = SimulateLayer(config, w.unique[i]);
    acc.Add(m, w.count[i]);
    e.energy_pj +=
        static_cast<double>(w.count[i]) * ComputeLayerEnergy(config, m, energy).total_pj();
  }
  e.totals = acc.Totals(config);
  e.simulated = true;
  return e;
}

namespace {

double D(int64_t v) { return static_cast<double>(v); }

}  // namespace

const std::vector<ResourceMetric>& ResourceMetrics() {
  using E = const NetworkEvaluation&;
  using S = MetricSource;
  static const std::vector<ResourceMetric> kMetrics = {
      {"macs", "", "MACs", "multiply-accumulates of the network", S::kModel,
       [](E e) { return D(e.model.macs); }},
      {"params", "", "parameters", "weights of the network", S::kModel,
       [](E e) { return D(e.model.params); }},
      {"weight_bytes", "", "bytes", "bytes of the weights", S::kModel,
       [](E e) { return D(e.model.weight_bytes); }},
      {"pes", "", "PEs", "processing elements (rows x cols)", S::kConfig,
       [](E e) { return D(e.area.pes); }},
      {"sram_kb", "", "kB", "ifmap + filter + ofmap SRAM", S::kConfig,
       [](E e) { return e.area.sram_kb; }},
      {"area", "area_mm2", "mm^2", "PE array + SRAM area (energy.h)", S::kConfig,
       [](E e) { return e.area.area_mm2; }},
      {"cycles", "total_cycles", "cycles", "total cycles, every layer", S::kSimulation,
       [](E e) { return D(e.totals.total_cycles); }},
      {"stall_cycles", "", "cycles", "stall cycles, every layer", S::kSimulation,
       [](E e) { return D(e.totals.stall_cycles); }},
      {"dram_bytes", "", "bytes", "DRAM bytes read and written", S::kSimulation,
       [](E e) { return D(e.totals.dram_read_bytes + e.totals.dram_write_bytes); }},
      {"energy", "energy_pj", "pJ", "energy (energy.h)", S::kSimulation,
       [](E e) { return e.energy_pj; }},
      {"edp", "edp_pj_cycles", "pJ x cycles", "energy-delay product", S::kSimulation,
       [](E e) { return e.energy_pj * D(e.totals.total_cycles); }},
  };
  return kMetrics;
}

std::string ResourceMetricList() {
  std::string s;
  for (const ResourceMetric& m : ResourceMetrics()) {
    s += (s.empty() ? "" : ", ") + std::string(m.name);
    if (*m.alias) s += " (" + std::string(m.alias) + ")";
  }
  return s;
}

bool IsResourceMetric(const std::string& name) {
  for (const ResourceMetric& m : ResourceMetrics())
    if (name == m.name || (*m.alias && name == m.alias)) return true;
  return false;
}

const ResourceMetric& FindResourceMetric(const std::string& name) {
  for (const ResourceMetric& m : ResourceMetrics())
    if (name == m.name || (*m.alias && name == m.alias)) return m;
  throw Error("unknown metric '" + name + "' (registered: " + ResourceMetricList() + ")");
}

double MeasureResource(const std::string& metric, const ArchConfig& config, const Workload& w,
                       const EnergyTable& energy, const AreaModel& area, const ModelCounts* model) {
  const ResourceMetric& m = FindResourceMetric(metric);
  if (m.source == MetricSource::kSimulation)
    return m.value(EvaluateNetwork(config, w, energy, area, model));
  return m.value(EvaluateWithoutSimulation(
      config, area, model ? *model : CountsFromTopology(w, config.word_bytes)));
}

}  // namespace qaccel::accel
