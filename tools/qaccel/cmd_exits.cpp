// `qaccel exits MODEL --data mnist [-c ARRAY.cfg] [--max-loss 0.3] -o DIR
//  [--grid 0,0.01,...] [--limit N] [--threads T]`: early-exit thresholds.
//
// One pass over the test split evaluates every exit of every image (no
// stopping; exit_runner.h ProfileExits); every point of the threshold grid
// (one grid per side exit, all combinations) is then scored from that
// profile: accuracy, fraction leaving at each exit, expected MACs and, with
// -c, expected cycles per image on that array. The cheapest point (cycles with
// -c, MACs without) whose accuracy is at most --max-loss points below the
// network without early exit (the final exit alone) is chosen. Writes, as one
// directory (replaced as a whole):
//   front.csv      every grid point, with on_front (accuracy vs expected cost)
//   front.svg      accuracy vs expected cycles (or MACs): points, front, choice
//   chosen.qmodel  MODEL with the chosen thresholds in metadata.exits
//   summary.json   baselines, costs per exit, the choice, rule agreement
// A quantized model decides with the integer rule; the float entropy rule on
// the same int8 logits is the reference and their agreement is reported.
// Thresholds are selected on the test split, as BranchyNet did.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/core/svg_plot.h"
#include "qaccel/data/dataset.h"
#include "qaccel/dse/pareto.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"

namespace {

// Entropy thresholds (nats) in the style of BranchyNet's sweeps: dense near
// zero, up to ln(10) = 2.30 (beyond which every image of a 10-class exit leaves).
const std::vector<double> kDefaultGrid = {0,    1e-4, 1e-3, 0.005, 0.01, 0.025, 0.05, 0.075,
                                          0.1,  0.15, 0.2,  0.25,  0.3,  0.4,   0.5,  0.6,
                                          0.75, 1.0,  1.25, 1.5,   2.0,  2.5};

struct Opts {
  std::string model, data = "mnist", config, out;
  double max_loss = 0.3;
  std::vector<double> grid;
  int64_t limit = 0;
  int threads = 0;
};

std::string Fmt(double v, int prec = 6) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(prec);
  s << v;
  return s.str();
}

