// The CLI end to end on LeNet-5 with the real cost model: `qaccel explore`
// (determinism across thread counts, outputs, errors that leave nothing
// behind), `qaccel topology`, and `qaccel sim -m` with its energy report.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/cli.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using qaccel::testing::RunCli;

namespace {

// One scratch directory per test (ctest may run them in parallel).
fs::path TestDir() {
  return fs::temp_directory_path() / ("qaccel_test_dse_cli_" + std::to_string(::getpid())) /
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

fs::path WriteSpace(const std::string& name, const std::string& text) {
  fs::create_directories(TestDir());
  fs::path p = TestDir() / name;
  std::ofstream(p) << text;
  return p;
}

// One column of a points.csv, by header name (rows in file order).
std::vector<std::string> CsvColumn(const std::string& csv, const std::string& name) {
  std::istringstream in(csv);
  std::string line, field;
  std::getline(in, line);
  std::istringstream header(line);
  int col = 0;
  while (std::getline(header, field, ',') && field != name) ++col;
  EXPECT_EQ(field, name) << "no column '" << name << "' in " << line;
  std::vector<std::string> values;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    for (int i = 0; i <= col; ++i) std::getline(ls, field, ',');
    values.push_back(field);
  }
  return values;
}

const char* kSmallSpace = R"(
[array]
rows = { min = 4, max = 32, pow2 = true }
cols = { min = 4, max = 32, pow2 = true }
dataflows = ["os", "ws", "is"]
[memory]
ifmap_sram_kb = [8, 32]
[objective]
metric = "edp"
[search.genetic]
population = 8
generations = 6
)";

}  // namespace

TEST(DseCli, GeneticIsByteIdenticalAcrossThreadCounts) {
  fs::path space = WriteSpace("small.toml", kSmallSpace);
  const auto run_a = RunCli("explore " + space.string() +
                            " -m lenet5 --strategy genetic --seed 5 --threads 1 -q -o " +
                            (TestDir() / "a").string());
  ASSERT_EQ(run_a.exit_code, 0) << run_a.err;
  ASSERT_EQ(RunCli("explore " + space.string() +
                   " -m lenet5 --strategy genetic --seed 5 --threads 2 -q -o " +
                   (TestDir() / "b").string())
                .exit_code,
            0);
  const std::string a = qaccel::ReadTextFile(TestDir() / "a" / "points.csv");
  EXPECT_EQ(a, qaccel::ReadTextFile(TestDir() / "b" / "points.csv"));
  EXPECT_EQ(qaccel::ReadTextFile(TestDir() / "a" / "pareto_cycles_energy.csv"),
            qaccel::ReadTextFile(TestDir() / "b" / "pareto_cycles_energy.csv"));
  EXPECT_EQ(a.rfind("point_id,array_rows,array_cols,dataflow,", 0), 0u);
  EXPECT_NE(a.find(",genetic,5\n"), std::string::npos);
  for (const char* f : {"pareto.svg", "pareto_cycles_pes.csv", "best.json", "manifest.json"})
    EXPECT_TRUE(fs::exists(TestDir() / "a" / f)) << f;
  EXPECT_NE(run_a.out.find("Pareto front, total cycles vs energy"), std::string::npos) << run_a.out;
}

