// The batched fast engine on every ISA path (QACCEL_ISA, kernels/fast/isa.h)
// against the reference engine, tolerance 0 on the int8 logits: quantized
// LeNet-5 (per-channel, per-tensor, binary, 4-bit weights) on real test
// images (mnist and fashion-mnist when installed, else synthetic ones), for
// batch sizes 1, 7 and 256 and 1 and 2 threads. The full 10k test sets with
// the trained models: QACCEL_FULL_CHECK_MODELS (docs/engine.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

#include "../common/test_models.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/kernels/fast/isa.h"
#include "qaccel/quant/quantize.h"

namespace qaccel {
namespace {

using namespace qaccel::testing;
namespace kf = kernels::fast;

// Sets QACCEL_ISA for the scope.
struct IsaScope {
  explicit IsaScope(kf::Isa isa) { setenv("QACCEL_ISA", kf::IsaName(isa), 1); }
  ~IsaScope() { unsetenv("QACCEL_ISA"); }
};

std::vector<kf::Isa> Paths() {
  std::vector<kf::Isa> v;
  for (kf::Isa i : {kf::Isa::kPortable, kf::Isa::kAvx2, kf::Isa::kAvx512Vnni})
    if (static_cast<int>(i) <= static_cast<int>(kf::DetectedIsa())) v.push_back(i);
  return v;
}

// Runs n images in batches of `batch` (the last one shorter).
std::vector<int8_t> RunInBatches(const engine::Engine& e, const data::Dataset& d, int64_t n,
                                 int64_t batch) {
  std::vector<int8_t> all;
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t m = std::min(batch, n - i);
    std::vector<int8_t> q = e.RunInt8(d.pixels.data() + i * d.image_size(), m);
    all.insert(all.end(), q.begin(), q.end());
  }
  return all;
}

void CheckAllPaths(const Graph& q, const data::Dataset& test, int64_t n, const std::string& what) {
  const std::vector<int8_t> want =
      engine::Engine(q, {.threads = 2, .reference_kernels = true}).RunInt8(test.pixels.data(), n);
  for (kf::Isa isa : Paths()) {
    IsaScope scope(isa);
    for (int threads : {1, 2}) {
      engine::Engine e(q, {.threads = threads});
      ASSERT_EQ(e.isa(), isa);
      for (int64_t batch : {int64_t{1}, int64_t{7}, int64_t{256}}) {
        const int64_t m = batch == 1 ? std::min<int64_t>(n, 400) : n;  // batch 1: a prefix (time)
        const std::vector<int8_t> got = RunInBatches(e, test, m, batch);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), want.begin()))
            << what << ": " << kf::IsaName(isa) << " threads " << threads << " batch " << batch;
      }
    }
  }
}

TEST(IsaEngine, Lenet5EveryPathEqualsReferenceOnTestImages) {
  std::vector<std::string> sets = {"mnist", "fashion-mnist"};
  int used = 0;
  for (const std::string& name : sets) {
    data::Split real;
    try {
      real = data::LoadNamedDataset(name);
    } catch (const std::exception&) {
      continue;
    }
    ++used;
    Graph fg = RandomModel("lenet5", 41);
    for (const char* scheme : {"per-channel", "per-tensor", "binary"}) {
      quant::QuantizeOptions o;
      o.calibration = 200;
      o.weight_scheme = scheme;
      if (std::string(scheme) == "binary") {
        o.layers["conv1"].weight_scheme = "per-channel";
        o.layers["fc3"].weight_scheme = "per-channel";
      }
      const Graph q = quant::QuantizeGraph(fg, real.train, o);
      CheckAllPaths(q, real.test, 600, name + " " + scheme);
    }
    quant::QuantizeOptions o4;
    o4.calibration = 200;
    o4.weight_bits = 4;
    o4.act_bits = 4;
    CheckAllPaths(quant::QuantizeGraph(fg, real.train, o4), real.test, 300, name + " w4a4");
  }
  if (used == 0) {  // no data installed: synthetic images still cover every path
    const data::Dataset d = SyntheticImages(300, 1, 28, 28, 5);
    quant::QuantizeOptions o;
    o.calibration = 100;
    CheckAllPaths(quant::QuantizeGraph(RandomModel("lenet5", 41), d, o), d, 300, "synthetic");
  }
}

