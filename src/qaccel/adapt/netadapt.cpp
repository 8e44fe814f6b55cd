#include "qaccel/adapt/netadapt.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "qaccel/adapt/prune.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/core/parallel.h"
#include "qaccel/core/progress.h"
#include "qaccel/core/svg_plot.h"
#include "qaccel/graph/json_field.h"
#include "qaccel/graph/model_file.h"

namespace qaccel::adapt {
namespace fs = std::filesystem;
using json = nlohmann::json;

void ValidateAdaptOptions(const AdaptOptions& o) {
  CanonicalMetric(o.metric);
  Check(!o.budget.empty(), "--budget is required (an absolute value or a fraction like 0.65x)");
  ParseBudget(o.budget, 1.0);
  Check(o.init_reduction > 0 && o.init_reduction < 1,
        "--init-reduction must be in (0, 1), got " + std::to_string(o.init_reduction));
  Check(o.decay > 0 && o.decay <= 1, "--decay must be in (0, 1], got " + std::to_string(o.decay));
  Check(o.max_iters >= 1, "--max-iters must be >= 1");
  Check(o.granularity >= 1, "--granularity must be >= 1");
  Check(o.select == "highest-accuracy" || o.select == "least-drop-per-resource",
        "--select must be highest-accuracy or least-drop-per-resource, got '" + o.select + "'");
}

double ParseBudget(const std::string& budget, double start) {
  std::string s = budget;
  const bool fraction = !s.empty() && (s.back() == 'x' || s.back() == 'X');
  if (fraction) s.pop_back();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  Check(used == s.size() && !s.empty() && std::isfinite(v) && v > 0,
        "--budget '" + budget + "': expected a positive number or a fraction of the start like 0.65x");
  if (fraction) {
    Check(v < 1, "--budget '" + budget + "': a fraction of the start must be below 1x");
    return v * start;
  }
  return v;
}

uint64_t CandidateSeed(uint64_t seed, int iteration, int block) {
  // splitmix64 over the three numbers: distinct, well-mixed seeds per candidate.
  uint64_t z = seed ^ (static_cast<uint64_t>(iteration) << 20) ^ static_cast<uint64_t>(block) ^
               0x6164617074ULL;
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) & 0x7fffffffffffffffULL;
}

fs::path WorkDirFor(const fs::path& out) {
  fs::path p = out;
  if (!p.has_filename()) p = p.parent_path();
  return p.string() + ".partial";
}

namespace {

std::string Num(double v) {
  char b[40];
  if (std::nearbyint(v) == v && std::fabs(v) < 9e15)
    std::snprintf(b, sizeof b, "%.0f", v);
  else
    std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

HistoryRow MakeRow(int iteration, const std::string& block, double acc, const Graph& g,
                   const ResourceContext& ctx) {
  HistoryRow r;
  r.iteration = iteration;
  r.block = block;
  r.holdout_accuracy = acc;
  r.metrics = AllMetrics(g, ctx);
  for (const Layer& l : g.layers)
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear)
      r.channels.emplace_back(l.name, l.out_channels);
  return r;
}

json RowToJson(const HistoryRow& r) {
  json m = json::array(), c = json::array();
  for (auto& [k, v] : r.metrics) m.push_back({k, v});
  for (auto& [k, v] : r.channels) c.push_back({k, v});
  return {{"iteration", r.iteration}, {"block", r.block},
          {"holdout_accuracy", r.holdout_accuracy}, {"metrics", m}, {"channels", c}};
}

HistoryRow RowFromJson(const json& j) {
  HistoryRow r;
  r.iteration = j.at("iteration").get<int>();
  r.block = j.at("block").get<std::string>();
  r.holdout_accuracy = j.at("holdout_accuracy").get<double>();
  for (auto& m : j.at("metrics")) r.metrics.emplace_back(m[0].get<std::string>(), m[1].get<double>());
  for (auto& c : j.at("channels"))
    r.channels.emplace_back(c[0].get<std::string>(), c[1].get<int64_t>());
  return r;
}

double MetricOf(const HistoryRow& r, const std::string& metric) {
  const std::string name = metric == "latency" ? "latency_us" : metric;
  for (auto& [k, v] : r.metrics)
    if (k == name) return v;
  throw Error("internal: metric " + metric + " missing from the history row");
}

// The largest width (current - granularity, - 2 granularity, ..., >= 1) of block
// b whose network meets `target`; 0 when none does.
int64_t LargestWidthMeeting(const Graph& structure, const Block& b, double target,
                            const AdaptOptions& o, const std::string& metric,
                            const ResourceContext& ctx, double* value) {
  for (int64_t w = b.width - o.granularity; w >= 1; w -= o.granularity) {
    Graph s = structure;
    std::vector<int64_t> keep(static_cast<size_t>(w));
    for (int64_t k = 0; k < w; ++k) keep[static_cast<size_t>(k)] = k;
    PruneBlockChannels(s, b, keep);
    const double v = MeasureMetric(metric, s, ctx);
    if (v <= target) {
      *value = v;
      return w;
    }
  }
  return 0;
}

struct Candidate {
  int block = -1;
  int64_t width = 0;
  double value = 0, accuracy = 0;
  Graph graph;
};

void WritePlot(const fs::path& path, const std::vector<HistoryRow>& rows, const std::string& metric,
               double final_acc, double final_value) {
  PlotSpec p;
  p.title = "NetAdapt: holdout accuracy vs " + metric;
  p.x_label = metric + " (" + MetricUnit(metric) + ")";
  p.y_label = "holdout accuracy (%)";
  PlotSeries s{"after short-term fine-tune", {}, {}, true, true, ""};
  for (const HistoryRow& r : rows) {
    s.x.push_back(MetricOf(r, metric));
    s.y.push_back(100 * r.holdout_accuracy);
  }
  p.series.push_back(s);
  p.series.push_back({"after long-term fine-tune", {final_value}, {100 * final_acc}, false, true, ""});
  AtomicWriteText(path, RenderSvg(p));
}

}  // namespace

