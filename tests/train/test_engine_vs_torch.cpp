// Cross-check: qaccel's own float engine (engine/, no libtorch) computes the
// same logits as the libtorch module built from the same Graph, on real
// images with the shared input convention (pixel / 255). Prints the max
// absolute difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "qaccel/core/rng.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/bridge.h"
#include "qaccel/train/trainer.h"

using namespace qaccel;

namespace {

double MaxAbsDiffOnImages(const Graph& g, const data::Dataset& d, int64_t n) {
  engine::EngineOptions eo;
  eo.threads = 1;
  engine::Engine eng(g, eo);
  std::vector<float> ours = eng.Run(d.image(0), n);
  std::vector<float> input(static_cast<size_t>(n * d.image_size()));
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(d.pixels[i]) / 255.0f;
  std::vector<float> torch_out = train::TorchForward(g, input, n);
  EXPECT_EQ(ours.size(), torch_out.size());
  double m = 0;
  for (size_t i = 0; i < ours.size() && i < torch_out.size(); ++i)
    m = std::max(m, std::fabs(double(ours[i]) - double(torch_out[i])));
  return m;
}

// Every step-th image (the npm test split is sorted by digit).
data::Dataset Spread(const data::Dataset& d, int64_t count) {
  data::Dataset p = d.Head(count);
  const int64_t step = d.n / count;
  for (int64_t i = 0; i < count; ++i) {
    std::copy(d.image(i * step), d.image(i * step) + d.image_size(),
              p.pixels.begin() + i * d.image_size());
    p.labels[static_cast<size_t>(i)] = d.labels[static_cast<size_t>(i * step)];
  }
  return p;
}

}  // namespace

TEST(EngineVsTorch, TrainedLenet5LogitsAgree) {
  static const data::Split s = data::LoadNamedDataset("mnist");
  Graph g = BuildZooModel("lenet5");
  train::TrainOptions o = train::RecipeOptions("default", "mnist");
  o.epochs = 1;
  o.limit_train = 2000;
  o.progress = false;
  train::Train(g, s.train, s.test.Head(100), o, "mnist");
  data::Dataset probe = Spread(s.test, 64);
  double d = MaxAbsDiffOnImages(g, probe, probe.n);
  std::printf("lenet5 (trained 1 epoch): max |engine - torch| logit difference = %.3g %s\n", d,
              d <= 1e-4 ? "OK" : "NOT OK");
  EXPECT_LE(d, 1e-4);
}

TEST(EngineVsTorch, Resnet20WithBatchnormStatsAgrees) {
  static const data::Split s = data::LoadNamedDataset("mnist");
  Graph g = BuildZooModel("resnet20");
  train::InitializeParameters(g, 7, "kaiming");
  Rng rng(3);  // non-trivial batchnorm statistics, as after training
  for (auto& l : g.layers) {
    if (l.kind != OpKind::kBatchNorm) continue;
    for (float& v : l.params["gamma"].data<float>()) v = static_cast<float>(0.5 + rng.Uniform01());
    for (float& v : l.params["beta"].data<float>()) v = static_cast<float>(0.2 * rng.Normal());
    for (float& v : l.params["mean"].data<float>()) v = static_cast<float>(0.2 * rng.Normal());
    for (float& v : l.params["var"].data<float>()) v = static_cast<float>(0.5 + rng.Uniform01());
  }
  data::Dataset probe = Spread(s.test, 16);
  double d = MaxAbsDiffOnImages(g, probe, probe.n);
  std::printf(
      "resnet20 (random weights + BN stats): max |engine - torch| logit difference = %.3g %s\n", d,
      d <= 1e-4 ? "OK" : "NOT OK");
  EXPECT_LE(d, 1e-4);
}
