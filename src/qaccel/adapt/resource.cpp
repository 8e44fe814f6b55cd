#include "qaccel/adapt/resource.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "qaccel/accel/resource_metrics.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/engine/engine.h"

namespace qaccel::adapt {
namespace {

// CPU time of the calling thread, microseconds. The engine runs on the calling
// thread (1 worker), so this is its time without the waits a loaded machine
// adds when the scheduler preempts it (wall time of a 10 ms network on 2
// busy cores was 3x its CPU time; short layers were rarely preempted).
double ThreadMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Grid of measured channel counts: 1, 2, 3, 4, 6, 8, 12, 16, ... (2^k and 1.5 * 2^k).
int64_t GridBelow(int64_t x) {
  int64_t best = 1;
  for (int64_t p = 1; p <= x; p *= 2) {
    best = p;
    if (p * 3 / 2 <= x && p >= 2) best = p * 3 / 2;
  }
  return best;
}
int64_t GridAbove(int64_t x) {
  for (int64_t p = 1;; p *= 2) {
    if (p >= x) return p;
    if (p >= 2 && p * 3 / 2 >= x) return p * 3 / 2;
  }
}

bool HasChannels(const Layer& l) {
  return l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear;
}

// The layer with (in_ch, out_ch) channels in a graph of its own: Input -> layer,
// parameters drawn from a fixed seed (their values do not change the time).
Graph LayerGraph(const Graph& g, size_t i, int64_t in_ch, int64_t out_ch) {
  const Layer& l = g.layers[i];
  Shape in_shape = g.layers[static_cast<size_t>(l.inputs.at(0))].out_shape;
  in_shape[0] = in_ch;
  Graph s;
  s.name = "lut";
  s.input_transform = InputTransform{};  // the layer's time does not depend on it
  s.AddInput("input", in_shape);
  Layer c = l;
  c.inputs.assign(l.inputs.size(), 0);
  c.params.clear();
  if (HasChannels(l)) {
    c.in_channels = in_ch;
    c.out_channels = out_ch;
  }
  s.layers.push_back(c);
  s.InferShapes();
  Rng rng(7);
  for (Layer& x : s.layers) {
    std::vector<std::string> names;
    if (HasChannels(x)) names = x.has_bias ? std::vector<std::string>{"weight", "bias"}
                                           : std::vector<std::string>{"weight"};
    if (x.kind == OpKind::kBatchNorm) names = {"gamma", "beta", "mean", "var"};
    for (const std::string& p : names) {
      Shape sh = ExpectedParamShape(x, p);
      std::vector<float> v(static_cast<size_t>(NumElements(sh)));
      for (float& f : v)
        f = p == std::string("var") ? 1.0f : static_cast<float>(rng.Below(2001)) / 20000.0f - 0.05f;
      x.params[p] = Tensor::From(sh, v);
    }
  }
  return s;
}

// Microseconds of layer `which` (0: the input) of g, run alone on the engine.
double MeasureLayer(const Graph& g, int which, int warmup, int repeats) {
  engine::EngineOptions eo;
  eo.threads = 1;
  engine::Engine e(g, eo);
  std::vector<uint8_t> pixels(static_cast<size_t>(e.input_numel()));
  Rng rng(11);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng.Below(256));
  std::vector<double> times;
  for (int r = 0; r < warmup + repeats; ++r) {
    double before = ThreadMicros(), after = before;
    e.RunTapped(pixels.data(), [&](int layer, const float*, int64_t) {
      const double now = ThreadMicros();
      if (layer == which - 1) before = now;
      if (layer == which) after = now;
    });
    if (r >= warmup) times.push_back(after - before);
  }
  return Median(times);
}

std::string Key(const Graph& g, size_t i, int64_t in_ch, int64_t out_ch) {
  const Layer& l = g.layers[i];
  std::ostringstream k;
  if (l.kind == OpKind::kInput) {
    k << "input " << ShapeToString(l.out_shape);
    return k.str();
  }
  Shape in = g.layers[static_cast<size_t>(l.inputs.at(0))].out_shape;
  in[0] = in_ch;
  k << OpKindName(l.kind) << " in" << ShapeToString(in) << " out_ch " << out_ch << " k"
    << l.kernel_h << "x" << l.kernel_w << " s" << l.stride_h << "x" << l.stride_w << " p"
    << l.pad_h << "x" << l.pad_w << " g" << l.groups << " b" << l.has_bias << " n"
    << l.inputs.size();
  return k.str();
}

}  // namespace

LatencyTable::LatencyTable(std::string path, int warmup, int repeats)
    : path_(std::move(path)), warmup_(warmup), repeats_(repeats) {
  std::error_code ec;
  if (path_.empty() || !std::filesystem::exists(path_, ec)) return;
  std::istringstream in(ReadTextFile(path_));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.rfind('\t');
    Check(tab != std::string::npos, path_ + ": latency table line without a tab: " + line);
    table_[line.substr(0, tab)] = std::stod(line.substr(tab + 1));
  }
}

size_t LatencyTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_.size();
}

void LatencyTable::Save() const {
  if (path_.empty()) return;
  std::string text = "# qaccel latency look-up table: layer shape<TAB>microseconds (median)\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [k, v] : table_) {
    char b[64];
    std::snprintf(b, sizeof b, "\t%.3f\n", v);
    text += k + b;
  }
  AtomicWriteText(path_, text);
}

