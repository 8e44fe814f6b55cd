// `qaccel bench MODEL [--threads N] [--batch B] [--json] [--data mnist]
//  [--reference] [-q]`: inference speed of qaccel's own engine (no libtorch),
// float or int8:
//   throughput  - images/s at the best batch (1, 2, 4, ..., 512 tried unless
//                 --batch), median wall time of many Run() calls after a warm-up;
//                 also images per CPU-second of the process (robust on a loaded machine)
//   latency     - batch 1, one image per Run(), median (and p90) of many runs
//                 after a warm-up, in microseconds, in-process
//   exits       - a model with early exits (graph/exits.h): images/s of the run
//                 with exits vs the same images through the trunk to the end, on
//                 real data (--data, else mnist), and their ratio exit_speedup
// Inputs: the test split's images with --data, else deterministic
// pseudo-random pixels (the JSON says which). docs/engine.md has the figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  std::string model, data;
  int threads = 1;
  int64_t batch = 0, chunk = 0;
  bool json = false, reference = false, quiet = false;
};

double Percentile(std::vector<double> v, double q) {
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<int64_t>(k), v.end());
  return v[k];
}

struct Timing {
  double seconds = 0;      // median wall seconds per Run() call
  double cpu_seconds = 0;  // mean process CPU seconds per Run() call
  int runs = 0;
};

