// CLI: `qaccel export` writes a complete directory atomically, replaces an
// old one, and refuses bad input with one error line and no output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../common/test_models.h"
#include "qaccel/export/export.h"
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

// Export never destroys its input: a directory holding the input model is
// refused, and two layers with one name would overwrite each other's files.
TEST(CliExport, RefusesToReplaceItsInputOrOverwriteItself) {
  const auto dir = ScratchDir("cli_export_input");
  quant::QuantizeOptions o;
  o.calibration = 8;
  Graph qg = quant::QuantizeGraph(RandomModel("lenet5", 3), SyntheticImages(8, 1, 28, 28, 1), o);
  SaveModel(qg, dir / "w" / "int8.qmodel");
  CliResult r =
      RunCli("export " + (dir / "w" / "int8.qmodel").string() + " -o " + (dir / "w").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds the input"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "w" / "int8.qmodel"));

  qg.layers[2].name = qg.layers[1].name;
  try {
    exporter::ExportModel(qg, dir / "dup", {});
    ADD_FAILURE() << "duplicate layer names were exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("two layers are named"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "dup"));
}
