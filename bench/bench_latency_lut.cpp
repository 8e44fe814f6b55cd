// Benchmark: how close NetAdapt's per-layer latency look-up table
// (adapt/resource.h) is to the engine running the whole network.
//   bench_latency_lut MODEL.qmodel... [--rounds N] [--per-layer]
// For each model (float, or a zoo name with random weights): the LUT
// estimate (a fresh table, measured in this process) and N whole-network
// measurements (Engine::Run, 1 thread, batch 1, median of 51 after 20
// warm-ups), interleaved; prints the estimate, the median measurement and
// their ratio.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "qaccel/adapt/resource.h"
#include "qaccel/core/error.h"
#include "qaccel/core/rng.h"
#include "qaccel/engine/engine.h"

#include <chrono>
#include "qaccel/graph/model_file.h"

int main(int argc, char** argv) {
  using namespace qaccel;
  std::vector<std::string> models;
  int rounds = 5;
  bool per_layer = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--per-layer")
      per_layer = true;
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::max(1, std::atoi(argv[++i]));
    else
      models.push_back(a);
  }
  if (models.empty()) models = {"lenet5"};
  try {
    for (const std::string& m : models) {
      Graph g = LoadModelOrZoo(m);
      if (!g.layers.empty() && g.layers[1].params.empty()) {
        Rng rng(1);  // a zoo name: random weights (the time does not depend on them)
        for (Layer& l : g.layers)
          for (const char* p : {"weight", "bias"}) {
            if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear) continue;
            if (std::string(p) == "bias" && !l.has_bias) continue;
            const Shape s = ExpectedParamShape(l, p);
            std::vector<float> v(static_cast<size_t>(NumElements(s)));
            for (float& f : v) f = static_cast<float>(rng.Uniform01() * 0.1 - 0.05);
            l.params[p] = Tensor::From(s, v);
          }
      }
      adapt::LatencyTable lut;
      const double est = lut.NetworkMicros(g);
      std::vector<double> measured;
      for (int r = 0; r < rounds; ++r)
        measured.push_back(adapt::LatencyTable::MeasureNetworkMicros(g));
      if (per_layer) {
        // Each layer's time inside the whole network (engine taps, median of 51)
        // next to its table estimate.
        engine::EngineOptions eo;
        eo.threads = 1;
        engine::Engine e(g, eo);
        std::vector<uint8_t> px(static_cast<size_t>(e.input_numel()));
        Rng prng(11);  // the pixels MeasureNetworkMicros uses
        for (uint8_t& v : px) v = static_cast<uint8_t>(prng.Below(256));
        std::vector<std::vector<double>> t(g.layers.size());
        for (int r = 0; r < 71; ++r) {
          auto last = std::chrono::steady_clock::now();
          e.RunTapped(px.data(), [&](int layer, const float*, int64_t) {
            const auto now = std::chrono::steady_clock::now();
            if (r >= 20)
              t[static_cast<size_t>(layer)].push_back(
                  std::chrono::duration<double, std::micro>(now - last).count());
            last = now;
          });
        }
        std::vector<double> whole_tapped, whole_run;
        for (int r = 0; r < 31; ++r) {
          auto a = std::chrono::steady_clock::now();
          e.RunTapped(px.data(), [](int, const float*, int64_t) {});
          auto b = std::chrono::steady_clock::now();
          e.Run(px.data(), 1);
          auto c = std::chrono::steady_clock::now();
          whole_tapped.push_back(std::chrono::duration<double, std::micro>(b - a).count());
          whole_run.push_back(std::chrono::duration<double, std::micro>(c - b).count());
        }
        std::sort(whole_tapped.begin(), whole_tapped.end());
        std::sort(whole_run.begin(), whole_run.end());
        std::printf("  whole network: RunTapped %.1f us, Run %.1f us (medians)\n",
                    whole_tapped[15], whole_run[15]);
        for (size_t i = 0; i < g.layers.size(); ++i) {
          std::sort(t[i].begin(), t[i].end());
          std::printf("  %-24s %-14s in-network %9.2f us  table %9.2f us\n",
                      g.layers[i].name.c_str(), std::string(OpKindName(g.layers[i].kind)).c_str(),
                      t[i][t[i].size() / 2], lut.LayerMicros(g, i));
        }
      }
      std::sort(measured.begin(), measured.end());
      const double med = measured[measured.size() / 2];
      std::printf("%s: LUT estimate %.1f us (%zu entries), measured %.1f us (median of %d, "
                  "range %.1f-%.1f), estimate/measured %.3f\n",
                  m.c_str(), est, lut.size(), med, rounds, measured.front(), measured.back(),
                  est / med);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_latency_lut: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
