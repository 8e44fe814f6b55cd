// `qaccel adapt` through the CLI on a tiny run (a few hundred images, a few
// mini-batches per candidate): refusals in one line, a run killed with
// SIGKILL and resumed gives byte-identical history.csv and adapted.qmodel,
// and the adapted model flows on through quantize, eval and sim -m.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../common/cli.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using qaccel::testing::RunCli;

namespace {

fs::path Scratch() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("qaccel_e2e_adapt_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string P(const std::string& f) { return (Scratch() / f).string(); }

int Lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A float LeNet-5 trained for one short epoch (shared by the tests).
bool TrainedModel(std::string* skip) {
  if (fs::exists(P("f.qmodel"))) return true;
  auto t = RunCli("train --model lenet5 --data mnist --epochs 1 --limit-train 2000 --seed 3 -q -o " +
                  P("f.qmodel"));
  if (t.exit_code != 0) *skip = t.err;
  return t.exit_code == 0;
}

std::string AdaptArgs(const std::string& out_flag) {
  return "adapt " + P("f.qmodel") +
         " --data mnist --metric macs --budget 0.6x --init-reduction 0.05 --short-term-iters 4 "
         "--holdout 300 --long-term-epochs 1 --seed 5 --threads 2 -q -c " +
         std::string(QACCEL_SOURCE_DIR) + "/examples/os_16x16_64k.cfg " + out_flag;
}

}  // namespace

TEST(AdaptCli, RefusesInOneLine) {
  for (const std::string& args :
       {std::string("adapt alexnet --metric cycles --budget 0.5x -o ") + P("x"),
        std::string("adapt resnet50 --metric cycles --budget 0.5x -o ") + P("x"),
        std::string("adapt lenet5 --metric furlongs --budget 0.5x -o ") + P("x"),
        std::string("adapt lenet5 --metric macs --budget 2x -o ") + P("x"),
        std::string("adapt lenet5 --metric macs --budget 0.5x --select best -o ") + P("x"),
        std::string("adapt lenet5 --metric macs --budget 0.5x --bogus -o ") + P("x")}) {
    auto r = RunCli(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(Lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("qaccel adapt: error: ", 0), 0u) << r.err;
  }
  EXPECT_NE(RunCli("adapt alexnet --metric cycles --budget 0.5x -o " + P("x")).err.find(
                "topology-only"),
            std::string::npos);
}

TEST(AdaptCli, KilledAndResumedIsByteIdenticalAndFlowsOn) {
  std::string skip;
  if (!TrainedModel(&skip)) GTEST_SKIP() << skip;
  auto full = RunCli(AdaptArgs("-o " + P("a")));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string csv = qaccel::ReadTextFile(P("a") + "/history.csv");
  EXPECT_GE(Lines(csv), 4) << csv;

  // The same run, killed with SIGKILL once it has written iteration 2.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::istringstream words(AdaptArgs("-o " + P("b")));
    std::vector<std::string> args{QACCEL_CLI_PATH};
    for (std::string w; words >> w;) args.push_back(w);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(QACCEL_CLI_PATH, argv.data());
    ::_exit(127);
  }
  const fs::path marker = P("b.partial") + "/iter_2.qmodel";
  for (int i = 0; i < 6000 && !fs::exists(marker); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  ASSERT_FALSE(fs::exists(P("b") + "/history.csv"));

  auto again = RunCli(AdaptArgs("-o " + P("b")));  // without --resume: refused, one line
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  auto resumed = RunCli(AdaptArgs("--resume " + P("b")));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(qaccel::ReadTextFile(P("b") + "/history.csv"), csv);
  EXPECT_EQ(qaccel::ReadBinaryFile(P("b") + "/adapted.qmodel"),
            qaccel::ReadBinaryFile(P("a") + "/adapted.qmodel"));
  EXPECT_FALSE(fs::exists(P("b.partial")));

  // The adapted model flows on: quantize, eval, simulate.
  const std::string adapted = P("a") + "/adapted.qmodel";
  auto q = RunCli("quantize " + adapted + " --data mnist --calibration 200 -o " + P("q.qmodel"));
  ASSERT_EQ(q.exit_code, 0) << q.err;
  auto e = RunCli("eval " + P("q.qmodel") + " --data mnist --json --reference " + adapted);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_GT(nlohmann::json::parse(e.out)["agreement"].get<double>(), 0.95);
  auto s = RunCli("sim -m " + adapted + " -c " + std::string(QACCEL_SOURCE_DIR) +
                  "/examples/os_16x16_64k.cfg -p " + P("sim"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  // `sim -m`'s network total is the cycles column of the last history row.
  std::istringstream sim_lines(s.out);
  long long sim_cycles = -1;
  for (std::string line; std::getline(sim_lines, line);)
    if (line.rfind("all ", 0) == 0) {
      std::istringstream f(line);
      std::string all, network;
      f >> all >> network >> sim_cycles;
    }
  std::istringstream rows(csv);
  std::string header, row, last;
  std::getline(rows, header);
  while (std::getline(rows, row)) last = row;
  auto field = [](const std::string& line, size_t k) {
    std::istringstream f(line);
    std::string x;
    for (size_t i = 0; i <= k; ++i) std::getline(f, x, ',');
    return x;
  };
  size_t col = 0;
  while (field(header, col) != "cycles") ++col;
  EXPECT_EQ(std::to_string(sim_cycles), field(last, col));
  const auto manifest = nlohmann::json::parse(qaccel::ReadTextFile(P("a") + "/manifest.json"));
  EXPECT_LE(manifest["final_value"].get<double>(), 0.6 * manifest["start_value"].get<double>());
  fs::remove_all(Scratch());
}
