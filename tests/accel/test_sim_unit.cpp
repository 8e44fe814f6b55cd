// Unit tests of the simulator core: float formatting, folding arithmetic,
// thread safety of the cost model, config/topology parse errors and the
// `qaccel sim` command line (non-zero exit, nothing left behind).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"

namespace fs = std::filesystem;
using namespace qaccel::accel;

namespace {

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const qaccel::Error& e) {
    return e.what();
  }
  return "";
}

const char* kGoodCfg = R"([general]
run_name = unit

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     16
IfmapSramSzkB:  4
FilterSramSzkB: 4
OfmapSramSzkB:  2
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
)";

TEST(FormatPyFloat, MatchesPythonRepr) {
  EXPECT_EQ(FormatPyFloat(1.0), "1.0");
  EXPECT_EQ(FormatPyFloat(-58.0), "-58.0");
  EXPECT_EQ(FormatPyFloat(0.1), "0.1");
  EXPECT_EQ(FormatPyFloat(37.32581287325813), "37.32581287325813");
  EXPECT_EQ(FormatPyFloat(1e16), "1e+16");
  EXPECT_EQ(FormatPyFloat(1.5e16), "1.5e+16");
  EXPECT_EQ(FormatPyFloat(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(FormatPyFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatPyFloat(0.00001), "1e-05");
  EXPECT_EQ(FormatPyFloat(2.5e-07), "2.5e-07");
  EXPECT_EQ(FormatPyFloat(0.0), "0.0");
  EXPECT_EQ(FormatPyFloat(100.0), "100.0");
}

ArchConfig Arch(int rows, int cols, Dataflow df) {
  ArchConfig a;
  a.array_rows = rows;
  a.array_cols = cols;
  a.dataflow = df;
  a.ifmap_sram_kb = a.filter_sram_kb = a.ofmap_sram_kb = 64;
  return a;
}

TEST(Folding, LayerSmallerThanArrayIsOneFold) {
  LayerSpec l;
  l.name = "small";
  l.ifmap_h = 3;
  l.ifmap_w = 3;
  l.channels = 2;
  l.num_filters = 3;
  const auto m = SimulateLayer(Arch(16, 16, Dataflow::kOutputStationary), l);
  // One fold, 9 pixels x 3 filters mapped on a 16x16 array; T = 2.
  EXPECT_DOUBLE_EQ(m.mapping_efficiency_pct, 9.0 * 3.0 / 256.0 * 100);
  EXPECT_EQ(m.total_cycles, (2 + 16 + 16 - 2) - 1);  // fold length - 1, no stalls
  EXPECT_EQ(m.stall_cycles, 0);
  EXPECT_EQ(m.ifmap_sram_reads, 2 * 9);
  EXPECT_EQ(m.filter_sram_reads, 2 * 3);
  EXPECT_EQ(m.macs, 9 * 3 * 2);
}

TEST(Folding, FoldCountsPerDataflow) {
  // M = 10x10 = 100 pixels, K = 3*3*4 = 36, N = 20 filters on 8x16.
  LayerSpec l{"c", 12, 12, 3, 3, 4, 20, 1, 1};
  const int64_t M = 100, K = 36, N = 20, R = 8, C = 16;
  auto folds = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  {
    const auto m = SimulateLayer(Arch(R, C, Dataflow::kOutputStationary), l);
    const int64_t f = folds(M, R) * folds(N, C);
    EXPECT_EQ(m.total_cycles, f * (K + R + C - 2) - 1);
    EXPECT_EQ(m.ifmap_sram_reads, folds(N, C) * M * K);
    EXPECT_EQ(m.filter_sram_reads, folds(M, R) * K * N);
    EXPECT_EQ(m.ofmap_sram_writes, M * N + f * (R + C));  // SCALE-Sim's extra R + C per fold
  }
  {
    const auto m = SimulateLayer(Arch(R, C, Dataflow::kWeightStationary), l);
    const int64_t f = folds(K, R) * folds(N, C);
    EXPECT_EQ(m.total_cycles, f * (M + 2 * R + C - 2) - 1);
    EXPECT_EQ(m.filter_sram_reads, K * N);
    EXPECT_EQ(m.ofmap_sram_writes, folds(K, R) * M * N);
  }
  {
    const auto m = SimulateLayer(Arch(R, C, Dataflow::kInputStationary), l);
    const int64_t f = folds(K, R) * folds(M, C);
    EXPECT_EQ(m.total_cycles, f * (N + 2 * R + C - 2) - 1);
    EXPECT_EQ(m.ifmap_sram_reads, K * M);
  }
}

TEST(Folding, GemmMapping) {
  const LayerSpec g = LayerSpec::Gemm("g", 7, 5, 11);
  EXPECT_EQ(g.ofmap_h(), 7);
  EXPECT_EQ(g.ofmap_w(), 1);
  EXPECT_EQ(g.window_size(), 11);
  EXPECT_EQ(g.macs(), 7 * 5 * 11);
}

TEST(Folding, RaggedStrideReadsNoInvalidAddresses) {
  // 10x11 input, 3x3 filter, stride 2: the last window column pokes out.
  LayerSpec l{"r", 10, 11, 3, 3, 1, 2, 2, 2};
  EXPECT_EQ(l.ofmap_h(), 5);  // ceil((10 - 3 + 2) / 2)
  EXPECT_EQ(l.ofmap_w(), 5);
  const auto m = SimulateLayer(Arch(4, 4, Dataflow::kOutputStationary), l);
  EXPECT_EQ(m.ifmap_dram_reads, 10 * 11);  // every pixel once, invalid ones never
}

TEST(CostModel, ThreadSafeAndDeterministic) {
  const std::vector<LayerSpec> layers = {{"a", 20, 20, 3, 3, 8, 16, 1, 1},
                                         {"b", 9, 9, 1, 1, 32, 40, 1, 1}};
  ArchConfig small = Arch(8, 8, Dataflow::kWeightStationary);
  small.ifmap_sram_kb = small.filter_sram_kb = small.ofmap_sram_kb = 1;
  small.bw_mode = BandwidthMode::kUser;
  small.bandwidth_words_per_cycle = 4;
  const auto ref = SimulateNetwork(small, layers);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      const auto got = SimulateNetwork(small, layers);
      ok[t] = ComputeReportCsv(got) == ComputeReportCsv(ref) &&
              DetailedAccessReportCsv(got) == DetailedAccessReportCsv(ref);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
  EXPECT_GT(ref[0].stall_cycles, 0);  // small SRAM + 4 words/cycle does stall
}

TEST(CostModel, WordBytesScaleSramCapacity) {
  // 2-byte words in 4 kB SRAMs behave like SCALE-Sim's 1-byte words in 2 kB;
  // the byte counters scale by 2.
  const LayerSpec l{"c", 20, 20, 3, 3, 16, 24, 1, 1};
  ArchConfig two = Arch(8, 8, Dataflow::kOutputStationary);
  two.ifmap_sram_kb = two.filter_sram_kb = two.ofmap_sram_kb = 4;
  two.word_bytes = 2;
  ArchConfig one = two;
  one.ifmap_sram_kb = one.filter_sram_kb = one.ofmap_sram_kb = 2;
  one.word_bytes = 1;
  for (auto mode : {BandwidthMode::kCalc, BandwidthMode::kUser}) {
    two.bw_mode = one.bw_mode = mode;
    const auto a = SimulateLayer(two, l), b = SimulateLayer(one, l);
    EXPECT_EQ(DetailedAccessReportCsv({a}), DetailedAccessReportCsv({b}));
    EXPECT_EQ(ComputeReportCsv({a}), ComputeReportCsv({b}));
    EXPECT_EQ(a.dram_read_bytes(), 2 * b.dram_read_bytes());
    EXPECT_EQ(a.ofmap_dram_write_bytes(), 2 * b.ofmap_dram_writes);
  }
}

TEST(CostModel, RejectsBadInput) {
  LayerSpec l{"x", 4, 4, 5, 1, 1, 1, 1, 1};
  EXPECT_NE(ErrorOf([&] {
              SimulateLayer(Arch(4, 4, Dataflow::kOutputStationary), l);
            }).find("filter height"),
            std::string::npos);
  LayerSpec ok{"y", 4, 4, 1, 1, 1, 1, 1, 1};
  ArchConfig a = Arch(0, 4, Dataflow::kOutputStationary);
  EXPECT_FALSE(ErrorOf([&] { SimulateLayer(a, ok); }).empty());
}

TEST(ConfigReader, ReadsEveryField) {
  const auto c = ParseScaleSimConfig(kGoodCfg, "good.cfg");
  EXPECT_EQ(c.arch.run_name, "unit");
  EXPECT_EQ(c.arch.array_rows, 8);
  EXPECT_EQ(c.arch.array_cols, 16);
  EXPECT_EQ(c.arch.ifmap_sram_kb, 4);
  EXPECT_EQ(c.arch.ofmap_sram_kb, 2);
  EXPECT_EQ(c.arch.filter_offset, 10000000);
  EXPECT_EQ(c.arch.dataflow, Dataflow::kOutputStationary);
  EXPECT_EQ(c.arch.bw_mode, BandwidthMode::kCalc);
  EXPECT_EQ(c.arch.bandwidth_words_per_cycle, 10);
  EXPECT_DOUBLE_EQ(c.energy.dram_read_pj, EnergyTable{}.dram_read_pj);  // no [energy]: defaults
}

TEST(ConfigReader, EnergySectionsAreReadWithTheConfig) {
  const std::string sections = "[energy]\ndram_read_pj = 150\n[area]\npe_mm2 = 0.01\n";
  const auto c = ParseScaleSimConfig(kGoodCfg + sections, "good.cfg");
  EXPECT_DOUBLE_EQ(c.energy.dram_read_pj, 150);
  EXPECT_DOUBLE_EQ(c.energy.dram_write_pj, EnergyTable{}.dram_write_pj);
  EXPECT_DOUBLE_EQ(c.area.pe_mm2, 0.01);
  const std::string bad = kGoodCfg + std::string("[energy]\nsram_rd_pj = 3\n");
  const std::string e = ErrorOf([&] { ParseScaleSimConfig(bad, "g.cfg"); });
  EXPECT_NE(e.find("unknown key 'sram_rd_pj' in [energy]"), std::string::npos) << e;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(ConfigReader, ErrorsNameFileAndLine) {
  auto err = [](const std::string& text) {
    return ErrorOf([&] { ParseScaleSimConfig(text, "a.cfg"); });
  };
  EXPECT_EQ(err(Replace(kGoodCfg, "Dataflow : os", "Dataflow : xs")),
            "a.cfg:14: unknown dataflow 'xs' (use os, ws, is or rs)");
  EXPECT_EQ(err(Replace(kGoodCfg, "ArrayHeight:    8", "ArrayHeight: eight")),
            "a.cfg:5: ArrayHeight must be an integer, got 'eight'");
  EXPECT_EQ(err(Replace(kGoodCfg, "IfmapSramSzkB:  4", "IfmapSramSzkB:  0")),
            "a.cfg:7: IfmapSramSzkB must be > 0, got 0");
  EXPECT_EQ(err(Replace(kGoodCfg, "ArrayWidth:     16", "ArrayWidth: -3")),
            "a.cfg:6: ArrayWidth must be >= 1, got -3");
  EXPECT_EQ(err(Replace(kGoodCfg, "OfmapSramSzkB:  2\n", "")),
            "a.cfg:4: section [architecture_presets] has no key 'OfmapSramSzkB'");
  EXPECT_EQ(err(Replace(kGoodCfg, "InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST")),
            "a.cfg:18: InterfaceBandwidth must be USER or CALC, got 'FAST'");
  EXPECT_EQ(err(Replace(kGoodCfg, "[general]\nrun_name = unit\n", "")),
            "a.cfg:16: missing section [general]");
  // A bad Bandwidth is ignored in CALC mode (as SCALE-Sim, which reads it only in USER mode).
  EXPECT_EQ(err(Replace(kGoodCfg, "Bandwidth : 10", "Bandwidth : lots")), "");
  std::string user =
      Replace(Replace(kGoodCfg, "CALC", "USER"), "Bandwidth : 10", "Bandwidth : lots");
  EXPECT_EQ(err(user), "a.cfg:13: Bandwidth must be a positive integer (words/cycle), got 'lots'");
}

TEST(TopologyReader, TolerantOfSpacingAndTrailingCommas) {
  const auto l = ParseTopology(
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n"
      "  c1 ,  32,32, 5, 5, 1, 6, 1,\n"
      "\n"
      "c2,14,14,5,5,6,16,2\n"
      "c3, 15, 17, 3, 3, 4, 4, 2, 3,\n",
      "t.csv", TopologyFormat::kConv);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].name, "c1");
  EXPECT_EQ(l[0].ifmap_h, 32);
  EXPECT_EQ(l[1].stride_w, 2);
  EXPECT_EQ(l[2].stride_h, 2);
  EXPECT_EQ(l[2].stride_w, 3);
  const auto g =
      ParseTopology("Layer, M, N, K,\nfc1, 1, 120, 400,\n", "g.csv", TopologyFormat::kGemm);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].ifmap_w, 400);
  EXPECT_EQ(g[0].num_filters, 120);
}