double LatencyTable::Entry(const Graph& g, size_t i, int64_t in_ch, int64_t out_ch) {
  const std::string key = Key(g, i, in_ch, out_ch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(key);
    if (it != table_.end()) return it->second;
  }
  double us;
  if (g.layers[i].kind == OpKind::kInput) {
    Graph s;
    s.name = "lut";
    s.input_transform = g.input_transform;
    s.AddInput("input", g.layers[0].out_shape);
    s.AddRelu("relu", 0);
    s.InferShapes();
    us = MeasureLayer(s, 0, warmup_, repeats_);
  } else {
    us = MeasureLayer(LayerGraph(g, i, in_ch, out_ch), 1, warmup_, repeats_);
  }
  // Kept as Save writes it (to the nanosecond): a table reloaded from its file
  // then gives the very figures it gave when measured (the file's %.3f
  // rounding of each entry used to shift a network's sum by up to a few ns).
  us = std::round(us * 1000.0) / 1000.0;
  std::lock_guard<std::mutex> lock(mu_);
  table_[key] = us;
  return us;
}

double LatencyTable::LayerMicros(const Graph& g, size_t i) {
  const Layer& l = g.layers[i];
  if (l.kind == OpKind::kInput) return Entry(g, i, 0, 0);
  const Shape& in = g.layers[static_cast<size_t>(l.inputs.at(0))].out_shape;
  const int64_t cin = in[0];
  const int64_t cout = HasChannels(l) ? l.out_channels : cin;
  // Interpolation axes: input channels, and output channels for conv/linear.
  const int64_t a0 = GridBelow(cin), a1 = GridAbove(cin);
  const int64_t b0 = HasChannels(l) ? GridBelow(cout) : cout;
  const int64_t b1 = HasChannels(l) ? GridAbove(cout) : cout;
  auto at = [&](int64_t a, int64_t b) { return Entry(g, i, a, HasChannels(l) ? b : a); };
  const double ta = a1 == a0 ? 0.0 : double(cin - a0) / double(a1 - a0);
  const double tb = b1 == b0 ? 0.0 : double(cout - b0) / double(b1 - b0);
  const double v00 = at(a0, b0);
  const double v10 = a1 == a0 ? v00 : at(a1, b0);
  const double v01 = b1 == b0 ? v00 : at(a0, b1);
  const double v11 = (a1 == a0) ? v01 : (b1 == b0 ? v10 : at(a1, b1));
  return (1 - ta) * (1 - tb) * v00 + ta * (1 - tb) * v10 + (1 - ta) * tb * v01 + ta * tb * v11;
}

double LatencyTable::NetworkMicros(const Graph& g) {
  double sum = 0;
  for (size_t i = 0; i < g.layers.size(); ++i) sum += LayerMicros(g, i);
  return sum;
}

double LatencyTable::MeasureNetworkMicros(const Graph& g, int warmup, int repeats) {
  engine::EngineOptions eo;
  eo.threads = 1;
  engine::Engine e(g, eo);
  std::vector<uint8_t> pixels(static_cast<size_t>(e.input_numel()));
  Rng rng(11);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng.Below(256));
  std::vector<double> times;
  for (int r = 0; r < warmup + repeats; ++r) {
    const double start = ThreadMicros();
    std::vector<float> out = e.Run(pixels.data(), 1);
    if (r >= warmup) times.push_back(ThreadMicros() - start);
  }
  return Median(times);
}

std::string CanonicalMetric(const std::string& metric) {
  if (metric == "latency" || metric == "latency_us") return "latency";
  try {
    return accel::FindResourceMetric(metric).name;
  } catch (const Error&) {
    throw Error("unknown --metric '" + metric + "' (known: latency, " +
                accel::ResourceMetricList() + ")");
  }
}

std::string MetricUnit(const std::string& metric) {
  if (metric == "latency") return "us";
  return accel::FindResourceMetric(metric).unit;
}

namespace {

accel::ModelCounts Counts(const Graph& g) {
  const analysis::GraphCost c = analysis::Analyze(g);
  return {c.total_macs, c.total_params, c.total_param_bytes};
}

accel::ArchConfig ArchFor(const Graph& g, const ResourceContext& ctx, accel::Workload* w) {
  const accel::Topology t = accel::TopologyFromGraph(g);
  accel::ArchConfig a = ctx.arch;
  a.word_bytes = t.word_bytes;  // the model's bit widths, as `qaccel sim -m`
  *w = accel::MakeWorkload(t.layers);
  return a;
}

}  // namespace

double MeasureMetric(const std::string& metric, const Graph& g, const ResourceContext& ctx) {
  if (metric == "latency") {
    Check(ctx.latency != nullptr, "internal: latency metric without a latency table");
    return ctx.latency->NetworkMicros(g);
  }
  accel::Workload w;
  const accel::ArchConfig a = ArchFor(g, ctx, &w);
  const accel::ModelCounts counts = Counts(g);
  return accel::MeasureResource(metric, a, w, ctx.energy, ctx.area, &counts);
}

std::vector<std::pair<std::string, double>> AllMetrics(const Graph& g, const ResourceContext& ctx) {
  accel::Workload w;
  const accel::ArchConfig a = ArchFor(g, ctx, &w);
  const accel::ModelCounts counts = Counts(g);
  const accel::NetworkEvaluation e = accel::EvaluateNetwork(a, w, ctx.energy, ctx.area, &counts);
  std::vector<std::pair<std::string, double>> out;
  for (const accel::ResourceMetric& m : accel::ResourceMetrics())
    if (m.source != accel::MetricSource::kConfig) out.emplace_back(m.name, m.value(e));
  if (ctx.latency) out.emplace_back("latency_us", ctx.latency->NetworkMicros(g));
  return out;
}

}  // namespace qaccel::adapt
