// Early-exit evaluation for `qaccel eval` (eval_exits.h).
#include "eval_exits.h"

#include <cstdio>
#include <optional>

#include "qaccel/accel/scalesim_io.h"
#include "qaccel/engine/engine.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"

namespace qaccel::cli {

nlohmann::json EvalExits(const Graph& g, const data::Dataset& test, const std::string& config,
                         int64_t limit, int threads) {
  std::optional<accel::ScaleSimConfigFile> cfg;
  if (!config.empty()) cfg = accel::ReadScaleSimConfig(config);
  const engine::ExitCosts costs = engine::ComputeExitCosts(g, cfg ? &cfg->arch : nullptr);
  nlohmann::json j;
  j["full_macs"] = costs.full_macs;
  if (costs.has_cycles) j["full_cycles"] = costs.full_cycles;
  if (!HasExits(g)) {
    j["expected_macs"] = costs.full_macs;
    if (costs.has_cycles) j["expected_cycles"] = costs.full_cycles;
    return j;
  }
  const engine::ExitRunResult r = engine::RunWithExits(g, test, limit, threads);
  // The same images through the trunk alone, for the measured speed-up.
  const engine::EvalResult trunk =
      engine::Evaluate(StripExits(g), test, nullptr, limit, engine::EngineOptions{threads});
  std::vector<double> fractions, accs, th;
  std::vector<int64_t> correct(costs.names.size(), 0);
  for (int64_t i = 0; i < r.samples; ++i)
    if (r.pred[static_cast<size_t>(i)] == test.labels[static_cast<size_t>(i)])
      ++correct[static_cast<size_t>(r.exit_taken[static_cast<size_t>(i)])];
  double em = 0, ec = 0;
  for (size_t k = 0; k < costs.names.size(); ++k) {
    const double f = static_cast<double>(r.count[k]) / static_cast<double>(r.samples);
    fractions.push_back(f);
    accs.push_back(r.count[k] > 0 ? static_cast<double>(correct[k]) / static_cast<double>(r.count[k])
                                  : 0.0);
    em += f * costs.macs[k];
    ec += f * costs.cycles[k];
  }
  for (const ExitSpec& e : ParseExits(g)) th.push_back(e.threshold);
  j["exit_names"] = costs.names;
  j["exit_thresholds"] = th;
  j["exit_fractions"] = fractions;
  j["exit_accuracies"] = accs;
  j["exit_macs"] = costs.macs;
  j["accuracy"] = r.accuracy;
  j["correct"] = r.correct;
  j["no_exit_accuracy"] = trunk.accuracy;
  j["expected_macs"] = em;
  if (costs.has_cycles) {
    j["exit_cycles"] = costs.cycles;
    j["expected_cycles"] = ec;
  }
  j["exit_seconds"] = r.seconds;
  j["trunk_seconds"] = trunk.seconds;
  j["engine_speedup"] = r.seconds > 0 ? trunk.seconds / r.seconds : 0.0;
  j["exit_rule"] = g.quantized() ? "integer entropy (entropy-q16)" : "float entropy";
  return j;
}

nlohmann::json ExitsInfo(const Graph& g, const analysis::GraphCost& cost) {
  const std::vector<ExitSpec> ex = ParseExits(g);
  if (ex.empty()) return nullptr;
  std::vector<int> owner(g.layers.size(), -1);  // head index of each layer
  for (size_t k = 0; k < ex.size(); ++k)
    for (int l : ex[k].layers) owner[static_cast<size_t>(l)] = static_cast<int>(k);
  nlohmann::json out = nlohmann::json::array();
  for (size_t k = 0; k <= ex.size(); ++k) {
    const int last = k < ex.size() ? ex[k].output() : static_cast<int>(g.layers.size()) - 1;
    int64_t tp = 0, tm = 0, hp = 0, hm = 0, all_heads_m = 0;
    for (int i = 0; i <= last; ++i) {
      const auto& lc = cost.layers[static_cast<size_t>(i)];
      const int o = owner[static_cast<size_t>(i)];
      if (o < 0) {
        tp += lc.params;
        tm += lc.macs;
      } else {
        all_heads_m += lc.macs;
        if (o == static_cast<int>(k)) {
          hp += lc.params;
          hm += lc.macs;
        }
      }
    }
    nlohmann::json e{{"name", k < ex.size() ? ex[k].name : "final"},
                     {"attach", k < ex.size() ? g.layers[static_cast<size_t>(ex[k].attach)].name
                                              : g.layers.back().name},
                     {"head_params", hp},
                     {"head_macs", hm},
                     {"trunk_params", tp},
                     {"trunk_macs", tm},
                     {"macs_to_exit", tm + all_heads_m}};
    if (k < ex.size()) e["threshold"] = ex[k].threshold;
    out.push_back(e);
  }
  return out;
}

std::string ExitsInfoTable(const nlohmann::json& info) {
  std::string s = "exit      attached to       head params  head MACs  trunk params  trunk MACs"
                  "  MACs to exit  threshold\n";
  for (const auto& e : info) {
    char line[256];
    std::snprintf(line, sizeof line, "%-9s %-17s %11lld %10lld %13lld %11lld %13lld  %s\n",
                  e["name"].get<std::string>().c_str(), e["attach"].get<std::string>().c_str(),
                  static_cast<long long>(e["head_params"].get<int64_t>()),
                  static_cast<long long>(e["head_macs"].get<int64_t>()),
                  static_cast<long long>(e["trunk_params"].get<int64_t>()),
                  static_cast<long long>(e["trunk_macs"].get<int64_t>()),
                  static_cast<long long>(e["macs_to_exit"].get<int64_t>()),
                  e.contains("threshold") ? e["threshold"].dump().c_str() : "-");
    s += line;
  }
  s += "(final: the trunk's own output; its head columns are 0. MACs to exit = the trunk up to "
       "the exit + every head evaluated on the way)\n";
  return s;
}

}  // namespace qaccel::cli