TEST(TopologyReader, DepthwiseLayersExpandPerChannel) {
  const auto l =
      ParseTopology("h,a,b\nDP1, 8, 8, 3, 3, 4, 1, 1,\n", "t.csv", TopologyFormat::kConv);
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[3].name, "DP1Channel_3");
  EXPECT_EQ(l[3].channels, 1);
}

TEST(TopologyReader, ErrorsNameFileAndLine) {
  auto err = [](const std::string& text, TopologyFormat f = TopologyFormat::kConv) {
    return ErrorOf([&] { ParseTopology(text, "t.csv", f); });
  };
  const std::string hdr =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n";
  EXPECT_EQ(err(hdr), "t.csv:1: topology has no layers");
  EXPECT_EQ(err(hdr + "c1, 32, x, 5, 5, 1, 6, 1,\n"),
            "t.csv:2: field 'IFMAP Width' must be an integer, got 'x'");
  EXPECT_EQ(err(hdr + "c1, 32, 32, 5, 5, 1, 6,\n").substr(0, 38),
            "t.csv:2: expected 8 or 9 fields (Layer");
  EXPECT_EQ(err(hdr + "c1, 32, 32, 5, 5, 0, 6, 1,\n"),
            "t.csv:2: field 'Channels' must be >= 1, got 0");
  EXPECT_EQ(err(hdr + "c1, 4, 4, 5, 5, 1, 6, 1,\n"),
            "t.csv:2: Filter Height is larger than IFMAP Height");
  EXPECT_EQ(err("Layer, M, N, K,\nfc, 1, 2,\n", TopologyFormat::kGemm),
            "t.csv:2: expected 4 fields (Layer, M, N, K), got 3");
}