std::string HistoryCsv(const std::vector<HistoryRow>& rows) {
  std::string s = "iteration,block,holdout_accuracy";
  if (!rows.empty()) {
    for (auto& [k, v] : rows[0].metrics) s.append(",").append(k);
    for (auto& [k, v] : rows[0].channels) s.append(",ch_").append(k);
  }
  s += "\n";
  for (const HistoryRow& r : rows) {
    char acc[32];
    std::snprintf(acc, sizeof acc, "%.6f", r.holdout_accuracy);
    s += std::to_string(r.iteration) + "," + r.block + "," + acc;
    for (auto& [k, v] : r.metrics) s.append(",").append(Num(v));
    for (auto& [k, v] : r.channels) s.append(",").append(std::to_string(v));
    s += "\n";
  }
  return s;
}

AdaptResult RunNetAdapt(const Graph& start, const AdaptOptions& o, const ResourceContext& ctx,
                        const FineTuner& ft, const fs::path& out, bool resume,
                        const json& identity, const json& manifest_extra) {
  ValidateAdaptOptions(o);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string metric = CanonicalMetric(o.metric);
  const fs::path work = WorkDirFor(out);
  CheckReplaceableOutputDir(out, "manifest.json", "\"tool\": \"qaccel adapt\"", {});
  Check(!FindBlocks(start).empty(), "model '" + start.name + "' has no prunable layer");

  AdaptResult res;
  res.start_value = MeasureMetric(metric, start, ctx);
  res.budget_value = ParseBudget(o.budget, res.start_value);
  Graph current = start;
  json state;
  std::error_code ec;
  const bool have_work = fs::exists(work / "state.json", ec);
  if (have_work) {
    Check(resume, work.string() + " holds an interrupted run; continue it with --resume " +
                      out.string() + " or delete it");
    state = json::parse(ReadTextFile(work / "state.json"));
    Check(state.value("identity", json()) == identity,
          work.string() + ": an interrupted run with other options, model or data; delete it or "
                          "rerun with the same ones");
    for (const json& r : state.at("history")) res.history.push_back(RowFromJson(r));
    const int last = res.history.back().iteration;
    if (last > 0) current = LoadModel(work / ("iter_" + std::to_string(last) + ".qmodel"));
    if (o.progress)
      std::fprintf(stderr, "adapt: resuming %s after iteration %d\n", work.string().c_str(), last);
  } else {
    fs::create_directories(work);
    res.history.push_back(MakeRow(0, "start", ft.holdout_accuracy(start), start, ctx));
    state = {{"identity", identity}, {"history", json::array({RowToJson(res.history[0])})},
             {"loop_done", false}, {"stop_reason", ""}};
    AtomicWriteText(work / "state.json", state.dump(1) + "\n");
  }
  if (ctx.latency) ctx.latency->Save();

  // The search.
  for (int it = res.history.back().iteration + 1; !state.value("loop_done", false); ++it) {
    const HistoryRow& prev = res.history.back();
    const double cur = MetricOf(prev, metric);
    std::string stop;
    if (cur <= res.budget_value) stop = "budget met";
    else if (it > o.max_iters) stop = "max iterations reached";
    std::vector<Candidate> cands;
    if (stop.empty()) {
      const double target =
          cur - o.init_reduction * res.start_value * std::pow(o.decay, static_cast<double>(it - 1));
      const std::vector<Block> blocks = FindBlocks(current);
      const Graph structure = StructureOf(current);
      for (size_t b = 0; b < blocks.size(); ++b) {
        Candidate c;
        c.block = static_cast<int>(b);
        c.width = LargestWidthMeeting(structure, blocks[b], target, o, metric, ctx, &c.value);
        if (c.width > 0) cands.push_back(std::move(c));
      }
      if (ctx.latency) ctx.latency->Save();
      if (cands.empty()) stop = "no block can meet the target";
      if (stop.empty()) {
        std::optional<ProgressBar> bar;
        if (o.progress)
          bar.emplace("iteration " + std::to_string(it) + " (target " + Num(std::floor(target)) +
                          " " + MetricUnit(metric) + ")",
                      static_cast<int64_t>(cands.size()));
        ParallelFor(static_cast<int64_t>(cands.size()), o.threads, [&](int64_t k, int) {
          Candidate& c = cands[static_cast<size_t>(k)];
          c.graph = current;
          PruneBlock(c.graph, blocks[static_cast<size_t>(c.block)], c.width);
          ft.short_term(c.graph, CandidateSeed(o.seed, it, c.block));
          c.accuracy = ft.holdout_accuracy(c.graph);
          if (bar) {
            bar->SetSuffix(blocks[static_cast<size_t>(c.block)].name + " -> " +
                           std::to_string(c.width));
            bar->Tick();
          }
        });
        // Selection; ties go to the smaller resource, then the earlier block.
        size_t best = 0;
        auto score = [&](const Candidate& c) {
          if (o.select == "highest-accuracy") return c.accuracy;
          const double removed = std::max(cur - c.value, 1e-12);
          return -(prev.holdout_accuracy - c.accuracy) / removed;
        };
        for (size_t k = 1; k < cands.size(); ++k) {
          const double a = score(cands[k]), b = score(cands[best]);
          if (a > b || (a == b && cands[k].value < cands[best].value)) best = k;
        }
        if (!state.contains("candidates")) state["candidates"] = json::array();
        for (size_t k = 0; k < cands.size(); ++k)
          state["candidates"].push_back(
              {it, blocks[static_cast<size_t>(cands[k].block)].name, cands[k].width,
               cands[k].value, cands[k].accuracy, k == best});
        Candidate& chosen = cands[best];
        current = std::move(chosen.graph);
        const Block& cb = blocks[static_cast<size_t>(chosen.block)];
        SaveModel(current, work / ("iter_" + std::to_string(it) + ".qmodel"));
        res.history.push_back(MakeRow(it, cb.name, chosen.accuracy, current, ctx));
        if (bar) {
          char s[160];
          std::snprintf(s, sizeof s, "chose %s -> %lld, holdout %.2f%%, %s %s",
                        cb.name.c_str(), static_cast<long long>(chosen.width),
                        100 * chosen.accuracy, metric.c_str(),
                        Num(MetricOf(res.history.back(), metric)).c_str());
          bar->SetSuffix(s);
          bar->Finish();
        }
        state["history"].push_back(RowToJson(res.history.back()));
      }
    }
    if (!stop.empty()) {
      state["loop_done"] = true;
      state["stop_reason"] = stop;
    }
    if (ctx.latency) ctx.latency->Save();
    AtomicWriteText(work / "state.json", state.dump(1) + "\n");
  }
  res.stop_reason = state.value("stop_reason", "");
  if (o.progress)
    std::fprintf(stderr, "adapt: search done after %d iterations (%s); long-term fine-tune\n",
                 res.history.back().iteration, res.stop_reason.c_str());

  // Long-term fine-tune (resumable through its checkpoint in the work directory).
  res.adapted = current;
  ft.long_term(res.adapted, work / "long_term.ckpt");
  res.final_holdout_accuracy = ft.holdout_accuracy(res.adapted);
  res.final_value = MeasureMetric(metric, res.adapted, ctx);
  res.adapted.metadata["adapt"] = {
      {"metric", metric},
      {"unit", MetricUnit(metric)},
      {"start_value", res.start_value},
      {"budget", o.budget},
      {"budget_value", res.budget_value},
      {"final_value", res.final_value},
      {"iterations", res.history.back().iteration},
      {"stop_reason", res.stop_reason},
      {"seed", o.seed},
      {"holdout_accuracy_after_long_term", res.final_holdout_accuracy},
      {"identity", identity}};
  if (ctx.latency) ctx.latency->Save();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json manifest = {{"tool", "qaccel adapt"},
                   {"seed", o.seed},
                   {"metric", metric},
                   {"unit", MetricUnit(metric)},
                   {"start_value", res.start_value},
                   {"budget_value", res.budget_value},
                   {"final_value", res.final_value},
                   {"final_fraction_of_start", res.final_value / res.start_value},
                   {"iterations", res.history.back().iteration},
                   {"stop_reason", res.stop_reason},
                   {"start_holdout_accuracy", res.history.front().holdout_accuracy},
                   {"holdout_accuracy_after_long_term", res.final_holdout_accuracy},
                   {"wall_seconds_this_process", seconds},
                   {"identity", identity}};
  if (ctx.latency) {
    // How close the per-layer estimate is to the engine running the whole network.
    json check = json::object();
    for (const auto& [name, g] : {std::pair<const char*, const Graph*>{"start", &start},
                                  std::pair<const char*, const Graph*>{"adapted", &res.adapted}}) {
      const double est = ctx.latency->NetworkMicros(*g);
      const double measured = LatencyTable::MeasureNetworkMicros(*g);
      check[name] = {{"estimate_us", est},
                     {"measured_us", measured},
                     {"estimate_over_measured", est / measured}};
    }
    manifest["latency_check"] = check;
  }
  manifest.update(manifest_extra);
  const std::string csv = HistoryCsv(res.history);
  // Every candidate of every iteration, not only the chosen one.
  std::string cand_csv = "iteration,block,width," + metric + ",holdout_accuracy,chosen\n";
  for (const json& c : state.value("candidates", json::array())) {
    char acc[32];
    std::snprintf(acc, sizeof acc, "%.6f", c[4].get<double>());
    cand_csv.append(std::to_string(c[0].get<int>())).append(",");
    cand_csv.append(c[1].get<std::string>()).append(",");
    cand_csv.append(std::to_string(c[2].get<int64_t>())).append(",");
    cand_csv.append(Num(c[3].get<double>())).append(",").append(acc).append(",");
    cand_csv.append(c[5].get<bool>() ? "1" : "0").append("\n");
  }
  AtomicWriteDirectory(out, [&](const fs::path& tmp) {
    for (const HistoryRow& r : res.history)
      if (r.iteration > 0) {
        const std::string f = "iter_" + std::to_string(r.iteration) + ".qmodel";
        fs::copy_file(work / f, tmp / f);
      }
    if (fs::exists(work / "latency_lut.tsv")) fs::copy_file(work / "latency_lut.tsv", tmp / "latency_lut.tsv");
    SaveModel(res.adapted, tmp / "adapted.qmodel");
    AtomicWriteText(tmp / "history.csv", csv);
    AtomicWriteText(tmp / "candidates.csv", cand_csv);
    WritePlot(tmp / ("accuracy_vs_" + metric + ".svg"), res.history, metric,
              res.final_holdout_accuracy, res.final_value);
    AtomicWriteText(tmp / "manifest.json", manifest.dump(2) + "\n");
  });
  fs::remove_all(work, ec);
  return res;
}

}  // namespace qaccel::adapt
