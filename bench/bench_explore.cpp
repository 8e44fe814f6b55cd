// Benchmark: exhaustive design-space exploration of ResNet-50 (ImageNet,
// 224x224, int8 = 1 byte/word) with the real cost model, on all hardware
// threads. Prints points/s and total seconds.
//   bench_explore [SPACE.toml] [--threads N] [--strategy S] [--sample K]
// Default space: the built-in one below (= examples/space_resnet50.toml:
// 4,800 points, 4,608 within the area budget). --sample K evaluates only
// every K-th point of the space (a quick estimate of the full run).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "qaccel/accel/sim_cache.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/core/error.h"
#include "qaccel/core/parallel.h"
#include "qaccel/dse/explore.h"
#include "qaccel/graph/zoo.h"

namespace {

const char* kDefaultSpace = R"(
[array]
rows = { min = 16, max = 256, pow2 = true }
cols = { min = 16, max = 256, pow2 = true }
dataflows = ["os", "ws", "is"]
[memory]
ifmap_sram_kb = [256, 512, 1024, 2048]
filter_sram_kb = [256, 512, 1024, 2048]
ofmap_sram_kb = [64, 128, 256, 512]
bandwidth_mode = "calc"
[constraints]
max_area_mm2 = 100.0
[objective]
metric = "edp"
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace qaccel;
  std::string space_path, strategy = "exhaustive";
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  uint64_t sample = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--strategy" && i + 1 < argc)
      strategy = argv[++i];
    else if (a == "--sample" && i + 1 < argc)
      sample = std::strtoull(argv[++i], nullptr, 10);
    else
      space_path = a;
  }
  try {
    dse::DesignSpace space =
        space_path.empty() ? dse::ParseDesignSpace(kDefaultSpace, "(built-in ResNet-50 space)")
                           : dse::LoadDesignSpace(space_path);
    Graph g = BuildZooModel("resnet50");
    accel::Topology topo = accel::TopologyFromGraph(g);
    accel::Workload w = accel::MakeWorkload(topo.layers);
    dse::ExploreOptions o;
    o.strategy = strategy;
    o.threads = threads;
    o.progress = true;
    o.base.word_bytes = 1;
    std::vector<accel::LayerSpec> layers = topo.layers;
    std::printf(
        "bench_explore: resnet50, %zu array layers (%zu distinct), space %s: %llu points, %s, %d "
        "threads%s\n",
        layers.size(), w.unique.size(), space.source.c_str(),
        static_cast<unsigned long long>(space.Size()), strategy.c_str(), threads,
        sample > 1 ? (", every " + std::to_string(sample) + "th point only").c_str() : "");
    std::fflush(stdout);
    dse::ExploreResult r;
    if (sample > 1) {
      // Every sample-th point of the space (an estimate of the full run's time).
      std::vector<accel::ArchConfig> configs;
      for (uint64_t i = 0; i < space.Size(); i += sample) {
        accel::ArchConfig c = space.Decode(space.Unflatten(i), o.base);
        if (space.Feasible(c)) configs.push_back(c);
      }
      r.points.resize(configs.size());
      r.threads = threads;
      const auto t0 = std::chrono::steady_clock::now();
      ParallelFor(static_cast<int64_t>(configs.size()), threads, [&](int64_t i, int) {
        r.points[i] = dse::EvaluatePoint(configs[i], w, space.energy, space.area, space.objective);
      });
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (size_t i = 1; i < r.points.size(); ++i)
        if (r.points[i].objective < r.points[r.best].objective) r.best = i;
    } else {
      r = dse::Explore(space, layers, o);
    }
    const double s = r.seconds;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    const double n = static_cast<double>(r.points.size());
    std::printf(
        "evaluated %zu points in %.2f s wall: %.1f points/s; process CPU %.2f s = %.2f ms CPU per "
        "point "
        "(on %d idle cores: ~%.1f s)\n",
        r.points.size(), s, n / s, cpu, 1000.0 * cpu / n, r.threads, cpu / r.threads);
    const accel::SimCacheStats cs = accel::GetSimCacheStats();
    std::printf("cost-model memo %s: %llu hits, %llu misses, %zu entries, %.1f MB\n",
                accel::SimCacheEnabled() ? "on" : "off (QACCEL_SIM_CACHE=0)",
                static_cast<unsigned long long>(cs.hits),
                static_cast<unsigned long long>(cs.misses), cs.entries,
                static_cast<double>(cs.bytes) / 1e6);
    const auto& b = r.points[r.best];
    std::printf("best (%s): %s  total_cycles %lld  energy %.6g pJ\n",
                space.objective.Name().c_str(), dse::DescribePoint(b).c_str(),
                static_cast<long long>(b.total_cycles), b.energy_pj);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_explore: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
