// Early-exit inference: the integer exit rule, profiles, expected costs and
// the stopping run (exit_runner.h).
#include "qaccel/engine/exit_runner.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>

#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"
#include "qaccel/core/parallel.h"

namespace qaccel::engine {
namespace {

const std::array<int32_t, 257>& LnTable() {
  static const std::array<int32_t, 257> t = [] {
    std::array<int32_t, 257> a{};
    for (int m = 0; m <= 256; ++m)
      a[static_cast<size_t>(m)] =
          static_cast<int32_t>(std::lround(std::ldexp(std::log1p(m / 256.0), 16)));
    return a;
  }();
  return t;
}

const int64_t kLn2Q = std::llround(std::ldexp(std::log(2.0), 16));

int32_t ArgMaxInt8(const int8_t* q, int64_t n) {
  int64_t b = 0;
  for (int64_t i = 1; i < n; ++i)
    if (q[i] > q[b]) b = i;
  return static_cast<int32_t>(b);
}

}  // namespace

IntEntropyRule::IntEntropyRule(float logit_scale) : scale_(logit_scale) {
  Check(std::isfinite(logit_scale) && logit_scale > 0, "exit rule: logit scale must be > 0");
  for (int d = 0; d < 256; ++d) {
    const double e = std::exp(-static_cast<double>(scale_) * d);
    exp_[static_cast<size_t>(d)] = static_cast<uint32_t>(std::llround(std::ldexp(e, 16)));
    xexp_[static_cast<size_t>(d)] =
        static_cast<uint32_t>(std::llround(std::ldexp(static_cast<double>(scale_) * d * e, 16)));
  }
}

void IntEntropyRule::Sums(const int8_t* q, int64_t n, int64_t& s, int64_t& u, int64_t& l) const {
  int32_t mx = q[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max<int32_t>(mx, q[j]);
  s = 0;
  u = 0;
  for (int64_t j = 0; j < n; ++j) {
    const auto d = static_cast<size_t>(mx - q[j]);  // 0..255
    s += exp_[d];
    u += xexp_[d];
  }
  // s >= 2^16 (the maximum contributes E[0] = 2^16): k >= 16.
  const int k = 63 - std::countl_zero(static_cast<uint64_t>(s));
  const auto m = static_cast<size_t>((s >> (k - 8)) & 255);
  const int64_t r = s & ((int64_t{1} << (k - 8)) - 1);
  const auto& ln = LnTable();
  l = (k - kFracBits) * kLn2Q + ln[m] + (((ln[m + 1] - ln[m]) * r) >> (k - 8));
}

int64_t IntEntropyRule::Score(const int8_t* q, int64_t n) const {
  int64_t s, u, l;
  Sums(q, n, s, u, l);
  return l + (u << kFracBits) / s;  // floor: both non-negative
}

bool IntEntropyRule::Exits(const int8_t* q, int64_t n, int64_t threshold_q) const {
  int64_t s, u, l;
  Sums(q, n, s, u, l);
  return (threshold_q - l) * s > (u << kFracBits);
}

int64_t IntEntropyRule::ThresholdQ(double nats) { return std::llround(std::ldexp(nats, 16)); }

nlohmann::json IntEntropyRule::ToJson() const {
  return {{"rule", "entropy-q16"},
          {"logit_scale", scale_},
          {"test",
           "d_j = max(q) - q_j; S = sum E[d_j]; U = sum F[d_j]; k = floor(log2 S); "
           "m = (S >> (k - 8)) & 255; r = S & (2^(k-8) - 1); "
           "L = (k - 16) * ln2_q16 + LN[m] + ((LN[m+1] - LN[m]) * r >> (k - 8)); "
           "exit iff (T - L) * S > U << 16, T = round(threshold * 65536)"},
          {"ln2_q16", kLn2Q},
          {"E", exp_},
          {"F", xexp_},
          {"LN", LnTable()}};
}

double Entropy(const float* logits, int64_t n) {
  double mx = logits[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max<double>(mx, logits[j]);
  double s = 0, u = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double z = static_cast<double>(logits[j]) - mx;
    const double e = std::exp(z);
    s += e;
    u += -z * e;
  }
  return std::log(s) + u / s;
}

LayerCosts ComputeLayerCosts(const Graph& g0, const accel::ArchConfig* arch) {
  Graph g = g0;
  g.InferShapes();
  LayerCosts c;
  c.macs.assign(g.layers.size(), 0);
  c.cycles.assign(g.layers.size(), 0);
  const accel::Topology topo = accel::TopologyFromGraph(g);
  std::vector<accel::LayerMetrics> metrics;
  if (arch) {
    accel::ArchConfig a = *arch;
    a.word_bytes = topo.word_bytes;
    metrics = accel::SimulateNetwork(a, topo.layers);
    c.has_cycles = true;
  }
  // MACs: the network's own (analysis); the array's topology may differ.
  const analysis::GraphCost ac = analysis::Analyze(g);
  for (size_t i = 0; i < g.layers.size(); ++i) c.macs[i] = ac.layers[i].macs;
  for (size_t k = 0; k < topo.layers.size(); ++k) {
    // A spec is named after its layer ("<layer>.g<i>" for one group of a grouped conv).
    std::string name = topo.layers[k].name;
    int li = g.Find(name);
    if (li < 0) {
      const size_t dot = name.rfind(".g");
      if (dot != std::string::npos) li = g.Find(name.substr(0, dot));
    }
    Check(li >= 0, "exit costs: topology layer '" + name + "' is not a layer of the graph");
    if (arch) c.cycles[static_cast<size_t>(li)] += metrics[k].total_cycles;
  }
  return c;
}

ExitCosts ComputeExitCosts(const Graph& g, const accel::ArchConfig* arch) {
  const std::vector<ExitSpec> ex = ParseExits(g);
  const LayerCosts lc = ComputeLayerCosts(g, arch);
  std::vector<bool> head(g.layers.size(), false);
  for (const ExitSpec& e : ex)
    for (int k : e.layers) head[static_cast<size_t>(k)] = true;
  ExitCosts c;
  c.has_cycles = lc.has_cycles;
  std::vector<int> outs;
  for (const ExitSpec& e : ex) {
    outs.push_back(e.output());
    c.names.push_back(e.name);
  }
  outs.push_back(static_cast<int>(g.layers.size()) - 1);
  c.names.push_back("final");
  for (int out : outs) {
    double tm = 0, tc = 0, hm = 0, hc = 0;
    for (int k = 0; k <= out; ++k) {
      const auto i = static_cast<size_t>(k);
      (head[i] ? hm : tm) += static_cast<double>(lc.macs[i]);
      (head[i] ? hc : tc) += static_cast<double>(lc.cycles[i]);
    }
    c.trunk_macs.push_back(tm);
    c.trunk_cycles.push_back(tc);
    c.head_macs.push_back(hm);
    c.head_cycles.push_back(hc);
    c.macs.push_back(tm + hm);
    c.cycles.push_back(tc + hc);
  }
  c.full_macs = c.trunk_macs.back();
  c.full_cycles = c.trunk_cycles.back();
  return c;
}

namespace {

// fn(i, pixels of image i, an arena of eng.arena_bytes()) for images 0..n-1
// of d, on the engine's threads (one arena per worker, kept between images).
template <typename Fn>
void ForEachImage(const Engine& eng, const data::Dataset& d, int64_t n, Fn&& fn) {
  const int workers = MaxParallelWorkers(n, eng.threads());
  std::vector<std::vector<uint8_t>> arenas(static_cast<size_t>(workers));
  ParallelFor(n, eng.threads(), [&](int64_t i, int w) {
    auto& arena = arenas[static_cast<size_t>(w)];
    if (arena.empty()) arena.resize(static_cast<size_t>(eng.arena_bytes()));
    fn(i, d.pixels.data() + i * d.image_size(), arena.data());
  });
}

void CheckData(const Graph& g, const Engine& e, const data::Dataset& d, int64_t n) {
  Check(n > 0, "exits: the data set '" + d.name + "' is empty");
  Check(e.input_numel() == d.image_size(), "exits: model '" + g.name + "' expects input " +
                                               ShapeToString(g.input_shape()) + " but data set '" +
                                               d.name + "' has other images");
}

int64_t Limit(const data::Dataset& d, int64_t limit) {
  return (limit > 0 && limit < d.n) ? limit : d.n;
}

}  // namespace

ExitProfile ProfileExits(const Graph& g, const data::Dataset& d, int64_t limit, int threads) {
  const std::vector<ExitSpec> ex = ParseExits(g);
  Engine eng(g, EngineOptions{threads});
  const int64_t n = Limit(d, limit);
  CheckData(g, eng, d, n);
  ExitProfile p;
  p.n = n;
  p.num_exits = static_cast<int>(ex.size()) + 1;
  p.quantized = eng.quantized();
  const int E = p.num_exits, S = E - 1;
  p.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    p.labels[static_cast<size_t>(i)] = d.labels[static_cast<size_t>(i)];
  p.pred.assign(static_cast<size_t>(n * E), 0);
  p.score.assign(static_cast<size_t>(n * S), 0);
  p.entropy.assign(static_cast<size_t>(n * S), 0);
  std::vector<int> out_layer(g.layers.size(), -1);  // layer -> exit index
  for (int k = 0; k < S; ++k)
    out_layer[static_cast<size_t>(ex[static_cast<size_t>(k)].output())] = k;
  out_layer.back() = S;
  std::vector<IntEntropyRule> rules;
  for (int k = 0; k <= S; ++k) {
    const int li =
        k < S ? ex[static_cast<size_t>(k)].output() : static_cast<int>(g.layers.size()) - 1;
    const QuantParams& q = g.layers[static_cast<size_t>(li)].quant;
    rules.emplace_back(p.quantized ? q.out_scale : 1.0f);
  }
  ForEachImage(eng, d, n, [&](int64_t i, const uint8_t* px, uint8_t* arena) {
    std::vector<float> deq;
    if (p.quantized) {
      eng.RunInt8Until(px, arena, [&](int layer, const int8_t* out, int64_t numel) {
        const int k = out_layer[static_cast<size_t>(layer)];
        if (k < 0) return false;
        p.pred[static_cast<size_t>(i * E + k)] = ArgMaxInt8(out, numel);
        if (k < S) {
          const QuantParams& q = g.layers[static_cast<size_t>(layer)].quant;
          deq.resize(static_cast<size_t>(numel));
          for (int64_t j = 0; j < numel; ++j)
            deq[static_cast<size_t>(j)] =
                q.out_scale * static_cast<float>(out[j] - q.out_zero_point);
          p.score[static_cast<size_t>(i * S + k)] = rules[static_cast<size_t>(k)].Score(out, numel);
          p.entropy[static_cast<size_t>(i * S + k)] = Entropy(deq.data(), numel);
        }
        return false;
      });
    } else {
      eng.RunFloatUntil(px, arena, [&](int layer, const float* out, int64_t numel) {
        const int k = out_layer[static_cast<size_t>(layer)];
        if (k < 0) return false;
        p.pred[static_cast<size_t>(i * E + k)] = static_cast<int32_t>(ArgMax(out, numel));
        if (k < S) p.entropy[static_cast<size_t>(i * S + k)] = Entropy(out, numel);
        return false;
      });
    }
  });
  return p;
}

ExitOutcome ApplyThresholds(const ExitProfile& p, const ExitCosts& c,
                            const std::vector<double>& thresholds, bool integer_rule) {
  const int E = p.num_exits, S = E - 1;
  Check(static_cast<int>(thresholds.size()) == S, "exits: " + std::to_string(thresholds.size()) +
                                                      " thresholds given for " + std::to_string(S) +
                                                      " side exits");
  Check(static_cast<int>(c.macs.size()) == E, "exits: costs and profile disagree");
  const bool use_int = integer_rule && p.quantized;
  std::vector<int64_t> tq(thresholds.size());
  for (size_t k = 0; k < thresholds.size(); ++k) tq[k] = IntEntropyRule::ThresholdQ(thresholds[k]);
  ExitOutcome o;
  o.thresholds = thresholds;
  o.count.assign(static_cast<size_t>(E), 0);
  std::vector<int64_t> correct(static_cast<size_t>(E), 0);
  for (int64_t i = 0; i < p.n; ++i) {
    int taken = S;
    for (int k = 0; k < S; ++k) {
      const size_t at = static_cast<size_t>(i * S + k);
      const bool by_float = p.entropy[at] < thresholds[static_cast<size_t>(k)];
      const bool by_int = p.quantized && tq[static_cast<size_t>(k)] > p.score[at];
      if (p.quantized) {
        ++o.decisions;
        if (by_float == by_int) ++o.decisions_agree;
      }
      if (use_int ? by_int : by_float) {
        taken = k;
        break;
      }
    }
    ++o.count[static_cast<size_t>(taken)];
    if (p.pred[static_cast<size_t>(i * E + taken)] == p.labels[static_cast<size_t>(i)])
      ++correct[static_cast<size_t>(taken)];
  }
  int64_t total_correct = 0;
  for (int k = 0; k < E; ++k) {
    const auto kk = static_cast<size_t>(k);
    total_correct += correct[kk];
    o.fraction.push_back(static_cast<double>(o.count[kk]) / static_cast<double>(p.n));
    o.exit_accuracy.push_back(o.count[kk] > 0 ? static_cast<double>(correct[kk]) /
                                                    static_cast<double>(o.count[kk])
                                              : std::numeric_limits<double>::quiet_NaN());
    o.expected_macs += o.fraction.back() * c.macs[kk];
    o.expected_cycles += o.fraction.back() * c.cycles[kk];
  }
  o.accuracy = static_cast<double>(total_correct) / static_cast<double>(p.n);
  return o;
}

ExitRunResult RunWithExits(const Graph& g, const data::Dataset& d, int64_t limit, int threads) {
  const std::vector<ExitSpec> ex = ParseExits(g);
  Engine eng(g, EngineOptions{threads});
  const int64_t n = Limit(d, limit);
  CheckData(g, eng, d, n);
  const int S = static_cast<int>(ex.size());
  std::vector<int> out_layer(g.layers.size(), -1);
  std::vector<IntEntropyRule> rules;
  std::vector<int64_t> tq;
  std::vector<double> th;
  for (int k = 0; k < S; ++k) {
    const ExitSpec& e = ex[static_cast<size_t>(k)];
    out_layer[static_cast<size_t>(e.output())] = k;
    rules.emplace_back(eng.quantized() ? g.layers[static_cast<size_t>(e.output())].quant.out_scale
                                       : 1.0f);
    tq.push_back(IntEntropyRule::ThresholdQ(e.threshold));
    th.push_back(e.threshold);
  }
  out_layer.back() = S;
  ExitRunResult r;
  r.samples = n;
  r.threads = eng.threads();
  r.exit_taken.assign(static_cast<size_t>(n), S);
  r.pred.assign(static_cast<size_t>(n), 0);
  const double c0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (eng.quantized()) {
    // Batched: chunks of images run layer by layer (Engine::RunInt8Exits); an
    // image that exits is dropped from the later layers. Same decisions and
    // predictions as one image at a time (exact integer kernels).
    std::vector<char> check(g.layers.size(), 0);
    for (size_t i = 0; i < g.layers.size(); ++i) check[i] = out_layer[i] >= 0;
    eng.RunInt8Exits(
        d.pixels.data(), n, check, [&](int layer, int64_t i, const int8_t* out, int64_t numel) {
          const int k = out_layer[static_cast<size_t>(layer)];
          const bool stop =
              k == S || rules[static_cast<size_t>(k)].Exits(out, numel, tq[static_cast<size_t>(k)]);
          if (stop) {
            r.exit_taken[static_cast<size_t>(i)] = k;
            r.pred[static_cast<size_t>(i)] = ArgMaxInt8(out, numel);
          }
          return stop;
        });
  } else {
    ForEachImage(eng, d, n, [&](int64_t i, const uint8_t* px, uint8_t* arena) {
      const auto ii = static_cast<size_t>(i);
      eng.RunFloatUntil(px, arena, [&](int layer, const float* out, int64_t numel) {
        const int k = out_layer[static_cast<size_t>(layer)];
        if (k < 0) return false;
        const bool stop = k == S || Entropy(out, numel) < th[static_cast<size_t>(k)];
        if (stop) {
          r.exit_taken[ii] = k;
          r.pred[ii] = static_cast<int32_t>(ArgMax(out, numel));
        }
        return stop;
      });
    });
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu_seconds = ProcessCpuSeconds() - c0;
  r.count.assign(static_cast<size_t>(S + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const auto ii = static_cast<size_t>(i);
    ++r.count[static_cast<size_t>(r.exit_taken[ii])];
    if (r.pred[ii] == d.labels[ii]) ++r.correct;
  }
  r.accuracy = static_cast<double>(r.correct) / static_cast<double>(n);
  return r;
}

nlohmann::json ExitsManifest(const Graph& g) {
  if (!HasExits(g) || !g.quantized()) return nullptr;
  nlohmann::json side = nlohmann::json::array();
  for (const ExitSpec& e : ParseExits(g)) {
    nlohmann::json layers = nlohmann::json::array();
    for (int k : e.layers) layers.push_back(g.layers[static_cast<size_t>(k)].name);
    const Layer& out = g.layers[static_cast<size_t>(e.output())];
    side.push_back({{"name", e.name},
                    {"attach", g.layers[static_cast<size_t>(e.attach)].name},
                    {"head_layers", layers},
                    {"logits_layer", out.name},
                    {"threshold_nats", e.threshold},
                    {"threshold_q16", IntEntropyRule::ThresholdQ(e.threshold)},
                    {"rule", IntEntropyRule(out.quant.out_scale).ToJson()}});
  }
  return {{"order",
           "run the layers in order; after an exit's logits layer apply its rule and stop if it "
           "exits; otherwise continue (head layers of skipped exits are still computed)"},
          {"side_exits", side},
          {"final", g.layers.back().name}};
}

}  // namespace qaccel::engine
