// CLI: `qaccel export` writes a complete directory atomically, replaces an
// old one, and refuses bad input with one error line and no output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../common/test_models.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/quant/quantize.h"

using namespace qaccel;
using namespace qaccel::testing;
namespace fs = std::filesystem;

TEST(CliExport, WritesReplacesAndRefuses) {
  const auto dir = ScratchDir("cli_export");
  Graph fg = RandomModel("lenet5", 3);
  quant::QuantizeOptions o;
  o.calibration = 8;
  Graph qg = quant::QuantizeGraph(fg, SyntheticImages(8, 1, 28, 28, 1), o);
  SaveModel(fg, dir / "float.qmodel");
  SaveModel(qg, dir / "int8.qmodel");
  const fs::path out = dir / "hw";

  CliResult r =
      RunCli("export " + (dir / "int8.qmodel").string() + " --format hex -o " + out.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "manifest.json"));
  EXPECT_TRUE(fs::exists(out / "fc3.weight.hex"));
  auto m = nlohmann::json::parse(ReadTextFile(out / "manifest.json"));
  EXPECT_NE(m["command"].get<std::string>().find("--format hex"), std::string::npos);
  EXPECT_EQ(m["file_format"], "hex");
  // Exporting again in another format replaces the directory (no stale .hex files).
  r = RunCli("export " + (dir / "int8.qmodel").string() + " --format txt -o " + out.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "fc3.weight.txt"));
  EXPECT_FALSE(fs::exists(out / "fc3.weight.hex"));

  struct Case {
    std::string args, what;
  };
  for (const Case& c :
       {Case{"export " + (dir / "float.qmodel").string() + " -o " + (dir / "x").string(),
             "not quantized"},
        Case{"export " + (dir / "nope.qmodel").string() + " -o " + (dir / "x").string(),
             "nope.qmodel"},
        Case{
            "export " + (dir / "int8.qmodel").string() + " --format csv -o " + (dir / "x").string(),
            "unknown --format 'csv'"}}) {
    CliResult bad = RunCli(c.args, dir);
    EXPECT_EQ(bad.exit_code, 1) << c.args;
    EXPECT_NE(bad.err.find(c.what), std::string::npos) << bad.err;
    EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
    EXPECT_FALSE(fs::exists(dir / "x"));
  }
  for (auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(dir);
}
