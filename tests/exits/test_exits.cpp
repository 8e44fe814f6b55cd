// Early exits: the Graph representation, the integer exit rule, the stopping
// engine run and the expected costs (graph/exits.h, engine/exit_runner.h).
#include <gtest/gtest.h>

#include <cmath>

#include "../common/error_of.h"
#include "../common/test_models.h"
#include "qaccel/accel/cost_model.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/engine/exit_runner.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/quant/quantize.h"

namespace qaccel {
namespace {

using testing::ErrorOf;

TEST(Exits, BranchyZooModelsAndTheirTrunks) {
  Graph b = BuildZooModel("lenet5-branchy");
  std::vector<ExitSpec> ex = ParseExits(b);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].name, "exit1");
  EXPECT_EQ(b.layers[static_cast<size_t>(ex[0].attach)].name, "pool1");
  EXPECT_EQ(b.layers[static_cast<size_t>(ex[0].output())].out_shape, Shape({10}));
  // The trunk is LeNet-5, layer for layer.
  Graph t = StripExits(b), l = BuildZooModel("lenet5");
  ASSERT_EQ(t.layers.size(), l.layers.size());
  for (size_t i = 0; i < t.layers.size(); ++i) {
    EXPECT_EQ(t.layers[i].name, l.layers[i].name);
    EXPECT_EQ(t.layers[i].inputs, l.layers[i].inputs);
  }
  EXPECT_FALSE(HasExits(t));
  Graph r = BuildZooModel("resnet20-branchy");
  ex = ParseExits(r);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(r.layers[static_cast<size_t>(ex[0].attach)].name, "layer1.2.relu2");
  EXPECT_EQ(r.layers[static_cast<size_t>(ex[1].attach)].name, "layer2.2.relu2");
  EXPECT_EQ(StripExits(r).layers.size(), BuildZooModel("resnet20").layers.size());
  EXPECT_FALSE(HasExits(BuildZooModel("lenet5")));  // single-output models are unchanged
}

TEST(Exits, ModelFileRoundTripAndThresholds) {
  Graph g = testing::RandomModel("lenet5-branchy", 3);
  SetExitThresholds(g, {0.25});
  const auto p = testing::ScratchDir("exits_rt") / "b.qmodel";
  SaveModel(g, p);
  Graph h = LoadModel(p);
  std::vector<ExitSpec> ex = ParseExits(h);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_DOUBLE_EQ(ex[0].threshold, 0.25);
  EXPECT_EQ(ex[0].layers, ParseExits(g)[0].layers);
  EXPECT_NE(ErrorOf([&] { SetExitThresholds(h, {0.1, 0.2}); }).find("1 side exits but 2"),
            std::string::npos);
  // A trunk layer reading a head layer is refused, naming it.
  Graph bad = BuildZooModel("lenet5-branchy");
  bad.layers[static_cast<size_t>(bad.Find("conv2"))].inputs = {bad.Find("exit1.relu")};
  EXPECT_NE(ErrorOf([&] { ParseExits(bad); }).find("outside the head reads head layer"),
            std::string::npos);
}

TEST(Exits, IntegerRuleMatchesItsMultiplyFormAndTracksTheFloatEntropy) {
  Rng rng(7);
  int64_t agree = 0, total = 0;
  for (float scale : {0.02f, 0.08f, 0.2f}) {
    engine::IntEntropyRule rule(scale);
    for (int t = 0; t < 3000; ++t) {
      int8_t q[10];
      float f[10];
      const double spread = 10 + 110 * rng.Uniform01();
      for (int j = 0; j < 10; ++j) {
        q[j] = static_cast<int8_t>(std::lround(-128 + spread * rng.Uniform01()));
        f[j] = scale * static_cast<float>(q[j]);
      }
      const double h = engine::Entropy(f, 10);
      const int64_t score = rule.Score(q, 10);
      EXPECT_NEAR(std::ldexp(static_cast<double>(score), -16), h, 2e-4);
      for (double th : {1e-3, 0.01, 0.1, 0.5, 1.0}) {
        const int64_t tq = engine::IntEntropyRule::ThresholdQ(th);
        EXPECT_EQ(rule.Exits(q, 10, tq), tq > score);
        agree += rule.Exits(q, 10, tq) == (h < th);
        ++total;
      }
    }
  }
  EXPECT_GE(static_cast<double>(agree) / static_cast<double>(total), 0.999);
  // One class certain: entropy ~0; all equal: ln(10).
  int8_t sure[10] = {127, -128, -128, -128, -128, -128, -128, -128, -128, -128};
  int8_t flat[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
  engine::IntEntropyRule r(0.1f);
  EXPECT_LT(r.Score(sure, 10), 4);
  EXPECT_NEAR(std::ldexp(static_cast<double>(r.Score(flat, 10)), -16), std::log(10.0), 0.003);
}

TEST(Exits, EngineStopsEarlyAndAgreesWithTheProfile) {
  Graph f = testing::RandomModel("lenet5-branchy", 5);
  data::Dataset d = testing::SyntheticImages(64, 1, 28, 28, 9);
  quant::QuantizeOptions qo;
  qo.calibration = 32;
  Graph q = quant::QuantizeGraph(f, d, qo);
  for (const Graph* g : {&f, &q}) {
    const engine::ExitCosts c = engine::ComputeExitCosts(*g, nullptr);
    const engine::ExitProfile p = engine::ProfileExits(*g, d, 0, 2);
    // A middle threshold: some images leave, some do not.
    std::vector<double> es(p.entropy.begin(), p.entropy.end());
    std::sort(es.begin(), es.end());
    const double th = es[es.size() / 2];
    Graph gt = *g;
    SetExitThresholds(gt, {th});
    const engine::ExitRunResult r = engine::RunWithExits(gt, d, 0, 2);
    const engine::ExitOutcome o = engine::ApplyThresholds(p, c, {th}, true);
    EXPECT_EQ(r.count, o.count);
    EXPECT_GT(r.count[0], 0);
    EXPECT_GT(r.count[1], 0);
    EXPECT_NEAR(r.accuracy, o.accuracy, 1e-12);
    // Leaving at exit 1 costs conv1 + the head; the final exit everything.
    EXPECT_EQ(c.trunk_macs[0], 6 * 28 * 28 * 25.0);
    EXPECT_EQ(c.head_macs[0], 8 * 7 * 7 * 24.0 + 392 * 10);
    EXPECT_EQ(c.full_macs, 416520.0);
    EXPECT_EQ(c.macs[1], 416520.0 + c.head_macs[0]);
    EXPECT_NEAR(o.expected_macs, o.fraction[0] * c.macs[0] + o.fraction[1] * c.macs[1], 1e-6);
  }
  // The engine really stops: the layers after the exit never run.
  engine::Engine e(q);
  std::vector<uint8_t> arena(static_cast<size_t>(e.arena_bytes()));
  const int out = ParseExits(q)[0].output();
  int last = -1;
  EXPECT_EQ(e.RunInt8Until(d.pixels.data(), arena.data(),
                           [&](int layer, const int8_t*, int64_t) {
                             last = layer;
                             return layer == out;
                           }),
            out);
  EXPECT_EQ(last, out);
}

TEST(Exits, ExpectedCyclesFromTheCostModel) {
  Graph g = BuildZooModel("lenet5-branchy");
  accel::ArchConfig a;
  a.array_rows = a.array_cols = 16;
  a.dataflow = accel::Dataflow::kOutputStationary;
  const engine::ExitCosts c = engine::ComputeExitCosts(g, &a);
  ASSERT_TRUE(c.has_cycles);
  const engine::ExitCosts t = engine::ComputeExitCosts(BuildZooModel("lenet5"), &a);
  EXPECT_EQ(c.full_cycles, t.full_cycles);  // the trunk is LeNet-5
  EXPECT_GT(c.head_cycles[0], 0);
  EXPECT_LT(c.cycles[0], c.full_cycles / 2);
  EXPECT_EQ(c.cycles[1], c.full_cycles + c.head_cycles[0]);
}

}  // namespace
}  // namespace qaccel

