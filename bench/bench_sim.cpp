// Micro-benchmark of the cost model: median CPU time of SimulateNetwork
// (and of each layer) over many runs, on AlexNet's five conv layers and a few
// large layers, for os/ws/is on a 32x32 array with SCALE-Sim's default 64 kB
// SRAMs in CALC mode, plus one USER-mode configuration.
//   bench_sim [runs] [--memo]      (default 21 runs)
// The cost model's cross-design-point memo (accel/sim_cache.h) is turned off
// (repeating one design point would only time memo hits); --memo keeps it on.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/sim_cache.h"

using namespace qaccel::accel;

namespace {

std::vector<LayerSpec> AlexNetConv() {
  return {{"conv1", 227, 227, 11, 11, 3, 96, 4, 4},
          {"conv2", 31, 31, 5, 5, 96, 256, 1, 1},
          {"conv3", 15, 15, 3, 3, 256, 384, 1, 1},
          {"conv4", 15, 15, 3, 3, 384, 384, 1, 1},
          {"conv5", 15, 15, 3, 3, 384, 256, 1, 1}};
}

// CPU time of this thread (the machine is shared; wall time is noisier).
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

template <class Fn>
double MedianMs(int runs, Fn&& fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const double a = CpuMs();
    fn();
    t.push_back(CpuMs() - a);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 21;
  bool memo = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--memo")
      memo = true;
    else
      runs = std::max(1, std::atoi(argv[i]));
  }
  SetSimCacheEnabled(memo);
  std::printf("bench_sim: %d runs, memo %s\n", runs, memo ? "on" : "off");
  ArchConfig base;
  base.array_rows = base.array_cols = 32;
  base.ifmap_sram_kb = base.filter_sram_kb = base.ofmap_sram_kb = 64;
  const auto alex = AlexNetConv();
  std::printf("%-34s %12s %14s\n", "case", "median_cpu_ms", "total_cycles");
  for (Dataflow df :
       {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
    ArchConfig c = base;
    c.dataflow = df;
    int64_t cycles = 0;
    const double ms = MedianMs(runs, [&] {
      const auto m = SimulateNetwork(c, alex);
      cycles = 0;
      for (const auto& l : m) cycles += l.total_cycles;
    });
    std::printf("alexnet_conv %s 32x32 CALC 64kB     %12.3f %14lld\n", DataflowName(df), ms,
                static_cast<long long>(cycles));
    for (const auto& l : alex) {
      const double lms = MedianMs(runs, [&] { SimulateLayer(c, l); });
      std::printf("  %-32s %12.3f\n", (l.name + " " + DataflowName(df)).c_str(), lms);
    }
  }
  {
    ArchConfig c = base;
    c.ifmap_sram_kb = c.filter_sram_kb = c.ofmap_sram_kb = 6144;
    const double ms = MedianMs(runs, [&] { SimulateNetwork(c, alex); });
    std::printf("alexnet_conv os 32x32 CALC 6MB      %12.3f\n", ms);
  }
  {
    ArchConfig c = base;
    c.bw_mode = BandwidthMode::kUser;
    c.bandwidth_words_per_cycle = 10;
    const int user_runs = std::max(1, runs / 7);
    const double ms = MedianMs(user_runs, [&] { SimulateNetwork(c, alex); });
    std::printf("alexnet_conv os 32x32 USER bw10     %12.3f\n", ms);
  }
  {
    const std::vector<LayerSpec> big = {LayerSpec::Gemm("gemm_1024", 1024, 1024, 1024),
                                        {"resnet_conv3x3", 58, 58, 3, 3, 64, 64, 1, 1}};
    for (Dataflow df :
         {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
      ArchConfig c = base;
      c.dataflow = df;
      for (const auto& l : big) {
        const double ms = MedianMs(std::max(1, runs / 3), [&] { SimulateLayer(c, l); });
        std::printf("%-34s %12.3f\n", (l.name + " " + DataflowName(df) + " 32x32 CALC").c_str(),
                    ms);
      }
    }
  }
  return 0;
}
