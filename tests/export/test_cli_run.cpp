// CLI: `qaccel run` writes golden vectors that equal the integer engine's own
// tensors, in txt and $readmemh hex, with a manifest; bad input is one line
// and leaves no directory behind.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "../common/test_models.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/quant/quantize.h"

using namespace qaccel;
using namespace qaccel::testing;
namespace fs = std::filesystem;

namespace {

std::vector<int> ReadInts(const fs::path& p, int base) {
  std::istringstream in(ReadTextFile(p));
  std::vector<int> v;
  std::string line;
  while (std::getline(in, line)) {
    int x = std::stoi(line, nullptr, base);
    v.push_back(base == 16 ? static_cast<int8_t>(x) : x);
  }
  return v;
}

std::vector<int> AsInts(const int8_t* v, int64_t n) { return std::vector<int>(v, v + n); }

}  // namespace

TEST(CliRun, GoldenVectorsEqualTheEngine) {
  const auto dir = ScratchDir("cli_run");
  Graph qg = quant::QuantizeGraph(RandomModel("lenet5", 5), SyntheticImages(8, 1, 28, 28, 1),
                                  quant::QuantizeOptions{.calibration = 8});
  SaveModel(qg, dir / "int8.qmodel");
  const data::Dataset test = SyntheticImages(5, 1, 28, 28, 9);
  WriteIdxDir(dir / "data", SyntheticImages(4, 1, 28, 28, 2), test);
  const fs::path out = dir / "vectors";

  CliResult r = RunCli("run " + (dir / "int8.qmodel").string() + " --data " +
                           (dir / "data").string() + " --limit 3 --layers -o " + out.string(),
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  engine::Engine eng(qg, {1});
  for (int64_t i = 0; i < 3; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "img%05lld", static_cast<long long>(i));
    const fs::path img = out / name;
    std::vector<std::vector<int>> tensors;
    eng.RunTappedInt8(test.image(i),
                      [&](int, const int8_t* v, int64_t n) { tensors.push_back(AsInts(v, n)); });
    EXPECT_EQ(ReadInts(img / "input.txt", 10), tensors.front()) << img;
    EXPECT_EQ(ReadInts(img / "input.hex", 16), tensors.front()) << img;
    EXPECT_EQ(ReadInts(img / "logits.txt", 10), tensors.back()) << img;
    EXPECT_EQ(ReadInts(img / "logits.hex", 16), tensors.back()) << img;
    char stem[16];
    std::snprintf(stem, sizeof stem, "%02d_", 1);
    EXPECT_EQ(ReadInts(img / "layers" / (stem + qg.layers[1].name + ".txt"), 10), tensors[1]);
    size_t files = 0;
    for (auto& e : fs::directory_iterator(img / "layers")) files += e.path().extension() == ".hex";
    EXPECT_EQ(files, qg.layers.size());
  }
  EXPECT_FALSE(fs::exists(out / "img00003"));
  const std::string csv = ReadTextFile(out / "predictions.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  auto m = nlohmann::json::parse(ReadTextFile(out / "manifest.json"));
  EXPECT_EQ(m["images"], 3);
  EXPECT_EQ(m["layers"].size(), qg.layers.size());
  EXPECT_EQ(m["input"]["shape"], nlohmann::json({1, 28, 28}));
  EXPECT_EQ(m["logits"]["zero_point"], qg.layers.back().quant.out_zero_point);
  EXPECT_NE(m["command_line"].get<std::string>().find("--layers"), std::string::npos);

  // A float model is refused with one line, and nothing is written.
  SaveModel(RandomModel("lenet5", 5), dir / "float.qmodel");
  CliResult bad = RunCli("run " + (dir / "float.qmodel").string() + " --data " +
                             (dir / "data").string() + " -o " + (dir / "x").string(),
                         dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("quantize it first"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "x"));

  // A directory qaccel run did not write is never replaced (nor its files deleted).
  AtomicWriteText(dir / "mine" / "notes.txt", "keep me");
  CliResult foreign =
      RunCli("run " + (dir / "int8.qmodel").string() + " --data " + (dir / "data").string() +
                 " --limit 1 -o " + (dir / "mine").string(),
             dir);
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("was not written by qaccel"), std::string::npos) << foreign.err;
  EXPECT_EQ(ReadTextFile(dir / "mine" / "notes.txt"), "keep me");
  // Writing again over its own vectors is allowed.
  EXPECT_EQ(RunCli("run " + (dir / "int8.qmodel").string() + " --data " + (dir / "data").string() +
                       " --limit 1 -o " + out.string(),
                   dir)
                .exit_code,
            0);
}
