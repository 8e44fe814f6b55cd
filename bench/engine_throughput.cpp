// Inference throughput of qaccel's engines (float and bit-exact int8), timed
// as the brief asks: warm-up, many runs, the median, and throughput at the
// best batch size; for 1 and 2 threads, fast and reference kernels.
//   build/engine_throughput MODEL.qmodel [MODEL.qmodel ...]
// Prints one line per (model, kernels, threads, batch) and a best line. On a
// loaded machine wall time is noisy; for 1 thread the line also gives the
// throughput per second of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
// which the PyTorch peer (bench/pytorch_peer.py) reports the same way.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"

using namespace qaccel;

namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> t) {
  std::nth_element(t.begin(), t.begin() + static_cast<int64_t>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

// Median wall seconds and median thread-CPU seconds of one Run of `batch` images.
std::pair<double, double> MedianSeconds(const engine::Engine& e, const std::vector<uint8_t>& px,
                                        int64_t batch, int runs) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < runs; ++r) {
    const double c0 = ThreadCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto out = e.Run(px.data(), batch);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu.push_back(ThreadCpuSeconds() - c0);
    if (out.empty()) std::printf("?");
  }
  return {Median(wall), Median(cpu)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.qmodel [MODEL.qmodel ...]\n", argv[0]);
    return 2;
  }
  for (int a = 1; a < argc; ++a) {
    Graph g = LoadModel(argv[a]);
    const int64_t in = NumElements(g.input_shape());
    std::vector<uint8_t> px(static_cast<size_t>(in * 512));
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
    std::printf("%s (%s)\n", argv[a], g.quantized() ? "int8" : "float");
    for (bool reference : {false, true}) {
      for (int threads : {1, 2}) {
        engine::Engine e(g, {threads, reference});
        double best = 0;
        int64_t best_batch = 0;
        for (int64_t batch : {1, 8, 32, 128, 512}) {
          MedianSeconds(e, px, batch, 3);  // warm-up
          const int runs = static_cast<int>(std::max<int64_t>(9, 2048 / batch));
          const auto [s, cpu] = MedianSeconds(e, px, batch, runs);
          const double ips = static_cast<double>(batch) / s;
          std::printf("  %-9s threads %d batch %4lld: median %9.3f ms  %8.0f images/s",
                      reference ? "reference" : "fast", threads, static_cast<long long>(batch),
                      s * 1e3, ips);
          if (threads == 1) std::printf("  %8.0f images/cpu-s", static_cast<double>(batch) / cpu);
          std::printf("  (%d runs)\n", runs);
          if (ips > best) {
            best = ips;
            best_batch = batch;
          }
        }
        std::printf(
            "  BEST %-9s threads %d: %.0f images/s at batch %lld; arena %lld bytes/thread\n",
            reference ? "reference" : "fast", threads, best, static_cast<long long>(best_batch),
            static_cast<long long>(e.arena_bytes()));
      }
    }
  }
  return 0;
}
