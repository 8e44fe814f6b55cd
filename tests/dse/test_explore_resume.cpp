// `qaccel explore --resume`: a run killed with SIGKILL partway and resumed
// (any thread count) gives files byte-identical to an uninterrupted run; the
// checkpoint replays its points instead of simulating them again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "../common/cli.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/dse/checkpoint.h"
#include "qaccel/dse/explore.h"

namespace fs = std::filesystem;
using namespace qaccel;
using namespace qaccel::dse;

namespace {

fs::path Dir() {
  return fs::temp_directory_path() / ("qaccel_test_explore_resume_" + std::to_string(::getpid())) /
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

size_t Lines(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Starts `qaccel explore` in the background; returns its pid.
pid_t Spawn(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string cli = QACCEL_CLI_PATH;
    argv.push_back(cli.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::freopen("/dev/null", "w", stdout);
    ::freopen("/dev/null", "w", stderr);
    ::execv(cli.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

TEST(ExploreResume, KilledThenResumedIsByteIdentical) {
  fs::remove_all(Dir());
  fs::create_directories(Dir());
  const std::string space = std::string(QACCEL_SOURCE_DIR) + "/examples/space_resnet50.toml";
  const std::string full = (Dir() / "full").string(), part = (Dir() / "part").string();
  const std::string base = "explore " + space + " -m resnet50 -q ";
  ASSERT_EQ(qaccel::testing::RunCli(base + "--threads 2 -o " + full).exit_code, 0);

  // Kill -9 once a few hundred of the 4,608 points are checkpointed.
  const pid_t pid = Spawn({"explore", space, "-m", "resnet50", "-q", "--threads", "2", "-o", part});
  const fs::path ckpt = part + ".partial/evaluated.txt";
  const auto t0 = std::chrono::steady_clock::now();
  while (Lines(ckpt) < 300 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "finished before it could be killed";
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(part));  // no output set from a killed run
  const size_t kept = Lines(ckpt) - 1;
  ASSERT_GT(kept, 0u);

  // Without --resume the interrupted run is not silently started over.
  const auto refused = qaccel::testing::RunCli(base + "-o " + part);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("pass --resume to continue it"), std::string::npos) << refused.err;

  // Resumed on another thread count: the same bytes.
  const auto resumed = qaccel::testing::RunCli(base + "--threads 1 --resume -o " + part);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const char* f : {"points.csv", "pareto_cycles_pes.csv", "pareto_cycles_energy.csv",
                        "pareto.svg", "best.json"})
    EXPECT_EQ(ReadTextFile(fs::path(full) / f), ReadTextFile(fs::path(part) / f)) << f;
  const std::string manifest = ReadTextFile(fs::path(part) / "manifest.json");
  EXPECT_NE(manifest.find("\"resumed_points\": " + std::to_string(kept)), std::string::npos)
      << "kept " << kept << "\n"
      << manifest;
  EXPECT_FALSE(fs::exists(part + ".partial"));  // removed once the outputs are in place
}

DesignSpace Space() {
  return ParseDesignSpace(
      "[array]\nrows = [2, 4, 8, 16, 32, 64]\ncols = [3, 6, 12, 24, 48]\n"
      "[memory]\nifmap_sram_kb = [16, 64, 256]\n"
      "[search.genetic]\npopulation = 10\ngenerations = 14\n",
      "s.toml");
}

PointResult Cost(const accel::ArchConfig& c) {
  PointResult r;
  r.config = c;
  r.total_cycles = 1000 + 37 * ((c.array_rows * 7 + c.array_cols * 3) % 11) +
                   static_cast<int64_t>(c.ifmap_sram_kb) + static_cast<int64_t>(c.dataflow);
  r.area.pes = static_cast<int64_t>(c.array_rows) * c.array_cols;
  r.energy_pj = std::sqrt(static_cast<double>(r.total_cycles)) / 3.0;  // not a short decimal
  r.objective = static_cast<double>(r.total_cycles) * r.energy_pj;
  return r;
}

TEST(ExploreResume, GeneticReplaysACutCheckpointExactly) {
  fs::remove_all(Dir());
  const DesignSpace space = Space();
  const fs::path file = Dir() / "ck.txt";
  ExploreOptions o;
  o.strategy = "genetic";
  o.seed = 9;
  o.progress = false;
  o.batch = 5;
  o.threads = 2;
  std::string whole;
  {
    ExploreCheckpoint ck(file, "fp", false);
    o.checkpoint = &ck;
    whole = PointsCsv(Explore(space, Cost, o));
  }
  // Keep 40 records and half of the 41st, as a kill would.
  const std::string text = ReadTextFile(file);
  size_t cut = 0;
  for (int i = 0; i < 41; ++i) cut = text.find('\n', cut) + 1;
  AtomicWriteText(file, text.substr(0, cut + 10));
  EXPECT_THROW(ExploreCheckpoint(file, "other", true), Error);  // another run's file
  EXPECT_THROW(ExploreCheckpoint(file, "fp", false), Error);    // needs --resume
  std::atomic<int> evaluated{0};
  ExploreCheckpoint ck(file, "fp", true);
  ASSERT_EQ(ck.recorded().size(), 40u);
  o.checkpoint = &ck;
  o.threads = 3;
  const ExploreResult r = Explore(
      space,
      [&](const accel::ArchConfig& c) {
        ++evaluated;
        return Cost(c);
      },
      o);
  EXPECT_EQ(PointsCsv(r), whole);
  EXPECT_EQ(r.resumed, 40u);
  EXPECT_EQ(static_cast<size_t>(evaluated.load()), r.points.size() - 40);
  EXPECT_EQ(ReadTextFile(file).size(), text.size());  // the checkpoint is whole again
}

}  // namespace
