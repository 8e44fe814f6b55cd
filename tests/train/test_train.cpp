// Tests of the libtorch bridge and trainer (through their torch-free API) and
// of `qaccel train`'s error handling. Runs in a few seconds: small subsets.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "../common/cli.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/bridge.h"
#include "qaccel/train/trainer.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {
using qaccel::testing::RunCli;

const data::Split& Mnist() {
  static const data::Split s = data::LoadNamedDataset("mnist");
  return s;
}

void FillRandom(Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (auto& l : g.layers) {
    std::vector<std::string> names;
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      names = {"weight"};
      if (l.has_bias) names.push_back("bias");
    } else if (l.kind == OpKind::kBatchNorm) {
      names = {"gamma", "beta", "mean", "var"};
    }
    for (auto& n : names) {
      Tensor t(DType::kF32, ExpectedParamShape(l, n));
      for (float& v : t.data<float>())
        v = n == "var" ? static_cast<float>(0.5 + rng.Uniform01())
                       : static_cast<float>(rng.Normal() * 0.3);
      l.params[n] = t;
    }
  }
}

bool SameParams(const Graph& a, const Graph& b, std::string* diff) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const auto& pa = a.layers[i].params;
    const auto& pb = b.layers[i].params;
    if (pa.size() != pb.size()) {
      *diff = a.layers[i].name + ": parameter count";
      return false;
    }
    for (auto& [n, t] : pa) {
      auto it = pb.find(n);
      if (it == pb.end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype() ||
          std::memcmp(it->second.raw(), t.raw(), t.nbytes()) != 0) {
        *diff = a.layers[i].name + "." + n;
        return false;
      }
    }
  }
  return true;
}

train::TrainOptions Quick(int epochs, int64_t limit) {
  train::TrainOptions o = train::RecipeOptions("default", "mnist");
  o.epochs = epochs;
  o.limit_train = limit;
  o.progress = false;
  o.threads = 1;
  return o;
}

}  // namespace

TEST(Bridge, RoundTripKeepsWeightsExactly) {
  for (const char* name : {"lenet5", "resnet20"}) {
    Graph g = BuildZooModel(name);
    FillRandom(g, 11);
    Graph back = train::RoundTripThroughTorch(g);
    std::string diff;
    EXPECT_TRUE(SameParams(g, back, &diff)) << name << ": " << diff;
    for (auto& l : back.layers)
      for (auto& [n, t] : l.params)
        EXPECT_EQ(t.shape(), ExpectedParamShape(l, n)) << l.name << "." << n;
  }
}

TEST(Bridge, DefaultInitIsSeededKaimingUniform) {
  Graph a = BuildZooModel("lenet5"), b = BuildZooModel("lenet5"), c = BuildZooModel("lenet5");
  train::InitializeParameters(a, 3);
  train::InitializeParameters(b, 3);
  train::InitializeParameters(c, 4);
  std::string diff;
  EXPECT_TRUE(SameParams(a, b, &diff)) << diff;
  EXPECT_FALSE(SameParams(a, c, &diff));
  // kaiming_uniform(a = sqrt 5) and the bias rule both give U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  for (auto& l : a.layers) {
    if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear) continue;
    const Shape& ws = l.params.at("weight").shape();
    int64_t fan_in = NumElements(ws) / ws[0];
    double bound = 1.0 / std::sqrt(static_cast<double>(fan_in)), max_abs = 0;
    for (const char* n : {"weight", "bias"})
      for (float v : l.params.at(n).data<float>())
        max_abs = std::max(max_abs, std::fabs(double(v)));
    EXPECT_LE(max_abs, bound + 1e-7) << l.name;
    EXPECT_GT(max_abs, 0.8 * bound) << l.name;
  }
  // A graph that already has weights keeps them.
  Graph d = a;
  train::InitializeParameters(d, 99);
  EXPECT_TRUE(SameParams(a, d, &diff)) << diff;
}