// ---- the command line ----

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("qaccel_sim_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

int RunCli(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = std::string(QACCEL_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  const int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(SimCli, WritesReportsAndSummary) {
  TempDir t;
  Write(t.path / "a.cfg", kGoodCfg);
  Write(t.path / "t.csv", "Layer name, H, W, FH, FW, C, N, S,\nc1, 12, 12, 3, 3, 4, 20, 1,\n");
  std::string out;
  ASSERT_EQ(RunCli("sim -c " + (t.path / "a.cfg").string() + " -t " + (t.path / "t.csv").string() +
                       " -p " + (t.path / "out").string() + " --rows 4 --cols 4 --dataflow ws",
                   &out),
            0)
      << out;
  for (const char* f : {"COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv",
                        "SUMMARY.json", "summary.csv"})
    EXPECT_TRUE(fs::exists(t.path / "out" / "unit" / f)) << f;
  EXPECT_NE(out.find("4x4 ws array"), std::string::npos) << out;
}

TEST(SimCli, BadInputExitsNonZeroAndLeavesNothing) {
  TempDir t;
  Write(t.path / "bad.cfg", Replace(kGoodCfg, "Dataflow : os", "Dataflow : xx"));
  Write(t.path / "a.cfg", kGoodCfg);
  Write(t.path / "t.csv", "Layer name, H, W, FH, FW, C, N, S,\nc1, 12, 12, 3, 3, 4, 20, 1,\n");
  Write(t.path / "empty.csv", "Layer name, H, W, FH, FW, C, N, S,\n");
  std::string out;
  EXPECT_EQ(RunCli("sim -c " + (t.path / "bad.cfg").string() + " -t " +
                       (t.path / "t.csv").string() + " -p " + (t.path / "out").string(),
                   &out),
            1);
  EXPECT_NE(out.find("bad.cfg:14: unknown dataflow 'xx'"), std::string::npos) << out;
  EXPECT_EQ(RunCli("sim -c " + (t.path / "a.cfg").string() + " -t " +
                       (t.path / "empty.csv").string() + " -p " + (t.path / "out").string(),
                   &out),
            1);
  EXPECT_NE(out.find("topology has no layers"), std::string::npos) << out;
  EXPECT_EQ(RunCli("sim -c " + (t.path / "a.cfg").string() + " -t " +
                   (t.path / "missing.csv").string() + " -p " + (t.path / "out").string()),
            1);
  EXPECT_FALSE(fs::exists(t.path / "out"));
}

}  // namespace