void Run(const Opts& o) {
  using namespace qaccel;
  namespace fs = std::filesystem;
  Check(o.max_loss >= 0 && std::isfinite(o.max_loss), "--max-loss must be >= 0 (points)");
  Graph g = LoadModel(o.model);
  const std::vector<ExitSpec> ex = ParseExits(g);
  Check(!ex.empty(), o.model + ": model '" + g.name +
                         "' has no side exits (metadata.exits); train one such as lenet5-branchy");
  std::vector<double> grid = o.grid.empty() ? kDefaultGrid : o.grid;
  for (double t : grid) Check(std::isfinite(t) && t >= 0, "--grid: thresholds must be >= 0");
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  const size_t S = ex.size();
  double combos = std::pow(static_cast<double>(grid.size()), static_cast<double>(S));
  Check(combos <= 1e6, "--grid: " + Fmt(combos) + " combinations for " + std::to_string(S) +
                           " side exits; give a shorter grid");
  CheckReplaceableOutputDir(o.out, "summary.json", "\"command\": \"qaccel exits\"", {o.model});

  std::optional<accel::ScaleSimConfigFile> cfg;
  if (!o.config.empty()) cfg = accel::ReadScaleSimConfig(o.config);
  const engine::ExitCosts costs = engine::ComputeExitCosts(g, cfg ? &cfg->arch : nullptr);
  data::Split split = data::LoadNamedDataset(o.data);
  const engine::ExitProfile prof = engine::ProfileExits(g, split.test, o.limit, o.threads);

  // Baseline: no early exit (every image to the final exit).
  const std::vector<double> never(S, 0.0);
  const engine::ExitOutcome base = engine::ApplyThresholds(prof, costs, never, true);
  const double base_acc = base.accuracy;
  const double full_cost = costs.has_cycles ? costs.full_cycles : costs.full_macs;

  std::vector<engine::ExitOutcome> pts;
  std::vector<size_t> idx(S, 0);
  int64_t decisions = 0, agree = 0;
  for (;;) {
    std::vector<double> th(S);
    for (size_t k = 0; k < S; ++k) th[k] = grid[idx[k]];
    pts.push_back(engine::ApplyThresholds(prof, costs, th, true));
    decisions += pts.back().decisions;
    agree += pts.back().decisions_agree;
    size_t k = 0;
    while (k < S && ++idx[k] == grid.size()) idx[k++] = 0;
    if (k == S) break;
  }
  auto cost_of = [&](const engine::ExitOutcome& p) {
    return costs.has_cycles ? p.expected_cycles : p.expected_macs;
  };
  std::vector<double> xs, ys;
  for (const auto& p : pts) {
    xs.push_back(cost_of(p));
    ys.push_back(-p.accuracy);
  }
  const std::vector<size_t> front = dse::ParetoFront(xs, ys);
  std::vector<bool> on_front(pts.size(), false);
  for (size_t i : front) on_front[i] = true;
  // The cheapest point within max_loss points (ties: the more accurate one).
  size_t chosen = 0;
  bool found = false;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].accuracy < base_acc - o.max_loss / 100.0 - 1e-12) continue;
    if (!found || xs[i] < xs[chosen] || (xs[i] == xs[chosen] && pts[i].accuracy > pts[chosen].accuracy)) {
      chosen = i;
      found = true;
    }
  }
  Check(found, "no threshold setting is within --max-loss");  // the all-zero point always is
  const engine::ExitOutcome& c = pts[chosen];

  // front.csv
  std::ostringstream csv;
  for (size_t k = 0; k < S; ++k) csv << "threshold_" << ex[k].name << ",";
  csv << "accuracy,loss_points";
  for (const auto& n : costs.names) csv << ",fraction_" << n;
  csv << ",expected_macs,expected_cycles,cycle_speedup,mac_reduction,rule_agreement,on_front,"
         "chosen\n";
  for (size_t i = 0; i < pts.size(); ++i) {
    const auto& p = pts[i];
    for (double t : p.thresholds) csv << Fmt(t) << ",";
    csv << Fmt(p.accuracy, 8) << "," << Fmt(100 * (base_acc - p.accuracy), 6);
    for (double f : p.fraction) csv << "," << Fmt(f, 8);
    csv << "," << Fmt(p.expected_macs, 10) << ","
        << (costs.has_cycles ? Fmt(p.expected_cycles, 10) : "") << ","
        << (costs.has_cycles ? Fmt(costs.full_cycles / p.expected_cycles, 6) : "") << ","
        << Fmt(costs.full_macs / p.expected_macs, 6) << ","
        << (p.decisions > 0 ? Fmt(static_cast<double>(p.decisions_agree) / p.decisions, 8) : "")
        << "," << (on_front[i] ? 1 : 0) << "," << (i == chosen ? 1 : 0) << "\n";
  }

  // front.svg
  PlotSpec plot;
  plot.title = g.name + ": accuracy vs expected " + (costs.has_cycles ? "cycles" : "MACs") +
               " per image (" + split.test.name + ")";
  plot.x_label = costs.has_cycles ? "expected cycles per image" : "expected MACs per image";
  plot.y_label = "top-1 accuracy (%)";
  PlotSeries all{"threshold settings", {}, {}, false, true, "#bbbbbb"};
  PlotSeries fr{"front", {}, {}, true, true, ""};
  for (size_t i = 0; i < pts.size(); ++i) {
    all.x.push_back(xs[i]);
    all.y.push_back(100 * pts[i].accuracy);
  }
  for (size_t i : front) {
    fr.x.push_back(xs[i]);
    fr.y.push_back(100 * pts[i].accuracy);
  }
  PlotSeries nox{"no early exit", {full_cost}, {100 * base_acc}, false, true, "#000000"};
  PlotSeries ch{"chosen (max loss " + Fmt(o.max_loss, 3) + " pt)", {xs[chosen]},
                {100 * c.accuracy}, false, true, "#d62728"};
  plot.series = {all, fr, nox, ch};
  const std::string svg = RenderSvg(plot);

  Graph out = g;
  SetExitThresholds(out, c.thresholds);
  nlohmann::json summary;
  summary["command"] = "qaccel exits";
  summary["command_line"] = cli::CommandLine();
  summary["model"] = o.model;
  summary["data"] = o.data;
  summary["split"] = split.test.name;
  summary["samples"] = prof.n;
  summary["config"] = o.config;
  if (g.metadata.contains("training") && g.metadata["training"].contains("seed"))
    summary["training_seed"] = g.metadata["training"]["seed"];
  summary["quantized"] = prof.quantized;
  summary["rule"] = prof.quantized ? "integer entropy (entropy-q16), float entropy as reference"
                                   : "float entropy";
  summary["grid"] = grid;
  summary["max_loss_points"] = o.max_loss;
  summary["selected_on"] = split.test.name + " (as BranchyNet)";
  summary["no_exit_accuracy"] = base_acc;
  summary["full_macs"] = costs.full_macs;
  if (costs.has_cycles) summary["full_cycles"] = costs.full_cycles;
  nlohmann::json per = nlohmann::json::array();
  for (size_t k = 0; k < costs.names.size(); ++k) {
    nlohmann::json e{{"name", costs.names[k]},
                     {"macs", costs.macs[k]},
                     {"trunk_macs", costs.trunk_macs[k]},
                     {"head_macs", costs.head_macs[k]},
                     {"fraction", c.fraction[k]},
                     {"accuracy", std::isnan(c.exit_accuracy[k]) ? nlohmann::json() : nlohmann::json(c.exit_accuracy[k])}};
    if (costs.has_cycles) {
      e["cycles"] = costs.cycles[k];
      e["trunk_cycles"] = costs.trunk_cycles[k];
      e["head_cycles"] = costs.head_cycles[k];
    }
    if (k < S) e["threshold"] = c.thresholds[k];
    per.push_back(e);
  }
  summary["exits"] = per;
  summary["chosen"] = {{"thresholds", c.thresholds},
                       {"accuracy", c.accuracy},
                       {"loss_points", 100 * (base_acc - c.accuracy)},
                       {"exit_fractions", c.fraction},
                       {"expected_macs", c.expected_macs},
                       {"mac_reduction", costs.full_macs / c.expected_macs}};
  if (costs.has_cycles) {
    summary["chosen"]["expected_cycles"] = c.expected_cycles;
    summary["chosen"]["cycle_speedup"] = costs.full_cycles / c.expected_cycles;
  }
  if (prof.quantized) {
    summary["rule_agreement"] = {
        {"chosen", c.decisions > 0 ? static_cast<double>(c.decisions_agree) / c.decisions : 1.0},
        {"chosen_decisions", c.decisions},
        {"grid", decisions > 0 ? static_cast<double>(agree) / decisions : 1.0},
        {"grid_decisions", decisions}};
    nlohmann::json rules = nlohmann::json::array();
    for (const ExitSpec& e : ex)
      rules.push_back(
          engine::IntEntropyRule(g.layers[static_cast<size_t>(e.output())].quant.out_scale)
              .ToJson());
    summary["integer_rules"] = rules;
  }
  out.metadata["exits_selection"] = {{"max_loss_points", o.max_loss},
                                     {"config", o.config},
                                     {"data", split.test.name},
                                     {"no_exit_accuracy", base_acc},
                                     {"accuracy", c.accuracy}};

  AtomicWriteDirectory(o.out, [&](const fs::path& dir) {
    AtomicWriteText(dir / "front.csv", csv.str());
    AtomicWriteText(dir / "front.svg", svg);
    SaveModel(out, dir / "chosen.qmodel");
    AtomicWriteText(dir / "summary.json", summary.dump(2) + "\n");
  });

  std::printf("%s: %zu threshold settings on %lld images of %s (%s rule)\n", o.model.c_str(),
              pts.size(), static_cast<long long>(prof.n), split.test.name.c_str(),
              prof.quantized ? "integer" : "float");
  std::printf("no early exit: accuracy %.2f%%, %.0f MACs%s\n", 100 * base_acc, costs.full_macs,
              costs.has_cycles ? (", " + Fmt(costs.full_cycles, 10) + " cycles").c_str() : "");
  std::printf("chosen (max loss %.2f pt): thresholds", o.max_loss);
  for (double t : c.thresholds) std::printf(" %g", t);
  std::printf(", accuracy %.2f%%, exit fractions", 100 * c.accuracy);
  for (double f : c.fraction) std::printf(" %.4f", f);
  std::printf(", expected MACs %.0f (%.2fx fewer)", c.expected_macs,
              costs.full_macs / c.expected_macs);
  if (costs.has_cycles)
    std::printf(", expected cycles %.0f (%.2fx speed-up)", c.expected_cycles,
                costs.full_cycles / c.expected_cycles);
  std::printf("\n");
  if (prof.quantized)
    std::printf("integer vs float exit rule: %.4f%% of %lld decisions agree over the grid\n",
                100.0 * static_cast<double>(agree) / static_cast<double>(std::max<int64_t>(1, decisions)),
                static_cast<long long>(decisions));
  std::printf("wrote %s/front.csv, front.svg, chosen.qmodel, summary.json\n", o.out.c_str());
}

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Model with side exits (.qmodel, float or quantized)")
      ->required();
  qaccel::cli::AddDataOption(sub, o->data, "its test split is used");
  sub->add_option("-c,--config", o->config,
                  "SCALE-Sim .cfg of the array: expected cycles from the cost model (without: "
                  "the choice minimizes expected MACs)");
  sub->add_option("--max-loss", o->max_loss,
                  "Largest accuracy loss, in points, against the network without early exit")
      ->capture_default_str();
  sub->add_option("--grid", o->grid, "Entropy thresholds (nats) to sweep per side exit")
      ->delimiter(',');
  sub->add_option("-o,--output", o->out, "Output directory")->required();
  sub->add_option("--limit", o->limit, "Only the first N test images (0: all)")
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores)")
      ->check(qaccel::cli::ThreadsRange());
  sub->callback([o] { Run(*o); });
}

}  // namespace

QACCEL_COMMAND(exits, "Early exits: threshold sweep, cheapest setting within an accuracy loss",
               Setup);