// A tiny graph with every plain op, checked against loops written here:
// input 1x4x4 -> conv 2x3x3 pad 1 -> relu -> maxpool 2 -> flatten -> linear 3.
TEST(Bridge, ForwardMatchesHandComputationAndIsDeterministic) {
  Graph g;
  g.name = "tiny";
  int x = g.AddInput("input", {1, 4, 4});
  x = g.AddConv("conv", x, 2, 3, 1, 1);
  x = g.AddRelu("relu", x);
  x = g.AddMaxPool("pool", x, 2, 2);
  x = g.AddFlatten("flat", x);
  g.AddLinear("fc", x, 3);
  FillRandom(g, 5);
  std::vector<float> in(2 * 16);
  Rng rng(9);
  for (float& v : in) v = static_cast<float>(rng.Uniform01());
  auto y = train::TorchForward(g, in, 2);
  auto y2 = train::TorchForward(g, in, 2);
  ASSERT_EQ(y.size(), 6u);
  EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), y.size() * sizeof(float)));

  auto W = g.layers[1].params["weight"].data<float>();  // [2,1,3,3]
  auto B = g.layers[1].params["bias"].data<float>();
  auto FW = g.layers[5].params["weight"].data<float>();  // [3,8]
  auto FB = g.layers[5].params["bias"].data<float>();
  for (int n = 0; n < 2; ++n) {
    float conv[2][4][4];
    for (int o = 0; o < 2; ++o)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double acc = B[o];
          for (int ki = 0; ki < 3; ++ki)
            for (int kj = 0; kj < 3; ++kj) {
              int si = i + ki - 1, sj = j + kj - 1;
              if (si < 0 || si >= 4 || sj < 0 || sj >= 4) continue;
              acc += double(W[o * 9 + ki * 3 + kj]) * in[n * 16 + si * 4 + sj];
            }
          conv[o][i][j] = std::max(0.0f, static_cast<float>(acc));
        }
    float flat[8];
    for (int o = 0; o < 2; ++o)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
          flat[o * 4 + i * 2 + j] =
              std::max({conv[o][2 * i][2 * j], conv[o][2 * i][2 * j + 1], conv[o][2 * i + 1][2 * j],
                        conv[o][2 * i + 1][2 * j + 1]});
    for (int k = 0; k < 3; ++k) {
      double acc = FB[k];
      for (int f = 0; f < 8; ++f) acc += double(FW[k * 8 + f]) * flat[f];
      EXPECT_NEAR(y[n * 3 + k], acc, 1e-5) << "sample " << n << " logit " << k;
    }
  }
}

TEST(Trainer, SameSeedGivesIdenticalWeights) {
  const auto& d = Mnist();
  data::Dataset val = d.test.Head(200);
  Graph a = BuildZooModel("lenet5"), b = BuildZooModel("lenet5"), c = BuildZooModel("lenet5");
  auto o = Quick(1, 512);
  train::Train(a, d.train, val, o, "mnist");
  train::Train(b, d.train, val, o, "mnist");
  o.seed = 2;
  train::Train(c, d.train, val, o, "mnist");
  std::string diff;
  EXPECT_TRUE(SameParams(a, b, &diff)) << diff;
  EXPECT_FALSE(SameParams(a, c, &diff));
}

TEST(Trainer, TwoEpochsOnAThousandDigitsBeatChanceByFar) {
  const auto& d = Mnist();
  Graph g = BuildZooModel("lenet5");
  auto o = Quick(2, 1000);  // 1,000 images spread over all ten digits
  o.batch_size = 32;
  o.lr = 0.05;
  o.warmup_epochs = 0;
  o.augment = "none";
  auto r = train::Train(g, d.train, d.test, o, "mnist");
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.train_images, 1000);
  EXPECT_GT(r.history.back().val_accuracy, 0.80);
  EXPECT_EQ(g.metadata["input_transform"], "pixel/255");
  EXPECT_EQ(g.metadata["training"]["seed"], 1);
  // The weights written back into the Graph reproduce the trainer's validation.
  auto e = train::EvaluateInTorch(g, d.test);
  EXPECT_NEAR(e.accuracy, r.history.back().val_accuracy, 1e-12);
  auto csv = train::HistoryCsv(r, 1);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,seed");
}

