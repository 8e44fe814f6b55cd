// Output sets are atomic: `qaccel sim` writes OUT/<run_name>/ and `qaccel
// explore` writes OUT/ as a whole or not at all, never replace a directory
// qaccel did not write, and never one that holds their own input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../common/cli.h"
#include "qaccel/accel/reports.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using qaccel::testing::RunCli;

namespace {

fs::path Dir() {
  const fs::path d = fs::temp_directory_path() /
                     ("qaccel_test_output_sets_" + std::to_string(::getpid())) /
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return d;
}

fs::path Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

const char* kCfg =
    "[general]\nrun_name = r\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\n"
    "IfmapSramSzkB: 16\nFilterSramSzkB: 16\nOfmapSramSzkB: 16\nIfmapOffset: 0\n"
    "FilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth: 10\nDataflow: ws\n"
    "[run_presets]\nInterfaceBandwidth: CALC\n";
const char* kTopo = "Layer name, H, W, FH, FW, C, N, S,\nc1, 12, 12, 3, 3, 4, 20, 1,\n";
const char* kSpace = "[array]\nrows = [4, 8]\ncols = [4, 8]\ndataflows = [\"os\"]\n";

TEST(OutputSets, SimSetIsWrittenWholeOrNotAtAll) {
  fs::remove_all(Dir());
  qaccel::accel::ArchConfig a;
  a.run_name = "r";
  const auto layers = std::vector<qaccel::accel::LayerSpec>{{"c", 8, 8, 3, 3, 2, 4, 1, 1}};
  const auto m = qaccel::accel::SimulateNetwork(a, layers);
  qaccel::accel::WriteSimReports(a, m, Dir(), "first");
  const std::string before = qaccel::ReadTextFile(Dir() / "r" / "SUMMARY.json");
  // The sixth file cannot be written (its parent is a file): none of the
  // set appears, the previous set stays as it was.
  EXPECT_THROW(qaccel::accel::WriteSimReports(a, m, Dir(), "second",
                                              {{"COMPUTE_REPORT.csv/ENERGY_REPORT.csv", "x"}}),
               qaccel::Error);
  EXPECT_EQ(qaccel::ReadTextFile(Dir() / "r" / "SUMMARY.json"), before);
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(Dir())) entries += e.path().filename() == "r" ? 0 : 1;
  EXPECT_EQ(entries, 0u) << "temporary directory left behind";
}

TEST(OutputSets, SimRefusesForeignDirectoriesAndItsOwnInputs) {
  fs::remove_all(Dir());
  const fs::path cfg = Write(Dir() / "a.cfg", kCfg), topo = Write(Dir() / "t.csv", kTopo);
  const std::string args = "sim -c " + cfg.string() + " -t " + topo.string() + " -p ";
  // A non-empty directory without SUMMARY.json of ours: refused, untouched.
  Write(Dir() / "out" / "r" / "notes.txt", "mine");
  auto run = RunCli(args + (Dir() / "out").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("was not written by qaccel (no SUMMARY.json of ours)"), std::string::npos)
      << run.err;
  EXPECT_TRUE(fs::exists(Dir() / "out" / "r" / "notes.txt"));
  EXPECT_FALSE(fs::exists(Dir() / "out" / "r" / "COMPUTE_REPORT.csv"));
  // Our own set is replaced (twice, same bytes).
  ASSERT_EQ(RunCli(args + (Dir() / "ok").string()).exit_code, 0);
  const std::string first = qaccel::ReadTextFile(Dir() / "ok" / "r" / "COMPUTE_REPORT.csv");
  ASSERT_EQ(RunCli(args + (Dir() / "ok").string()).exit_code, 0);
  EXPECT_EQ(qaccel::ReadTextFile(Dir() / "ok" / "r" / "COMPUTE_REPORT.csv"), first);
  // The topology inside the directory that would be replaced: refused.
  const fs::path inner = Write(Dir() / "in" / "r" / "t.csv", kTopo);
  run =
      RunCli("sim -c " + cfg.string() + " -t " + inner.string() + " -p " + (Dir() / "in").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("holds the input"), std::string::npos) << run.err;
  EXPECT_TRUE(fs::exists(inner));
}

TEST(OutputSets, ExploreRefusesForeignDirectoriesAndItsOwnInputs) {
  fs::remove_all(Dir());
  const fs::path space = Write(Dir() / "s.toml", kSpace);
  Write(Dir() / "foreign" / "data.txt", "mine");
  auto run =
      RunCli("explore " + space.string() + " -m lenet5 -q -o " + (Dir() / "foreign").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("was not written by qaccel (no manifest.json of ours)"), std::string::npos)
      << run.err;
  EXPECT_TRUE(fs::exists(Dir() / "foreign" / "data.txt"));
  run = RunCli("explore " + space.string() + " -m lenet5 -q -o " + Dir().string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("holds the input"), std::string::npos) << run.err;
  EXPECT_TRUE(fs::exists(space));
  // A run that fails after the search started leaves the previous set as it was.
  ASSERT_EQ(
      RunCli("explore " + space.string() + " -m lenet5 -q -o " + (Dir() / "ok").string()).exit_code,
      0);
  const std::string points = qaccel::ReadTextFile(Dir() / "ok" / "points.csv");
  const fs::path bad =
      Write(Dir() / "bad.toml", std::string(kSpace) + "[memory]\nifmap_sram_kb = 0.01\n");
  run = RunCli("explore " + bad.string() + " -m lenet5 -q -o " + (Dir() / "ok").string());
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(qaccel::ReadTextFile(Dir() / "ok" / "points.csv"), points);
  EXPECT_TRUE(fs::exists(Dir() / "ok" / "manifest.json"));
}

TEST(OutputSets, ExploreSurvivesThreadsItCannotCreate) {
  // 256 threads under a 1.2 GB address-space limit: ParallelFor starts only
  // the threads whose stacks fit a quarter of the limit (core/parallel.h),
  // and the run completes with the same points as a 2-thread run.
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: no ulimit -v under it";
#endif
  fs::remove_all(Dir());
  // 768 points, so that 256 workers are planned (~2 GB of thread stacks).
  const fs::path space =
      Write(Dir() / "s.toml", "[array]\nrows = {min = 1, max = 16}\ncols = {min = 1, max = 16}\n");
  const fs::path err = Dir() / "stderr.txt";
  auto run = [&](const std::string& limit, int threads, const std::string& out) {
    const std::string cmd = "sh -c '" + limit + "QACCEL_PROGRESS=0 exec " +
                            std::string(QACCEL_CLI_PATH) + " explore " + space.string() +
                            " -m lenet5 -q --threads " + std::to_string(threads) + " -o " +
                            (Dir() / out).string() + "' >/dev/null 2>" + err.string();
    return std::system(cmd.c_str());
  };
  const int status = run("ulimit -v 1200000; ", 256, "out");
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal: " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << qaccel::ReadTextFile(err);
  ASSERT_EQ(run("", 2, "ref"), 0) << qaccel::ReadTextFile(err);
  EXPECT_EQ(qaccel::ReadTextFile(Dir() / "out" / "points.csv"),
            qaccel::ReadTextFile(Dir() / "ref" / "points.csv"));
}

}  // namespace
