// NetAdapt without libtorch: blocks and residual groups, filter pruning
// (numerics and shapes), the resource metrics against whole-network
// simulation, and the search loop with a deterministic stand-in fine-tuner:
// schedule, budget, history, thread-count independence and resumption.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "../common/test_models.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/adapt/netadapt.h"
#include "qaccel/adapt/prune.h"
#include "qaccel/core/file_io.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"

namespace fs = std::filesystem;
using namespace qaccel;
using namespace qaccel::adapt;

namespace {

std::vector<std::string> Names(const std::vector<Block>& bs) {
  std::vector<std::string> n;
  for (const Block& b : bs) n.push_back(b.name + ":" + std::to_string(b.width));
  return n;
}

ResourceContext Array16() {
  ResourceContext ctx;
  auto cfg = accel::ReadScaleSimConfig(std::string(QACCEL_SOURCE_DIR) + "/examples/os_16x16_64k.cfg");
  ctx.arch = cfg.arch;
  ctx.energy = cfg.energy;
  ctx.area = cfg.area;
  return ctx;
}

}  // namespace

TEST(AdaptBlocks, LenetBlocksExcludeTheClassifier) {
  const Graph g = qaccel::testing::RandomModel("lenet5", 1);
  EXPECT_EQ(Names(FindBlocks(g)),
            (std::vector<std::string>{"conv1:6", "conv2:16", "fc1:120", "fc2:84"}));
  const Block fc_in = FindBlocks(g)[1];  // conv2 -> pool -> flatten -> fc1: 25 features per channel
  ASSERT_EQ(fc_in.consumers.size(), 1u);
  EXPECT_EQ(fc_in.consumers[0].second, 25);
}

TEST(AdaptBlocks, ResnetResidualGroupsArePrunedTogether) {
  Graph g = qaccel::testing::RandomModel("resnet20", 2);
  const std::vector<Block> blocks = FindBlocks(g);
  // 3 residual groups (one per stage: stem or shortcut + every block's conv2) + 9 inner convs.
  ASSERT_EQ(blocks.size(), 12u);
  const Block& stage1 = blocks[0];
  EXPECT_EQ(stage1.name, "conv1+3");
  EXPECT_EQ(stage1.producers.size(), 4u);
  EXPECT_EQ(stage1.width, 16);
  PruneBlock(g, stage1, 11);
  for (int p : stage1.producers) EXPECT_EQ(g.layers[static_cast<size_t>(p)].out_channels, 11);
  g.ValidateParameters();  // every batchnorm and consumer sliced consistently
  const engine::Engine e(g);
  std::vector<uint8_t> px(784, 100);
  EXPECT_EQ(e.Run(px.data(), 1).size(), 10u);
}

TEST(AdaptPrune, ZeroFiltersArePrunedFirstAndChangeNothing) {
  Graph g = qaccel::testing::RandomModel("lenet5", 3);
  // conv1's filter 2 and conv2's filters 5 and 9 are dead: zero weights and bias.
  auto kill = [&](const std::string& layer, int64_t c) {
    Layer& l = g.layers[static_cast<size_t>(g.Find(layer))];
    auto w = l.params["weight"].data<float>();
    const size_t per = w.size() / static_cast<size_t>(l.out_channels);
    for (size_t k = 0; k < per; ++k) w[static_cast<size_t>(c) * per + k] = 0;
    l.params["bias"].data<float>()[static_cast<size_t>(c)] = 0;
  };
  kill("conv1", 2);
  kill("conv2", 5);
  kill("conv2", 9);
  const engine::Engine before(g);
  Graph p = g;
  EXPECT_EQ(ChannelsToKeep(p, FindBlocks(p)[0], 5), (std::vector<int64_t>{0, 1, 3, 4, 5}));
  PruneBlock(p, FindBlocks(p)[0], 5);
  PruneBlock(p, FindBlocks(p)[1], 14);
  EXPECT_EQ(p.layers[static_cast<size_t>(p.Find("fc1"))].in_channels, 14 * 25);
  p.ValidateParameters();
  const engine::Engine after(p);
  const data::Dataset d = qaccel::testing::SyntheticImages(8, 1, 28, 28, 5);
  const std::vector<float> a = before.Run(d.pixels.data(), d.n), b = after.Run(d.pixels.data(), d.n);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4f * (1 + std::fabs(a[i])));
}