// ResNet-20 (batchnorm + add) trains through the same bridge, and its
// batchnorm running statistics come back into the Graph.
TEST(Trainer, Resnet20BatchnormStatsComeBack) {
  const auto& d = Mnist();
  data::Dataset val = d.test.Head(100);
  Graph g = BuildZooModel("resnet20");
  auto o = Quick(1, 128);
  o.batch_size = 32;
  o.lr = 0.02;
  auto r = train::Train(g, d.train, val, o, "mnist");
  const auto& mean = g.layers[g.Find("bn1")].params.at("mean").data<float>();
  double s = 0;
  for (float v : mean) s += std::fabs(v);
  EXPECT_GT(s, 0.0) << "running mean still at its initial zeros";
  auto e = train::EvaluateInTorch(g, val);
  EXPECT_NEAR(e.loss, r.history.back().val_loss, 1e-9);
}

TEST(Trainer, RejectsBadOptions) {
  auto o = Quick(0, 10);
  EXPECT_THROW(train::ValidateOptions(o), Error);
  o = Quick(1, 10);
  o.init = "xavier";
  EXPECT_THROW(train::ValidateOptions(o), Error);
  o = Quick(1, 10);
  o.lr = -0.1;
  EXPECT_THROW(train::ValidateOptions(o), Error);
  o = Quick(1, 10);
  o.schedule = "linear";
  EXPECT_THROW(train::ValidateOptions(o), Error);
  EXPECT_THROW(train::RecipeOptions("fast", "mnist"), Error);
  auto s = train::RecipeOptions("source", "mnist");
  EXPECT_EQ(s.batch_size, 32);
  EXPECT_EQ(s.lr, 0.001);
  EXPECT_EQ(s.momentum, 0.9);
  EXPECT_EQ(s.test_batch_size, 1000);
  EXPECT_EQ(s.schedule, "constant");
  EXPECT_EQ(s.init, "torch");
}

TEST(Cli, ErrorsExitNonZeroAndLeaveNoOutput) {
  fs::path dir =
      fs::temp_directory_path() / ("qaccel_test_train_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "m.qmodel").string();
  // {arguments, a word the one-line error must contain}
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--data " + (dir / "no-such-data").string(), "no-such-data"},
      {"--data mnist --epochs 0", "--epochs"},
      {"--data mnist --lr -0.5", "--lr"},
      {"--data mnist --model no-such-model", "no-such-model"},
  };
  for (const auto& [args, word] : bad) {
    auto r = RunCli("train " + args + " --limit-train 50 -q -o " + out);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find("qaccel train: error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(word), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
    EXPECT_TRUE(fs::is_empty(dir)) << args;  // no model, history, curves or temporaries
  }
  fs::remove_all(dir);
}

TEST(Cli, SmallRunWritesModelHistoryAndCurves) {
  fs::path dir =
      fs::temp_directory_path() / ("qaccel_test_train_cli_ok_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string out = (dir / "m.qmodel").string();
  auto r = RunCli("train --data mnist --epochs 1 --limit-train 200 --threads 1 -q -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Graph g = LoadModel(out);
  EXPECT_EQ(g.metadata["input_transform"], "pixel/255");
  EXPECT_EQ(g.metadata["training"]["recipe"], "default");
  EXPECT_EQ(g.metadata["training"]["train_images"], 200);
  EXPECT_TRUE(g.metadata["training"].contains("final_val_accuracy"));
  g.ValidateParameters();
  std::string csv = ReadTextFile(out + ".history.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);
  EXPECT_NE(ReadTextFile(out + ".curves.svg").find("<svg"), std::string::npos);
  fs::remove_all(dir);
}
