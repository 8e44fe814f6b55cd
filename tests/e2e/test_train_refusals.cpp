// `qaccel train` refuses, in one line and before any work, what would silently
// go wrong: an ImageNet topology on 28x28 digits, writing over its own input,
// negative seeds and thread counts, bad --qat widths and flip thresholds.
#include <gtest/gtest.h>

#include <filesystem>

#include "../common/cli.h"

using qaccel::testing::RunCli;
namespace fs = std::filesystem;

TEST(TrainRefusals, OneLineAndNothingWritten) {
  const fs::path dir = fs::temp_directory_path() / "qaccel_test_train_refusals";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string m = (dir / "m.qmodel").string();
  auto ok = RunCli("train --data mnist --epochs 1 --limit-train 60 --threads 1 -q -o " + m);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto before = fs::last_write_time(m);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--model resnet50 --data mnist -o " + (dir / "r.qmodel").string(),
       "defined for [3, 224, 224]"},
      {"--model " + m + " --data mnist -o " + m, "is the input model"},
      {"--data mnist --seed -1 -o " + (dir / "s.qmodel").string(), "--seed: must be >= 0"},
      {"--data mnist --threads 100000 -o " + (dir / "t.qmodel").string(), "--threads"},
      {"--data mnist --qat w9a8 -o " + (dir / "q.qmodel").string(), "--qat w9a8"},
      {"--data mnist --qat w4a1 -o " + (dir / "q.qmodel").string(), "2..8"},
      {"--data mnist --qat w1a8 --flip-threshold 2 -o " + (dir / "q.qmodel").string(),
       "--flip-threshold"},
      {"--data mnist --binary-all -o " + (dir / "q.qmodel").string(), "need --qat"},
  };
  for (const auto& [args, word] : bad) {
    auto r = RunCli("train " + args + " --limit-train 60 -q");
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find(word), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(fs::last_write_time(m), before);
  for (const char* f : {"r.qmodel", "s.qmodel", "t.qmodel", "q.qmodel"})
    EXPECT_FALSE(fs::exists(dir / f));
  fs::remove_all(dir);
}
