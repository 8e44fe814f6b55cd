// Training an early-exit graph: the joint loss trains every exit, the exit
// weights are checked and recorded, and a trained trunk can be the start.
#include <gtest/gtest.h>

#include <string>

#include "../common/cli.h"
#include "qaccel/core/error.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/trainer.h"

using namespace qaccel;

namespace {

const data::Split& Digits() {
  static const data::Split s = data::LoadNamedDataset("mnist");
  return s;
}

train::TrainOptions QuickExits(int64_t limit) {
  train::TrainOptions o = train::RecipeOptions("default", "mnist");
  o.epochs = 1;
  o.limit_train = limit;
  o.progress = false;
  o.threads = 1;
  o.batch_size = 32;
  o.warmup_epochs = 0;
  o.augment = "none";
  return o;
}

}  // namespace

TEST(ExitsTrain, JointLossTrainsBothExits) {
  const auto& d = Digits();
  const data::Dataset val = d.test.Head(300);
  Graph g = BuildZooModel("lenet5-branchy");
  auto o = QuickExits(600);
  o.exit_weights = {1.0, 0.3};
  train::Train(g, d.train, val, o, "mnist");
  EXPECT_EQ(g.metadata["training"]["exit_weights"], nlohmann::json({1.0, 0.3}));
  EXPECT_EQ(g.metadata["training"]["options"]["exit_weights"], nlohmann::json({1.0, 0.3}));
  // Every exit learned (10 classes: chance is 0.1).
  const engine::ExitCosts c = engine::ComputeExitCosts(g, nullptr);
  const engine::ExitProfile p = engine::ProfileExits(g, val, 0, 1);
  const engine::ExitOutcome never = engine::ApplyThresholds(p, c, {0.0}, false);
  const engine::ExitOutcome all = engine::ApplyThresholds(p, c, {100.0}, false);
  EXPECT_GT(never.accuracy, 0.6);  // the final exit
  EXPECT_GT(all.accuracy, 0.6);    // exit 1 for every image
  EXPECT_EQ(all.fraction[0], 1.0);
}

TEST(ExitsTrain, WeightCountMismatchIsOneClearError) {
  const auto& d = Digits();
  Graph g = BuildZooModel("lenet5-branchy");
  auto o = QuickExits(64);
  o.exit_weights = {1.0, 0.5, 0.25};
  try {
    train::Train(g, d.train, d.test.Head(10), o, "mnist");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--exit-weights: 3 weight(s) given, model "
                                         "'lenet5-branchy' has 2 exit(s)"),
              std::string::npos)
        << e.what();
  }
  auto r = qaccel::testing::RunCli("train --model lenet5-branchy --data mnist --exit-weights 1 "
                                   "--epochs 1 --limit-train 32 -o /tmp/qaccel_exits_bad.qmodel");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--exit-weights: 1 weight(s) given"), std::string::npos) << r.err;
}

TEST(ExitsTrain, StartsFromATrainedTrunk) {
  const auto& d = Digits();
  Graph trunk = BuildZooModel("lenet5");
  auto o = QuickExits(300);
  train::Train(trunk, d.train, d.test.Head(10), o, "mnist");
  Graph b = BuildZooModel("lenet5-branchy");
  EXPECT_EQ(CopyTrunkParameters(b, trunk), 5);  // conv1, conv2, fc1, fc2, fc3
  EXPECT_EQ(b.layers[b.Find("conv2")].params.at("weight").data<float>()[0],
            trunk.layers[trunk.Find("conv2")].params.at("weight").data<float>()[0]);
  EXPECT_TRUE(b.layers[b.Find("exit1.conv")].params.empty());  // the head starts fresh
}