TEST(DseCli, ExhaustiveBestMatchesTheCsvMinimum) {
  fs::path space = WriteSpace("small.toml", kSmallSpace);
  const auto run =
      RunCli("explore " + space.string() + " -m lenet5 -q -o " + (TestDir() / "ex").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> objective =
      CsvColumn(qaccel::ReadTextFile(TestDir() / "ex" / "points.csv"), "objective");
  EXPECT_EQ(objective.size(), 4u * 4 * 3 * 2);
  double best = 1e300;
  for (const std::string& v : objective) best = std::min(best, std::stod(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", best);
  EXPECT_NE(run.out.find(std::string("objective ") + buf), std::string::npos) << run.out;
}

TEST(DseCli, SpaceErrorsExitNonZeroNameFileAndKeyAndLeaveNothing) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[array]\nrows = [8]\n", "key 'array.cols': missing"},
      {"[array]\nrows = [8]\ncols = true\n", "key 'array.cols': must be an integer, got a boolean"},
      {"[array]\nrows = {min = 32, max = 4}\ncols = [8]\n", "key 'array.rows': empty range"},
  };
  for (auto& c : cases) {
    fs::path space = WriteSpace("bad.toml", c.text);
    fs::path out = TestDir() / "bad_out";
    fs::remove_all(out);
    const auto run = RunCli("explore " + space.string() + " -m lenet5 -q -o " + out.string());
    const std::string& err = run.err;
    EXPECT_NE(run.exit_code, 0);
    EXPECT_NE(err.find("qaccel explore: error: " + space.string()), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(out)) << "output left behind for " << c.expect;
  }
  fs::path space = WriteSpace("small.toml", kSmallSpace);
  const auto run = RunCli("explore " + space.string() + " -m lenet5 --strategy annealing -o " +
                          (TestDir() / "x").string());
  const std::string& err = run.err;
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(err.find("unknown search strategy 'annealing'"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(TestDir() / "x"));
}

TEST(DseCli, TopologyCommandWritesScaleSimCsv) {
  fs::create_directories(TestDir());
  const auto topo = RunCli("topology lenet5 -o " + (TestDir() / "l5.csv").string());
  ASSERT_EQ(topo.exit_code, 0) << topo.err;
  EXPECT_EQ(qaccel::ReadTextFile(TestDir() / "l5.csv"),
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num "
            "Filter, Strides,\n"
            "conv1, 32, 32, 5, 5, 1, 6, 1,\n"
            "conv2, 14, 14, 5, 5, 6, 16, 1,\n"
            "fc1, 1, 400, 1, 400, 1, 120, 1,\n"
            "fc2, 1, 120, 1, 120, 1, 84, 1,\n"
            "fc3, 1, 84, 1, 84, 1, 10, 1,\n");
  EXPECT_NE(topo.out.find("pool1"), std::string::npos) << topo.out;
  // The CSV explores like the model (1 byte/word instead of 4: same cycles).
  fs::path space = WriteSpace("small.toml", kSmallSpace);
  ASSERT_EQ(RunCli("explore " + space.string() + " -t " + (TestDir() / "l5.csv").string() +
                   " -q -o " + (TestDir() / "t").string())
                .exit_code,
            0);
  ASSERT_EQ(RunCli("explore " + space.string() + " -m lenet5 -q -o " + (TestDir() / "m").string())
                .exit_code,
            0);
  const std::vector<std::string> from_csv =
      CsvColumn(qaccel::ReadTextFile(TestDir() / "t" / "points.csv"), "total_cycles");
  EXPECT_EQ(from_csv.size(), 4u * 4 * 3 * 2);
  EXPECT_EQ(from_csv,
            CsvColumn(qaccel::ReadTextFile(TestDir() / "m" / "points.csv"), "total_cycles"));
}

TEST(DseCli, SimAcceptsAModelAndWritesTheEnergyReport) {
  fs::path cfg = WriteSpace(
      "arr.cfg",
      "[general]\nrun_name = r\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\n"
      "IfmapSramSzkB: 16\nFilterSramSzkB: 16\nOfmapSramSzkB: 16\nIfmapOffset: 0\n"
      "FilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth: 10\nDataflow: ws\n"
      "MemoryBanks: 1\n[run_presets]\nInterfaceBandwidth: CALC\n[energy]\ndram_read_pj = 100\n");
  fs::remove_all(TestDir() / "sim");
  const auto sim =
      RunCli("sim -c " + cfg.string() + " -m lenet5 -p " + (TestDir() / "sim").string());
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  for (const char* f : {"COMPUTE_REPORT.csv", "ENERGY_REPORT.csv"})
    EXPECT_TRUE(fs::exists(TestDir() / "sim" / "r" / f)) << f;
  const std::string& out = sim.out;
  EXPECT_NE(out.find("energy "), std::string::npos) << out;
  EXPECT_NE(out.find("not mapped to the array (6 layers, 12812 element ops"), std::string::npos)
      << out;
  // -t also takes a zoo name.
  ASSERT_EQ(
      RunCli("sim -c " + cfg.string() + " -t lenet5 -p " + (TestDir() / "sim2").string()).exit_code,
      0);
  EXPECT_EQ(qaccel::ReadTextFile(TestDir() / "sim" / "r" / "ENERGY_REPORT.csv"),
            qaccel::ReadTextFile(TestDir() / "sim2" / "r" / "ENERGY_REPORT.csv"));
  // A bad [energy] key fails before any report is written.
  fs::path bad = WriteSpace("bad.cfg", qaccel::ReadTextFile(cfg) + "dram_pj = 3\n");
  const auto bad_run =
      RunCli("sim -c " + bad.string() + " -m lenet5 -p " + (TestDir() / "sim3").string());
  const std::string& err = bad_run.err;
  EXPECT_NE(bad_run.exit_code, 0);
  EXPECT_NE(err.find("dram_pj"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(TestDir() / "sim3"));
}

// --energy-table overrides the space's energies (here: static energy, which
// must show up in every point's energy), and a bad table is refused before the
// search with file:line and nothing written.
TEST(DseCli, EnergyTableOverridesAndBadKeysNameFileLine) {
  fs::path space = WriteSpace("small.toml", kSmallSpace);
  fs::path zero = WriteSpace("zero.ert", "pe.leak: 0\nsram.leak = 0  # no static energy\n");
  fs::path more = WriteSpace("more.ert", "# leaky PEs\npe.leak: 1.0\nsram.leak: 0\n");
  ASSERT_EQ(RunCli("explore " + space.string() + " -m lenet5 -q --energy-table " + zero.string() +
                   " -o " + (TestDir() / "zero").string())
                .exit_code,
            0);
  ASSERT_EQ(RunCli("explore " + space.string() + " -m lenet5 -q --energy-table " + more.string() +
                   " -o " + (TestDir() / "more").string())
                .exit_code,
            0);
  const auto e0 = CsvColumn(qaccel::ReadTextFile(TestDir() / "zero" / "points.csv"), "energy_pj");
  const auto e1 = CsvColumn(qaccel::ReadTextFile(TestDir() / "more" / "points.csv"), "energy_pj");
  const auto pes = CsvColumn(qaccel::ReadTextFile(TestDir() / "zero" / "points.csv"), "pes");
  const auto cyc =
      CsvColumn(qaccel::ReadTextFile(TestDir() / "zero" / "points.csv"), "total_cycles");
  const auto wb = CsvColumn(qaccel::ReadTextFile(TestDir() / "zero" / "points.csv"), "word_bytes");
  ASSERT_EQ(e0.size(), e1.size());
  for (size_t i = 0; i < e0.size(); ++i)  // + 1 pJ per PE per cycle per word byte
    EXPECT_NEAR(std::stod(e1[i]) - std::stod(e0[i]),
                std::stod(pes[i]) * std::stod(cyc[i]) * std::stod(wb[i]), 1e-5 * std::stod(e1[i]));
  fs::path bad = WriteSpace("bad.ert", "mac.compute: 1\nsram.red: 3\n");
  const auto run = RunCli("explore " + space.string() + " -m lenet5 -q --energy-table " +
                          bad.string() + " -o " + (TestDir() / "bad").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("bad.ert:2: unknown key 'sram.red'"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(TestDir() / "bad"));
}