// Median wall seconds of Run(batch) after two warm-up calls; runs until
// ~min_seconds have passed (at least 5 runs). CPU time is the mean of the
// calls, not their median: the process clock counts a thread running on
// another core only up to its last scheduler tick, so a ~1 ms call's reading
// misses most of a live pool worker's time (core/parallel.h: they stay alive,
// and spin briefly, between calls) and the next tick's reading makes it up.
Timing TimeBatch(const qaccel::engine::Engine& e, const std::vector<uint8_t>& px, int64_t batch,
                 double min_seconds) {
  for (int w = 0; w < 2; ++w) e.Run(px.data(), batch);
  std::vector<double> wall;
  double cpu = 0;
  const auto start = Clock::now();
  while (wall.size() < 5 ||
         std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
    const double c0 = qaccel::engine::ProcessCpuSeconds();
    const auto t0 = Clock::now();
    std::vector<float> out = e.Run(px.data(), batch);
    wall.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    cpu += qaccel::engine::ProcessCpuSeconds() - c0;
    if (out.empty()) std::fprintf(stderr, "?");
  }
  return {Percentile(wall, 0.5), cpu / static_cast<double>(wall.size()),
          static_cast<int>(wall.size())};
}

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Model (.qmodel, float or quantized)")->required();
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores)")
      ->capture_default_str()
      ->check(qaccel::cli::ThreadsRange());
  sub->add_option("--batch", o->batch,
                  "Batch size for the throughput (default: the best of 1..512)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  sub->add_option("--data", o->data,
                  "mnist, fashion-mnist or an IDX directory: time on its test images (default: "
                  "deterministic random pixels; exits use mnist)");
  sub->add_option("--chunk", o->chunk,
                  "int8: images per pass through the layers (default: the engine's, 16)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  sub->add_flag("--json", o->json, "Print one JSON object on stdout");
  sub->add_flag("--reference", o->reference, "Time the reference kernels instead of the fast ones");
  sub->add_flag("-q,--quiet", o->quiet, "No progress lines on stderr");
  sub->callback([o] {
    using namespace qaccel;
    Graph g = LoadModel(o->model);
    const bool exits = HasExits(g);
    Graph trunk = exits ? StripExits(g) : g;
    engine::Engine e(trunk, engine::EngineOptions{o->threads, o->reference, o->chunk});
    const int64_t in = e.input_numel();
    const int64_t max_batch = std::max<int64_t>(512, o->batch);
    Check(max_batch * in <= int64_t{1} << 30,
          "bench: --batch " + std::to_string(max_batch) + " of " + std::to_string(in) +
              "-pixel images needs more than 1 GiB of input; use a smaller --batch");
    std::vector<uint8_t> px;
    std::optional<data::Split> split;
    std::string source = "random pixels (deterministic)";
    if (!o->data.empty()) {
      split = data::LoadNamedDataset(o->data);
      Check(split->test.image_size() == in,
            "bench: the images of '" + o->data + "' do not fit the model's input");
      Check(split->test.n > 0, "bench: '" + o->data + "' has no test images");
      source = o->data + " test images";
    }
    px.resize(static_cast<size_t>(max_batch * in));
    for (size_t i = 0; i < px.size(); ++i)
      px[i] = split ? split->test.pixels[i % split->test.pixels.size()]
                    : static_cast<uint8_t>((i * 2654435761u) >> 24);
    auto progress = [&](const std::string& s) {
      if (!o->quiet) std::fprintf(stderr, "bench: %s\n", s.c_str());
    };
    // Throughput at the best batch.
    std::vector<int64_t> batches;
    if (o->batch > 0)
      batches = {o->batch};
    else
      for (int64_t b = 1; b <= 512; b *= 2) batches.push_back(b);
    nlohmann::json per_batch = nlohmann::json::array();
    double best_ips = 0, best_cpu_ips = 0;
    int64_t best_batch = 0;
    for (int64_t b : batches) {
      const Timing t = TimeBatch(e, px, b, 0.3);
      const double ips = static_cast<double>(b) / t.seconds;
      const double cpu_ips = t.cpu_seconds > 0 ? static_cast<double>(b) / t.cpu_seconds : 0;
      per_batch.push_back({{"batch", b},
                           {"images_per_second", ips},
                           {"images_per_cpu_second", cpu_ips},
                           {"runs", t.runs}});
      progress("batch " + std::to_string(b) + ": " + std::to_string(static_cast<int64_t>(ips)) +
               " images/s");
      if (ips > best_ips) {
        best_ips = ips;
        best_cpu_ips = cpu_ips;
        best_batch = b;
      }
    }
    // Batch-1 latency: one image per call, cycling over the images.
    std::vector<double> lat;
    const int64_t warm = 200, runs = 3000, pool = max_batch;
    for (int64_t r = 0; r < warm + runs; ++r) {
      const uint8_t* img = px.data() + (r % pool) * in;
      const auto t0 = Clock::now();
      std::vector<float> out = e.Run(img, 1);
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      if (r >= warm) lat.push_back(us);
      if (out.empty()) std::fprintf(stderr, "?");
    }
    const double lat50 = Percentile(lat, 0.5), lat90 = Percentile(lat, 0.9);
    progress("batch-1 latency: median " + std::to_string(lat50) + " us");
    nlohmann::json j{{"model", o->model},
                     {"name", g.name},
                     {"precision", g.quantized() ? "int8" : "float"},
                     {"kernels", o->reference ? "reference" : "fast"},
                     {"isa", kernels::fast::IsaName(e.isa())},
                     {"threads", e.threads()},
                     {"batch", best_batch},
                     {"chunk", e.chunk()},
                     {"images_per_second", best_ips},
                     {"images_per_cpu_second", best_cpu_ips},
                     {"latency_us_batch1", lat50},
                     {"latency_us_batch1_p90", lat90},
                     {"latency_runs", runs},
                     {"input", source},
                     {"per_batch", per_batch}};
    if (exits) {
      // Real data: run-with-exits vs the trunk to the end, same images, best of 3.
      const std::string dname = o->data.empty() ? "mnist" : o->data;
      if (!split) split = data::LoadNamedDataset(dname);
      const data::Split& s = *split;
      progress("exits: run with exits vs to the end on " + dname);
      // Interleaved runs over the first 512 test images (all if fewer), 21 of
      // each, median wall and CPU seconds: short runs, like the batches above,
      // so that a loaded machine preempts few of them.
      std::vector<double> with_s, without_s, with_c, without_c;
      engine::ExitRunResult r;
      const int64_t limit = std::min<int64_t>(512, s.test.n);
      for (int rep = 0; rep < 21; ++rep) {
        r = engine::RunWithExits(g, s.test, limit, o->threads);
        with_s.push_back(r.seconds);
        with_c.push_back(r.cpu_seconds);
        const engine::EvalResult t =
            engine::Evaluate(trunk, s.test, nullptr, limit, engine::EngineOptions{o->threads});
        without_s.push_back(t.seconds);
        without_c.push_back(t.cpu_seconds);
      }
      const double with = Percentile(with_s, 0.5), without = Percentile(without_s, 0.5);
      const double with_cpu = Percentile(with_c, 0.5), without_cpu = Percentile(without_c, 0.5);
      const double n = static_cast<double>(r.samples);
      j["exit_data"] = dname;
      j["exit_images_per_second"] = n / with;
      j["no_exit_images_per_second"] = n / without;
      j["exit_speedup"] = without / with;
      j["exit_speedup_cpu"] = with_cpu > 0 ? without_cpu / with_cpu : 0.0;
      j["exit_counts"] = r.count;
    }
    if (o->json) {
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf(
        "%s (%s, %s kernels, %s, %d thread(s)): %.0f images/s at batch %lld "
        "(%.0f images per CPU-second); batch-1 latency median %.2f us (p90 %.2f us)\n",
        o->model.c_str(), g.quantized() ? "int8" : "float", o->reference ? "reference" : "fast",
        kernels::fast::IsaName(e.isa()), e.threads(), best_ips, static_cast<long long>(best_batch),
        best_cpu_ips, lat50, lat90);
    if (exits)
      std::printf(
          "early exits on %s: %.0f images/s with exits, %.0f to the end: %.2fx "
          "(CPU time: %.2fx)\n",
          j["exit_data"].get<std::string>().c_str(), j["exit_images_per_second"].get<double>(),
          j["no_exit_images_per_second"].get<double>(), j["exit_speedup"].get<double>(),
          j["exit_speedup_cpu"].get<double>());
    std::printf("input: %s\n", source.c_str());
  });
}

}  // namespace

QACCEL_COMMAND(bench, "Engine speed: throughput at the best batch, batch-1 latency, early exits",
               Setup);