namespace qaccel {
namespace {

// The commands of the issue on a small quantized model and synthetic digits:
// qaccel exits writes the front and the chosen model, qaccel eval reads its
// thresholds back with the expected and full cycles, export carries the rule.
TEST(ExitsCli, SweepPickEvalAndExport) {
  const auto dir = testing::ScratchDir("exits_cli");
  data::Dataset train = testing::SyntheticImages(64, 1, 28, 28, 3);
  data::Dataset test = testing::SyntheticImages(48, 1, 28, 28, 4);
  testing::WriteIdxDir(dir / "data", train, test);
  quant::QuantizeOptions qo;
  qo.calibration = 32;
  Graph q = quant::QuantizeGraph(testing::RandomModel("lenet5-branchy", 5), train, qo);
  SaveModel(q, dir / "q.qmodel");
  const std::string cfg = std::string(QACCEL_SOURCE_DIR) + "/examples/os_16x16.cfg";
  const std::string data = (dir / "data").string();
  // A loss of 100 points allows everything: the cheapest point, every image at exit 1.
  auto r = testing::RunCli("exits " + (dir / "q.qmodel").string() + " --data " + data + " -c " +
                               cfg + " --max-loss 100 -o " + (dir / "out").string(),
                           dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"front.csv", "front.svg", "chosen.qmodel", "summary.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / f)) << f;
  const std::string csv = ReadTextFile(dir / "out" / "front.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "threshold_exit1,accuracy,loss_points,fraction_exit1,fraction_final,expected_macs,"
            "expected_cycles,cycle_speedup,mac_reduction,rule_agreement,on_front,chosen");
  Graph chosen = LoadModel(dir / "out" / "chosen.qmodel");
  EXPECT_DOUBLE_EQ(ParseExits(chosen)[0].threshold, 2.5);  // above ln 10: everyone leaves
  r = testing::RunCli("eval " + (dir / "out" / "chosen.qmodel").string() + " --data " + data +
                          " -c " + cfg + " --json",
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 48);
  EXPECT_EQ(j["exit_fractions"], nlohmann::json({1.0, 0.0}));
  EXPECT_EQ(j["full_cycles"], 8404.0);  // LeNet-5 on the 16x16 OS array (the figure)
  EXPECT_EQ(j["expected_cycles"], j["exit_cycles"][0]);
  EXPECT_LT(j["expected_cycles"].get<double>(), 8404.0 / 2);
  // Export: the exit's placement and integer rule with its tables.
  r = testing::RunCli("export " + (dir / "out" / "chosen.qmodel").string() + " -o " +
                          (dir / "exp").string(),
                      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto m = nlohmann::json::parse(ReadTextFile(dir / "exp" / "manifest.json"));
  ASSERT_TRUE(m.contains("exits"));
  EXPECT_EQ(m["exits"]["side_exits"][0]["attach"], "pool1");
  EXPECT_EQ(m["exits"]["side_exits"][0]["threshold_q16"], 163840);
  EXPECT_EQ(m["exits"]["side_exits"][0]["rule"]["LN"].size(), 257u);
  // A model without side exits: one clear line.
  SaveModel(testing::RandomModel("lenet5", 1), dir / "plain.qmodel");
  r = testing::RunCli("exits " + (dir / "plain.qmodel").string() + " --data " + data + " -o " +
                          (dir / "out2").string(),
                      dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no side exits"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qaccel
