// Exploration driver (candidates evaluated with core/parallel.h) and the
// output files (see explore.h).
#include "qaccel/dse/explore.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/core/parallel.h"
#include "qaccel/core/progress.h"
#include "qaccel/core/svg_plot.h"
#include "qaccel/dse/pareto.h"
#include "qaccel/dse/strategy.h"

namespace qaccel::dse {
namespace {

std::string Num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// Evaluates one batch into slots in hand-out order. Points the checkpoint
// already holds (global evaluation index first + i below its size) are
// replayed from it; the others are evaluated and appended to it, in
// hand-out order, as soon as every earlier point of the batch is done.
std::vector<PointResult> EvaluateBatch(const DesignSpace& space,
                                       const std::vector<Candidate>& batch,
                                       const std::vector<accel::ArchConfig>& configs,
                                       const EvaluateFn& evaluate, size_t first,
                                       const ExploreOptions& opt, int threads, ProgressBar* bar) {
  const size_t n = batch.size();
  std::vector<PointResult> results(n);
  std::vector<char> done(n, 0);
  size_t next_to_record = 0;
  std::mutex mu;
  const size_t recorded = opt.checkpoint ? opt.checkpoint->recorded().size() : 0;
  ParallelFor(static_cast<int64_t>(n), threads, [&](int64_t i, int) {
    const uint64_t index = space.Flatten(batch[i]);
    if (first + i < recorded) {
      const ExploreCheckpoint::Record& rec = opt.checkpoint->recorded()[first + i];
      Check(rec.index == index, "checkpoint: point " + std::to_string(first + i) +
                                    " was design point " + std::to_string(rec.index) +
                                    ", this run hands out " + std::to_string(index) +
                                    " (not the same run); delete the .partial directory");
      results[i] = rec.result;
      results[i].config = configs[i];
    } else {
      try {
        results[i] = evaluate(configs[i]);
      } catch (const Error& e) {
        throw Error("design point " + DescribePoint(PointResult{configs[i]}) + ": " + e.what());
      }
    }
    if (bar) bar->Tick();
    if (!opt.checkpoint) return;
    std::lock_guard<std::mutex> lock(mu);
    done[i] = 1;
    for (; next_to_record < n && done[next_to_record]; ++next_to_record)
      if (first + next_to_record >= recorded)
        opt.checkpoint->Append(space.Flatten(batch[next_to_record]), results[next_to_record]);
  });
  return results;
}

// One batch split over the processes of opt.distributor: each evaluates its
// share (on its threads), the points travel as exact text records, and every
// process returns the whole batch in hand-out order.
std::vector<PointResult> EvaluateDistributed(const DesignSpace& space,
                                             const std::vector<Candidate>& batch,
                                             const std::vector<accel::ArchConfig>& configs,
                                             const EvaluateFn& evaluate, const ExploreOptions& opt,
                                             int threads, ProgressBar* bar) {
  Check(opt.checkpoint == nullptr, "explore: a checkpoint cannot be shared by processes");
  WorkDistributor& d = *opt.distributor;
  const size_t n = batch.size();
  // Points of one array shape share the memo: one task each (at most
  // n / (4 * workers) points, so the last tasks taken are small), dealt to
  // whichever process and thread is free (distribute.h).
  std::vector<uint64_t> affinity(n);
  for (size_t i = 0; i < n; ++i) affinity[i] = space.ArrayKey(batch[i]);
  const size_t workers = static_cast<size_t>(d.size()) * static_cast<size_t>(std::max(1, threads));
  const std::vector<std::pair<size_t, size_t>> tasks =
      CutIntoTasks(affinity, (n + 4 * workers - 1) / (4 * workers));
  d.BeginTasks(tasks.size());
  std::vector<std::string> records(n);
  std::vector<char> mine(n, 0);
  ParallelFor(std::max(1, threads), threads, [&](int64_t, int) {
    for (size_t t = 0; d.NextTask(&t);)
      for (size_t i = tasks[t].first; i < tasks[t].second; ++i) {
        PointResult p;
        try {
          p = evaluate(configs[i]);
        } catch (const Error& e) {
          throw Error("design point " + DescribePoint(PointResult{configs[i]}) + ": " + e.what());
        }
        records[i] = FormatPointRecord(space.Flatten(batch[i]), p);
        mine[i] = 1;
        if (bar) bar->Tick();
      }
  });
  d.AllGather(&records, mine);
  std::vector<PointResult> results(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t index = 0;
    Check(ParsePointRecord(records[i], &index, &results[i]) && index == space.Flatten(batch[i]),
          "explore: point " + std::to_string(i) + " of a batch came back damaged from process " +
              "gathering");
    results[i].config = configs[i];
  }
  return results;
}

}  // namespace

void CheckSearchSize(const DesignSpace& space, const std::string& strategy) {
  const uint64_t size = space.Size();
  Check(size <= kMaxSpacePoints,
        space.source + ": the design space has " +
            (size == UINT64_MAX ? std::string("more than 2^64") : std::to_string(size)) +
            " points, above the limit " + std::to_string(kMaxSpacePoints) +
            " (docs/dse.md, Limits); use fewer values per dimension");
  const uint64_t n = MakeStrategy(strategy, space, 0)->ExpectedEvaluations();
  Check(n <= kMaxEvaluations,
        space.source + ": strategy '" + strategy + "' would evaluate " + std::to_string(n) +
            " design points, above the limit " + std::to_string(kMaxEvaluations) +
            " per run (docs/dse.md, Limits); use fewer values per dimension or the genetic "
            "strategy with a smaller population x generations");
}

ExploreResult Explore(const DesignSpace& space, const std::vector<accel::LayerSpec>& layers,
                      const ExploreOptions& opt) {
  Check(!layers.empty(), "explore: the topology has no layers");
  const accel::Workload work = accel::MakeWorkload(layers);
  return Explore(
      space,
      [&](const accel::ArchConfig& c) {
        return EvaluatePoint(c, work, space.energy, space.area, space.objective);
      },
      opt);
}

ExploreResult Explore(const DesignSpace& space, const EvaluateFn& evaluate,
                      const ExploreOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  ExploreResult r;
  r.strategy = opt.strategy.empty() ? space.strategy : opt.strategy;
  r.seed = opt.seed;
  CheckSearchSize(space, r.strategy);
  r.space_size = space.Size();
  r.threads = opt.threads > 0 ? opt.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto strategy = MakeStrategy(r.strategy, space, opt.seed);
  std::unique_ptr<ProgressBar> bar;
  if (opt.progress)
    bar = std::make_unique<ProgressBar>("explore " + r.strategy,
                                        static_cast<int64_t>(strategy->ExpectedEvaluations()));
  const double inf = std::numeric_limits<double>::infinity();
  double best_so_far = inf;

  // Across processes, every batch ends with a wait for the slowest task, so
  // batches are 4x larger there (fewer waits; the results do not depend on
  // the batch size: candidates are handed out and reported in the same order).
  const bool distributed = opt.distributor && opt.distributor->size() > 1;
  const size_t batch_size = std::max<size_t>(1, distributed ? opt.batch * 4 : opt.batch);
  for (;;) {
    std::vector<Candidate> batch;
    std::vector<accel::ArchConfig> configs;
    bool reported = false;
    while (batch.size() < batch_size) {
      std::optional<Candidate> c = strategy->Next();
      if (!c) break;
      accel::ArchConfig cfg = space.Decode(*c, opt.base);
      if (!space.Feasible(cfg)) {
        strategy->Report(*c, inf);
        ++r.skipped_infeasible;
        reported = true;
        if (bar) bar->Tick();
        continue;
      }
      batch.push_back(std::move(*c));
      configs.push_back(cfg);
    }
    if (batch.empty()) {
      if (strategy->Done()) break;
      Check(reported, "explore: strategy '" + r.strategy +
                          "' handed out nothing and is not done (a bug in the strategy)");
      continue;
    }
    std::vector<PointResult> results =
        distributed
            ? EvaluateDistributed(space, batch, configs, evaluate, opt, r.threads, bar.get())
            : EvaluateBatch(space, batch, configs, evaluate, r.points.size(), opt, r.threads,
                            bar.get());
    for (size_t i = 0; i < batch.size(); ++i) {
      strategy->Report(batch[i], results[i].objective);
      if (results[i].objective < best_so_far) best_so_far = results[i].objective;
      r.points.push_back(std::move(results[i]));
    }
    if (bar) bar->SetSuffix("best " + space.objective.Name() + " " + Num(best_so_far));
  }
  if (bar) bar->Finish();
  if (opt.checkpoint) r.resumed = std::min(opt.checkpoint->recorded().size(), r.points.size());
  Check(!r.points.empty(), "explore: no design point satisfies the constraints (" +
                               std::to_string(r.skipped_infeasible) +
                               " rejected); relax [constraints]");
  for (size_t i = 1; i < r.points.size(); ++i)
    if (r.points[i].objective < r.points[r.best].objective) r.best = i;
  std::vector<double> cyc, pes, en;
  for (auto& p : r.points) {
    cyc.push_back(static_cast<double>(p.total_cycles));
    pes.push_back(static_cast<double>(p.area.pes));
    en.push_back(p.energy_pj);
  }
  r.front_pes = ParetoFront(pes, cyc);
  r.front_energy = ParetoFront(en, cyc);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string PointsCsv(const ExploreResult& r, const std::vector<size_t>* which) {
  std::ostringstream o;
  o << "point_id,array_rows,array_cols,dataflow,ifmap_sram_kb,filter_sram_kb,ofmap_sram_kb,"
       "bandwidth_words_per_cycle,bandwidth_mode,word_bytes,pes,sram_kb,area_mm2,total_cycles,"
       "stall_cycles,compute_util_pct,overall_util_pct,macs,sram_read_bytes,sram_write_bytes,"
       "dram_read_bytes,dram_write_bytes,energy_pj,edp_pj_cycles,objective,strategy,seed\n";
  auto row = [&](size_t i) {
    const PointResult& p = r.points[i];
    const accel::ArchConfig& c = p.config;
    o << i << ',' << c.array_rows << ',' << c.array_cols << ',' << accel::DataflowName(c.dataflow)
      << ',' << Num(c.ifmap_sram_kb) << ',' << Num(c.filter_sram_kb) << ',' << Num(c.ofmap_sram_kb)
      << ',' << Num(c.bandwidth_words_per_cycle) << ','
      << (c.bw_mode == accel::BandwidthMode::kCalc ? "calc" : "user") << ',' << c.word_bytes << ','
      << p.area.pes << ',' << Num(p.area.sram_kb) << ',' << Num(p.area.area_mm2) << ','
      << p.total_cycles << ',' << p.stall_cycles << ',' << Num(p.compute_util_pct) << ','
      << Num(p.overall_util_pct) << ',' << p.macs << ',' << p.sram_read_bytes << ','
      << p.sram_write_bytes << ',' << p.dram_read_bytes << ',' << p.dram_write_bytes << ','
      << Num(p.energy_pj) << ',' << Num(p.energy_pj * static_cast<double>(p.total_cycles)) << ','
      << Num(p.objective) << ',' << r.strategy << ',' << r.seed << '\n';
  };
  if (which) {
    for (size_t i : *which) row(i);
  } else {
    for (size_t i = 0; i < r.points.size(); ++i) row(i);
  }
  return o.str();
}

std::string DescribePoint(const PointResult& p) {
  const accel::ArchConfig& c = p.config;
  std::ostringstream o;
  o << c.array_rows << "x" << c.array_cols << " " << accel::DataflowName(c.dataflow) << " sram "
    << Num(c.ifmap_sram_kb) << "/" << Num(c.filter_sram_kb) << "/" << Num(c.ofmap_sram_kb)
    << " kB bw " << Num(c.bandwidth_words_per_cycle) << " ("
    << (c.bw_mode == accel::BandwidthMode::kCalc ? "calc" : "user") << ")";
  return o.str();
}

std::string ParetoSvg(const ExploreResult& r, const std::string& title) {
  auto panel = [&](const std::string& x_label, const std::vector<size_t>& front, auto xval) {
    PlotSpec s;
    s.title = title + ": total cycles vs " + x_label;
    s.x_label = x_label;
    s.y_label = "total cycles";
    s.log_x = s.log_y = true;
    PlotSeries all{
        "all points (" + std::to_string(r.points.size()) + ")", {}, {}, false, true, "#9aa7b8"};
    for (auto& p : r.points) {
      all.x.push_back(xval(p));
      all.y.push_back(static_cast<double>(p.total_cycles));
    }
    PlotSeries fr{
        "Pareto front (" + std::to_string(front.size()) + ")", {}, {}, true, true, "#d62728"};
    for (size_t i : front) {
      fr.x.push_back(xval(r.points[i]));
      fr.y.push_back(static_cast<double>(r.points[i].total_cycles));
    }
    // Log axes only when every value is positive (the plot cannot place 0).
    for (double v : all.x) s.log_x = s.log_x && v > 0;
    for (double v : all.y) s.log_y = s.log_y && v > 0;
    s.series = {all, fr};
    return s;
  };
  return RenderSvgPanels(
      {panel("PEs", r.front_pes,
             [](const PointResult& p) { return static_cast<double>(p.area.pes); }),
       panel("energy (pJ)", r.front_energy, [](const PointResult& p) { return p.energy_pj; })});
}

void WriteExploreOutputs(const std::filesystem::path& dir, const ExploreResult& r,
                         const std::string& title, const nlohmann::json& manifest) {
  // Everything is rendered before the first file is written.
  const std::string points = PointsCsv(r), front_pes = PointsCsv(r, &r.front_pes),
                    front_energy = PointsCsv(r, &r.front_energy), svg = ParetoSvg(r, title);
  const PointResult& b = r.points[r.best];
  nlohmann::json best = {
      {"point_id", r.best},
      {"array_rows", b.config.array_rows},
      {"array_cols", b.config.array_cols},
      {"dataflow", accel::DataflowName(b.config.dataflow)},
      {"ifmap_sram_kb", b.config.ifmap_sram_kb},
      {"filter_sram_kb", b.config.filter_sram_kb},
      {"ofmap_sram_kb", b.config.ofmap_sram_kb},
      {"bandwidth_words_per_cycle", b.config.bandwidth_words_per_cycle},
      {"bandwidth_mode", b.config.bw_mode == accel::BandwidthMode::kCalc ? "calc" : "user"},
      {"word_bytes", b.config.word_bytes},
      {"total_cycles", b.total_cycles},
      {"stall_cycles", b.stall_cycles},
      {"compute_util_pct", b.compute_util_pct},
      {"energy_pj", b.energy_pj},
      {"area_mm2", b.area.area_mm2},
      {"pes", b.area.pes},
      {"objective", b.objective},
      {"strategy", r.strategy},
      {"seed", r.seed}};
  const std::pair<const char*, std::string> files[] = {{"points.csv", points},
                                                       {"pareto_cycles_pes.csv", front_pes},
                                                       {"pareto_cycles_energy.csv", front_energy},
                                                       {"pareto.svg", svg},
                                                       {"best.json", best.dump(2) + "\n"},
                                                       {"manifest.json", manifest.dump(2) + "\n"}};
  CheckExploreOutputDir(dir, {});
  AtomicWriteDirectory(dir, [&](const std::filesystem::path& tmp) {
    for (const auto& [name, text] : files) AtomicWriteText(tmp / name, text);
  });
}

void CheckExploreOutputDir(const std::filesystem::path& dir,
                           const std::vector<std::filesystem::path>& inputs) {
  CheckReplaceableOutputDir(dir, "manifest.json", "\"qaccel_version\"", inputs);
}

}  // namespace qaccel::dse
