// CLI: `qaccel quantize` and `qaccel eval` end to end on a tiny IDX data set,
// and the bad-input cases (nonexistent file, truncated file, wrong shapes,
// NaN weight, zero calibration images): one clear error line, non-zero
// exit, no output file.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "../common/test_models.h"
#include "qaccel/graph/model_file.h"

using namespace qaccel;
using namespace qaccel::testing;
namespace fs = std::filesystem;

namespace {

class CliQuantize : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = ScratchDir("cli_quantize");
    WriteIdxDir(dir / "data", SyntheticImages(40, 1, 28, 28, 1), SyntheticImages(20, 1, 28, 28, 2));
    Graph fg = RandomModel("lenet5", 3);
    SaveModel(fg, dir / "float.qmodel");
  }
  void TearDown() override { fs::remove_all(dir); }

  // Runs a failing command: exit 1, exactly one stderr line containing `what`, no `out`.
  void ExpectFailure(const std::string& args, const std::string& what, const fs::path& out) {
    CliResult r = RunCli(args, dir);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << "stderr: " << r.err << "\nexpected: " << what;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << out;
    for (auto& e : fs::directory_iterator(dir))  // no temporary left behind
      EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }

  std::string Data() const { return "--data " + (dir / "data").string(); }
  fs::path dir;
};

}  // namespace

TEST_F(CliQuantize, QuantizeThenEvalJsonWithAgreement) {
  const fs::path out = dir / "int8.qmodel";
  CliResult q =
      RunCli("quantize " + (dir / "float.qmodel").string() + " " + Data() + " -o " + out.string() +
                 " --calibration 16 --observer entropy --weight-scheme per-tensor --seed 3",
             dir);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  ASSERT_TRUE(fs::exists(out));
  Graph g = LoadModel(out);
  EXPECT_TRUE(g.quantized());
  EXPECT_EQ(g.metadata["quantization"]["seed"], 3);
  EXPECT_EQ(g.metadata["quantization"]["observer"], "entropy");
  EXPECT_EQ(g.metadata["quantization"]["calibration_images"], 16);
  EXPECT_NE(g.metadata["quantization"]["command"].get<std::string>().find("--calibration 16"),
            std::string::npos);

  CliResult e = RunCli("eval " + out.string() + " " + Data() + " --json", dir);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["samples"], 20);
  EXPECT_GE(j["accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["accuracy"].get<double>(), 1.0);
  ASSERT_TRUE(j.contains("agreement"));          // the float parent recorded in the metadata
  EXPECT_GE(j["agreement"].get<double>(), 0.5);  // random untrained model, 16 calibration images

  CliResult lim = RunCli("eval " + (dir / "float.qmodel").string() + " " + Data() +
                             " --json --limit 5 --reference " + (dir / "float.qmodel").string(),
                         dir);
  ASSERT_EQ(lim.exit_code, 0) << lim.err;
  j = nlohmann::json::parse(lim.out);
  EXPECT_EQ(j["samples"], 5);
  EXPECT_EQ(j["agreement"], 1.0);
}

TEST_F(CliQuantize, NonexistentModel) {
  ExpectFailure("quantize " + (dir / "missing.qmodel").string() + " " + Data() + " -o " +
                    (dir / "o.qmodel").string(),
                "missing.qmodel", dir / "o.qmodel");
  ExpectFailure("eval " + (dir / "missing.qmodel").string() + " " + Data(), "missing.qmodel",
                dir / "none");
}

TEST_F(CliQuantize, TruncatedModel) {
  auto bytes = ReadBinaryFile(dir / "float.qmodel");
  bytes.resize(bytes.size() / 2);
  AtomicWriteBinary(dir / "cut.qmodel", bytes.data(), bytes.size());
  ExpectFailure("quantize " + (dir / "cut.qmodel").string() + " " + Data() + " -o " +
                    (dir / "o.qmodel").string(),
                "truncated", dir / "o.qmodel");
}

TEST_F(CliQuantize, WrongInputShape) {
  Graph g32 = RandomModel("lenet5", 3, 32);  // 32x32 input; the data is 28x28
  SaveModel(g32, dir / "lenet32.qmodel");
  ExpectFailure("quantize " + (dir / "lenet32.qmodel").string() + " " + Data() + " -o " +
                    (dir / "o.qmodel").string(),
                "expects input [1, 32, 32]", dir / "o.qmodel");
  ExpectFailure("eval " + (dir / "lenet32.qmodel").string() + " " + Data(),
                "expects input [1, 32, 32]", dir / "none");
}

TEST_F(CliQuantize, NaNWeight) {
  Graph g = LoadModel(dir / "float.qmodel");
  g.layers[static_cast<size_t>(g.Find("conv2"))].params.at("weight").data<float>()[3] =
      std::nanf("");
  SaveModel(g, dir / "nan.qmodel");
  ExpectFailure("quantize " + (dir / "nan.qmodel").string() + " " + Data() + " -o " +
                    (dir / "o.qmodel").string(),
                "layer 'conv2' (conv2d): parameter 'weight' element 3 is NaN", dir / "o.qmodel");
}

TEST_F(CliQuantize, ZeroCalibrationImagesAndUnknownOptions) {
  const std::string base = "quantize " + (dir / "float.qmodel").string() + " " + Data() + " -o " +
                           (dir / "o.qmodel").string();
  ExpectFailure(base + " --calibration 0", "--calibration must be at least 1", dir / "o.qmodel");
  ExpectFailure(base + " --observer kl", "unknown observer 'kl'", dir / "o.qmodel");
  ExpectFailure(base + " --weight-scheme per-row", "unknown weight scheme", dir / "o.qmodel");
}

TEST_F(CliQuantize, AlreadyQuantized) {
  const fs::path q = dir / "int8.qmodel";
  ASSERT_EQ(RunCli("quantize " + (dir / "float.qmodel").string() + " " + Data() + " -o " +
                       q.string() + " --calibration 4",
                   dir)
                .exit_code,
            0);
  ExpectFailure("quantize " + q.string() + " " + Data() + " -o " + (dir / "o.qmodel").string(),
                "already quantized", dir / "o.qmodel");
}
