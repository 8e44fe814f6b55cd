// Stub: the cost model entry points (filled in by the dataflow/memory models).
#include "qaccel/accel/cost_model.h"

#include "qaccel/core/error.h"

namespace qaccel::accel {

const char* DataflowName(Dataflow df) {
  switch (df) {
    case Dataflow::kOutputStationary: return "os";
    case Dataflow::kWeightStationary: return "ws";
    case Dataflow::kInputStationary: return "is";
  }
  return "?";
}

Dataflow ParseDataflow(const std::string& name) {
  if (name == "os") return Dataflow::kOutputStationary;
  if (name == "ws") return Dataflow::kWeightStationary;
  if (name == "is") return Dataflow::kInputStationary;
  throw Error("unknown dataflow '" + name + "' (use os, ws or is)");
}

LayerSpec LayerSpec::Gemm(std::string name, int64_t m, int64_t n, int64_t k) {
  LayerSpec l;
  l.name = std::move(name);
  l.ifmap_h = m; l.ifmap_w = k; l.filter_h = 1; l.filter_w = k;
  l.channels = 1; l.num_filters = n; l.stride_h = 1; l.stride_w = 1;
  return l;
}

int64_t LayerSpec::ofmap_h() const { return (ifmap_h - filter_h + stride_h + stride_h - 1) / stride_h; }
int64_t LayerSpec::ofmap_w() const { return (ifmap_w - filter_w + stride_w + stride_w - 1) / stride_w; }

LayerMetrics SimulateLayer(const ArchConfig& config, const LayerSpec& layer) {
  LayerMetrics m;
  m.name = layer.name;
  m.macs = layer.macs();
  m.word_bytes = config.word_bytes;
  return m;
}

std::vector<LayerMetrics> SimulateNetwork(const ArchConfig& config, const std::vector<LayerSpec>& layers) {
  std::vector<LayerMetrics> out;
  out.reserve(layers.size());
  for (const auto& l : layers) out.push_back(SimulateLayer(config, l));
  return out;
}

NetworkTotals SumNetwork(const ArchConfig& config, const std::vector<LayerMetrics>& layers) {
  NetworkTotals t;
  return t;
}

}  // namespace qaccel::accel