// Opt-in full check: QACCEL_FULL_CHECK_MODELS="a.qmodel:mnist,b.qmodel:fashion-mnist"
// compares every ISA path with the reference engine on the whole test split.
TEST(IsaEngine, FullTestSetsWithTrainedModels) {
  const char* spec = std::getenv("QACCEL_FULL_CHECK_MODELS");
  if (!spec || !*spec) GTEST_SKIP() << "set QACCEL_FULL_CHECK_MODELS=model.qmodel:data,...";
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t colon = item.rfind(':');
    ASSERT_NE(colon, std::string::npos) << item;
    const Graph q = LoadModel(item.substr(0, colon));
    const data::Split s = data::LoadNamedDataset(item.substr(colon + 1));
    const std::vector<int8_t> want = engine::Engine(q, {.threads = 2, .reference_kernels = true})
                                         .RunInt8(s.test.pixels.data(), s.test.n);
    for (kf::Isa isa : Paths()) {
      IsaScope scope(isa);
      for (int threads : {1, 2})
        for (int64_t batch : {int64_t{1}, int64_t{7}, int64_t{256}}) {
          engine::Engine e(q, {.threads = threads});
          EXPECT_EQ(RunInBatches(e, s.test, s.test.n, batch), want)
              << item << " " << kf::IsaName(isa) << " threads " << threads << " batch " << batch;
        }
      std::printf(
          "%s: %s equal to the reference on %lld images (batches 1, 7, 256; threads 1, 2)\n",
          item.c_str(), kf::IsaName(isa), static_cast<long long>(s.test.n));
    }
  }
}

}  // namespace
}  // namespace qaccel

namespace qaccel {
namespace {

// The batched early-exit run (Engine::RunInt8Exits via RunWithExits) takes
// every image out at the exit, and with the prediction, that the per-image
// profile (ProfileExits: scores of every exit) says, on every ISA path and
// thread count.
TEST(IsaEngine, BatchedEarlyExitsEqualPerImageDecisions) {
  data::Split real;
  try {
    real = data::LoadNamedDataset("mnist");
  } catch (const std::exception&) {
  }
  const data::Dataset d = real.test.n ? real.test.Head(700) : SyntheticImages(300, 1, 28, 28, 3);
  const data::Dataset cal = real.train.n ? real.train.Head(100) : d;
  quant::QuantizeOptions o;
  o.calibration = 100;
  Graph q = quant::QuantizeGraph(RandomModel("lenet5-branchy", 12), cal, o);
  const engine::ExitProfile p = engine::ProfileExits(q, d, 0, 1);
  std::vector<int64_t> scores(p.score.begin(), p.score.end());
  std::sort(scores.begin(), scores.end());
  // A threshold between two scores near the middle: some images leave, some not.
  const double th = std::ldexp(static_cast<double>(scores[scores.size() / 2]) + 0.5, -16);
  SetExitThresholds(q, {th});
  const int64_t tq = engine::IntEntropyRule::ThresholdQ(th);
  std::vector<int> want_exit(static_cast<size_t>(p.n));
  std::vector<int32_t> want_pred(static_cast<size_t>(p.n));
  for (int64_t i = 0; i < p.n; ++i) {
    const int k = tq > p.score[static_cast<size_t>(i)] ? 0 : 1;
    want_exit[static_cast<size_t>(i)] = k;
    want_pred[static_cast<size_t>(i)] = p.pred[static_cast<size_t>(i * p.num_exits + k)];
  }
  for (kf::Isa isa : Paths()) {
    IsaScope scope(isa);
    for (int threads : {1, 2}) {
      const engine::ExitRunResult r = engine::RunWithExits(q, d, 0, threads);
      EXPECT_EQ(std::vector<int>(r.exit_taken.begin(), r.exit_taken.end()), want_exit)
          << kf::IsaName(isa) << " threads " << threads;
      EXPECT_EQ(r.pred, want_pred) << kf::IsaName(isa) << " threads " << threads;
      EXPECT_GT(r.count[0], 0);
      EXPECT_GT(r.count[1], 0);
    }
  }
}

}  // namespace
}  // namespace qaccel

namespace qaccel {
namespace {

TEST(IsaEngine, ChunkArenaIsBounded) {
  // The default chunk fits; a chunk whose activations would pass
  // kMaxChunkArenaBytes per worker is refused up front, naming the largest.
  const Graph g = RandomModel("lenet5", 3);
  const engine::Engine e(g);
  EXPECT_EQ(e.chunk(), engine::kDefaultChunk);
  const int64_t fit = engine::kMaxChunkArenaBytes / e.activation_bytes();
  try {
    engine::Engine big(g, engine::EngineOptions{1, false, fit + 1});
    ADD_FAILURE() << "a chunk of " << fit + 1 << " images was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("use a chunk of at most " + std::to_string(fit)),
              std::string::npos)
        << err.what();
  }
  EXPECT_EQ(engine::Engine(g, engine::EngineOptions{1, false, fit}).chunk(), fit);
}

}  // namespace
}  // namespace qaccel
