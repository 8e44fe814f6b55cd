#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../common/cli.h"

using qaccel::testing::RunCli;

TEST(CliInfo, ZooModelJson) {
  auto r = RunCli("info lenet5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["total_macs"], 416520);
  EXPECT_EQ(j["total_params"], 61706);
  EXPECT_EQ(j["layers"].size(), 13u);
}

TEST(CliInfo, BadModelIsOneLineAndNonZero) {
  auto r = RunCli("info /nonexistent/model.qmodel");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("qaccel info: error:"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // `qaccel adapt` fine-tunes, so it runs in qaccel-train too.
  r = RunCli("adapt f.qmodel --metric cycles --budget 0.5x -o /tmp/never",
             "QACCEL_TRAIN_EXE=/nonexistent/qaccel-train ");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("qaccel adapt: error: training is not available"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliInfo, HelpWorksForEverySubcommand) {
  auto r = RunCli("--help");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("info"), std::string::npos);
  EXPECT_EQ(RunCli("info --help").exit_code, 0);
}

// Training runs in qaccel-train (tools/qaccel/train_launcher.cpp); without it,
// `qaccel train` is one clear line and a non-zero exit.
TEST(CliTrain, MissingTrainerIsOneLine) {
  auto r = RunCli("version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(training: "), std::string::npos) << r.out;
  r = RunCli("train --model lenet5 -o /tmp/never.qmodel",
             "QACCEL_TRAIN_EXE=/nonexistent/qaccel-train ");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("qaccel train: error: training is not available"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// Parse errors (unknown flag, out-of-range count) are one line and exit 1 like every other error.
TEST(CliParse, ErrorsAreOneLine) {
  for (const char* args :
       {"info --bogus", "eval m.qmodel --threads -1", "run m.qmodel --limit -3 -o x",
        "quantize m.qmodel --seed -1 -o y", "explore s.toml --threads 100000 -o z"}) {
    auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
  }
}
