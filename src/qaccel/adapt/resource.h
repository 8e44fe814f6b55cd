// The resource NetAdapt drives down (docs/adapt.md), by name:
//   every metric of the resource-metric registry (accel/resource_metrics.h):
//     macs, params, weight_bytes (the network, from analysis), cycles, energy,
//     stall_cycles, dram_bytes, edp (the cost model on the given array, at
//     the model's bit widths, as `qaccel sim -m` runs it);
//   latency: qaccel's own engine on this CPU (float kernels, 1 thread, batch 1),
//     estimated per layer through a LatencyTable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"
#include "qaccel/graph/graph.h"

namespace qaccel::adapt {

// A per-layer latency look-up table, as NetAdapt builds one. An entry is one
// layer shape measured alone on the engine: a float graph of the layer fed by
// an input of its input shape, run on one image after `warmup` runs, the
// median of `repeats` runs, the layer's time read between the engine's taps
// before and after it. Times are the calling thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID; the engine runs on that thread): on an idle
// machine that is the wall time, on a loaded one it leaves out preemption. Layers of the same shape share the entry (the key is
// the op, its attributes and its input's spatial size, not its name).
// Channel counts are measured on a grid (1, 2, 3, 4, 6, 8, 12, 16, 24, ...:
// powers of two and 1.5x them) and the time of other counts is interpolated
// bilinearly (input x output channels) between the grid points around it.
// The input layer (pixels -> floats) is an entry of its own. The table is
// stored as a text file ("key<TAB>microseconds" lines) and reused.
class LatencyTable {
 public:
  explicit LatencyTable(std::string path = "", int warmup = 20, int repeats = 51);
  // Sum over the graph's layers (the estimate NetAdapt reads), microseconds.
  double NetworkMicros(const Graph& g);
  double LayerMicros(const Graph& g, size_t layer);
  // Writes the table to its path (atomically); no-op without a path.
  void Save() const;
  size_t size() const;
  // Whole-network measurement for comparison: Engine::Run on one image, float,
  // 1 thread, median of `repeats` after `warmup`, thread CPU microseconds.
  static double MeasureNetworkMicros(const Graph& g, int warmup = 20, int repeats = 51);

 private:
  double Entry(const Graph& g, size_t layer, int64_t in_ch, int64_t out_ch);
  std::string path_;
  int warmup_, repeats_;
  std::map<std::string, double> table_;
  mutable std::mutex mu_;
};

struct ResourceContext {
  accel::ArchConfig arch;  // the array (-c); word_bytes is set per model
  accel::EnergyTable energy;
  accel::AreaModel area;
  std::shared_ptr<LatencyTable> latency;  // needed for "latency" only
};

// "latency" or a registry metric's name or alias; throws Error listing them.
std::string CanonicalMetric(const std::string& metric);
std::string MetricUnit(const std::string& metric);

// One metric of a graph (parameters need not be present except for nothing:
// shapes suffice for every metric).
double MeasureMetric(const std::string& metric, const Graph& g, const ResourceContext& ctx);

// The metrics recorded per iteration: the registry's model and simulation
// metrics (name, value) in registry order, then latency_us when ctx.latency.
std::vector<std::pair<std::string, double>> AllMetrics(const Graph& g, const ResourceContext& ctx);

}  // namespace qaccel::adapt