TEST(AdaptResource, CyclesAreTheWholeNetworkSimulation) {
  const ResourceContext ctx = Array16();
  const Graph g = qaccel::testing::RandomModel("lenet5", 4);
  // The figure: LeNet-5 on the 16x16 OS array with 64 kB SRAMs, CALC.
  EXPECT_EQ(MeasureMetric("cycles", g, ctx), 8404);
  accel::ArchConfig a = ctx.arch;
  const accel::Topology t = accel::TopologyFromGraph(g);
  a.word_bytes = t.word_bytes;
  const auto layers = accel::SimulateNetwork(a, t.layers);
  int64_t sum = 0;
  for (const auto& m : layers) sum += m.total_cycles;
  EXPECT_EQ(sum, 8404);
  EXPECT_EQ(layers[0].total_cycles, 2694);  // conv1
  EXPECT_EQ(layers[2].total_cycles, 3439);  // fc1
  // conv1's filters do not shorten it; conv2's (fc1's inputs) do.
  Graph p = StructureOf(g);
  PruneBlock(p, FindBlocks(p)[0], 3);
  EXPECT_EQ(accel::SimulateNetwork(a, accel::TopologyFromGraph(p).layers)[0].total_cycles, 2694);
  Graph q = StructureOf(g);
  PruneBlock(q, FindBlocks(q)[1], 8);
  EXPECT_LT(MeasureMetric("cycles", q, ctx), 8404 - 1000);
  EXPECT_EQ(MeasureMetric("macs", g, ctx), 416520);
}

TEST(AdaptResource, BudgetsAndBadOptions) {
  EXPECT_DOUBLE_EQ(ParseBudget("0.5x", 1000), 500);
  EXPECT_DOUBLE_EQ(ParseBudget("600", 1000), 600);
  EXPECT_THROW(ParseBudget("1.5x", 1000), Error);
  EXPECT_THROW(ParseBudget("abc", 1000), Error);
  EXPECT_THROW(ParseBudget("-3", 1000), Error);
  EXPECT_THROW(CanonicalMetric("furlongs"), Error);
  EXPECT_EQ(CanonicalMetric("total_cycles"), "cycles");
  AdaptOptions o;
  o.budget = "0.5x";
  o.select = "best";
  EXPECT_THROW(ValidateAdaptOptions(o), Error);
}

TEST(AdaptResource, LatencyTableInterpolatesAndPersists) {
  const fs::path dir = qaccel::testing::ScratchDir("adapt_lut");
  const Graph g = qaccel::testing::RandomModel("lenet5", 5);
  LatencyTable t((dir / "lut.tsv").string(), 1, 3);
  const double full = t.NetworkMicros(g);
  EXPECT_GT(full, 0);
  const size_t entries = t.size();
  t.Save();
  LatencyTable again((dir / "lut.tsv").string(), 1, 3);
  EXPECT_EQ(again.size(), entries);
  EXPECT_EQ(again.NetworkMicros(g), full);  // entries are kept as saved
  EXPECT_EQ(again.size(), entries);  // nothing measured again
  fs::remove_all(dir);
}

namespace {

// A deterministic stand-in for fine-tuning: perturbs the weights by the seed
// and scores a network by its widths (wider = more accurate, conv1 matters most).
FineTuner FakeTuner(int* calls_before_crash) {
  FineTuner f;
  f.short_term = [calls_before_crash](Graph& g, uint64_t seed) {
    if (calls_before_crash && (*calls_before_crash)-- == 0) throw Error("simulated crash");
    Rng r(seed);
    for (Layer& l : g.layers)
      if (l.params.count("bias"))
        for (float& v : l.params["bias"].data<float>()) v += static_cast<float>(r.Uniform01() * 1e-3);
  };
  f.holdout_accuracy = [](const Graph& g) {
    double a = 0.5;
    for (const Layer& l : g.layers)
      if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear)
        a += (l.name == "conv1" ? 0.05 : 0.001) * std::log(static_cast<double>(l.out_channels));
    double b = 0;
    for (const Layer& l : g.layers)
      if (l.params.count("bias")) b += l.params.at("bias").data<float>()[0];
    return std::min(0.99, a + 1e-6 * b);
  };
  f.long_term = [](Graph& g, const fs::path&) { g.metadata["long_term"] = true; };
  return f;
}

AdaptResult RunSearch(const fs::path& out, int threads, bool resume, int* crash = nullptr,
                      const std::string& select = "highest-accuracy") {
  AdaptOptions o;
  o.select = select;
  o.metric = "cycles";
  o.budget = "0.8x";
  o.init_reduction = 0.06;
  o.threads = threads;
  o.progress = false;
  o.seed = 9;
  const Graph g = qaccel::testing::RandomModel("lenet5", 6);
  return RunNetAdapt(g, o, Array16(), FakeTuner(crash), out, resume, {{"test", 1}},
                     {{"command_line", "test"}});
}

}  // namespace

