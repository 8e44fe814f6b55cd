// Resource metrics of a design point, by name: the one registry that
// `qaccel explore` (objectives and constraints) and NetAdapt (its resource
// budget) read. A design point is a topology (the network's array layers)
// plus an ArchConfig, with the energy and area tables; the model's own counts
// (from analysis) can be passed in, otherwise they come from the topology.
//
// The cost model does not know who asks: a caller evaluates a point once
// (EvaluateNetwork: each distinct layer shape simulated once, then ONE
// aggregation, NetworkAccumulator) and reads any metric from the result, or
// asks for one metric with MeasureResource, which simulates only when the
// metric needs it.
//
// NetAdapt, for example:
//   const accel::Workload w = accel::MakeWorkload(TopologyFromGraph(graph).layers);
//   const double cycles = accel::MeasureResource("cycles", arch, w, energy, area);
//
// Adding a metric = one line in ResourceMetrics() (resource_metrics.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"

namespace qaccel::accel {

// The model's own counts (analysis: MACs, parameters, parameter bytes).
struct ModelCounts {
  int64_t macs = 0, params = 0, weight_bytes = 0;
};

// Distinct layer shapes (same SCALE-Sim dimensions; names may differ), in
// first-seen order, with how often each occurs. SCALE-Sim simulates layers
// independently and SimulateLayer is pure, so simulating each shape once and
// weighting it changes no number (ResNet-50: 54 array layers, 24 shapes).
struct Workload {
  std::vector<LayerSpec> unique;
  std::vector<int64_t> count;
  int64_t num_layers = 0;
};
Workload MakeWorkload(const std::vector<LayerSpec>& layers);

// Counts from the topology alone: MACs, filter weights (no biases), and
// their bytes at `word_bytes`.
ModelCounts CountsFromTopology(const Workload& w, int word_bytes);

// Everything the metrics read, for one design point.
struct NetworkEvaluation {
  ArchConfig config;
  bool simulated = false;  // totals and energy are filled only when true
  NetworkTotals totals;
  double energy_pj = 0;
  AreaEstimate area;
  ModelCounts model;
};

// Simulates each distinct layer once and aggregates. `model` = nullptr:
// counts from the topology at config.word_bytes.
NetworkEvaluation EvaluateNetwork(const ArchConfig& config, const Workload& w,
                                  const EnergyTable& energy, const AreaModel& area,
                                  const ModelCounts* model = nullptr);
// Without simulating: the configuration's area and the given model counts.
NetworkEvaluation EvaluateWithoutSimulation(const ArchConfig& config, const AreaModel& area,
                                            const ModelCounts& model = {});

// What a metric reads.
enum class MetricSource {
  kModel,       // the network alone (same for every hardware point)
  kConfig,      // the hardware configuration alone (no simulation)
  kSimulation,  // a simulated run
};

struct ResourceMetric {
  const char* name;
  const char* alias;  // a second accepted name (e.g. with its unit), or ""
  const char* unit;
  const char* description;
  MetricSource source;
  double (*value)(const NetworkEvaluation& e);
};

// Every registered metric, in registry order.
const std::vector<ResourceMetric>& ResourceMetrics();
// By name or alias; throws qaccel::Error listing the registered names.
const ResourceMetric& FindResourceMetric(const std::string& name);
bool IsResourceMetric(const std::string& name);
// "macs, params, ..., cycles (total_cycles), ..." for messages and docs.
std::string ResourceMetricList();

// One metric of one design point; simulates only for kSimulation metrics.
double MeasureResource(const std::string& metric, const ArchConfig& config, const Workload& w,
                       const EnergyTable& energy, const AreaModel& area,
                       const ModelCounts* model = nullptr);

}  // namespace qaccel::accel