TEST(AdaptSearch, MeetsTheBudgetReproduciblyAndResumes) {
  const fs::path dir = qaccel::testing::ScratchDir("adapt_search");
  const AdaptResult r = RunSearch(dir / "a", 1, false);
  EXPECT_LE(r.final_value, 0.8 * 8404);
  EXPECT_EQ(r.stop_reason, "budget met");
  ASSERT_GE(r.history.size(), 3u);
  // Each iteration met its target: start - 0.06 * start * 0.96^(i-1) below the previous.
  for (size_t i = 1; i < r.history.size(); ++i) {
    auto cyc = [&](size_t k) {
      for (auto& [n, v] : r.history[k].metrics)
        if (n == "cycles") return v;
      return -1.0;
    };
    EXPECT_LE(cyc(i), cyc(i - 1) - 0.06 * 8404 * std::pow(0.96, double(i - 1)) + 1e-9) << i;
    EXPECT_NE(r.history[i].block, "conv1");  // removing conv1 filters never saves cycles here
  }
  const std::string csv = ReadTextFile(dir / "a" / "history.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "iteration,block,holdout_accuracy,macs,params,weight_bytes,cycles,stall_cycles,"
            "dram_bytes,energy,edp,ch_conv1,ch_conv2,ch_fc1,ch_fc2,ch_fc3");
  for (const char* f : {"adapted.qmodel", "iter_1.qmodel", "manifest.json", "accuracy_vs_cycles.svg",
                        "candidates.csv"})
    EXPECT_TRUE(fs::exists(dir / "a" / f)) << f;
  EXPECT_FALSE(fs::exists(WorkDirFor(dir / "a")));
  const Graph adapted = LoadModel(dir / "a" / "adapted.qmodel");
  EXPECT_EQ(adapted.metadata["adapt"]["metric"], "cycles");

  // Two threads: byte-identical outputs.
  RunSearch(dir / "b", 2, false);
  EXPECT_EQ(ReadTextFile(dir / "b" / "history.csv"), csv);
  EXPECT_EQ(ReadBinaryFile(dir / "b" / "adapted.qmodel"), ReadBinaryFile(dir / "a" / "adapted.qmodel"));

  // Crash in iteration 2 (after 4 + 1 fine-tunes), then resume.
  int crash = 5;
  EXPECT_THROW(RunSearch(dir / "c", 1, false, &crash), Error);
  EXPECT_TRUE(fs::exists(WorkDirFor(dir / "c") / "iter_1.qmodel"));
  EXPECT_FALSE(fs::exists(dir / "c"));
  EXPECT_THROW(RunSearch(dir / "c", 1, false), Error);  // an interrupted run needs --resume
  RunSearch(dir / "c", 2, true);
  EXPECT_EQ(ReadTextFile(dir / "c" / "history.csv"), csv);
  EXPECT_EQ(ReadTextFile(dir / "c" / "candidates.csv"), ReadTextFile(dir / "a" / "candidates.csv"));
  EXPECT_EQ(ReadBinaryFile(dir / "c" / "adapted.qmodel"), ReadBinaryFile(dir / "a" / "adapted.qmodel"));
  fs::remove_all(dir);
}

// Both selection rules, checked against every candidate the search recorded.
TEST(AdaptSearch, SelectionRulesPickFromTheRecordedCandidates) {
  const fs::path dir = qaccel::testing::ScratchDir("adapt_select");
  for (const std::string select : {"highest-accuracy", "least-drop-per-resource"}) {
    const AdaptResult r = RunSearch(dir / select, 2, false, nullptr, select);
    EXPECT_EQ(r.stop_reason, "budget met") << select;
    std::istringstream in(ReadTextFile(dir / select / "candidates.csv"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "iteration,block,width,cycles,holdout_accuracy,chosen");
    struct C {
      int it;
      double value, acc;
      bool chosen;
    };
    std::vector<C> cands;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
      ASSERT_EQ(f.size(), 6u) << line;
      cands.push_back({std::stoi(f[0]), std::stod(f[3]), std::stod(f[4]), f[5] == "1"});
    }
    for (size_t i = 1; i < r.history.size(); ++i) {
      double prev_value = 0;
      for (auto& [n, v] : r.history[i - 1].metrics)
        if (n == "cycles") prev_value = v;
      auto score = [&](const C& c) {
        return select == "highest-accuracy"
                   ? c.acc
                   : -(r.history[i - 1].holdout_accuracy - c.acc) / (prev_value - c.value);
      };
      int chosen = 0;
      double best = -1e300, chosen_score = 0;
      for (const C& c : cands)
        if (c.it == static_cast<int>(i)) {
          best = std::max(best, score(c));
          if (c.chosen) ++chosen, chosen_score = score(c);
        }
      EXPECT_EQ(chosen, 1) << select << " iteration " << i;
      EXPECT_NEAR(chosen_score, best, 1e-6) << select << " iteration " << i;
    }
  }
  fs::remove_all(dir);
}
