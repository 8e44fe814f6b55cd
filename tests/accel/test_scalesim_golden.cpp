// Golden-file tests: our simulator against SCALE-Sim v2's own report CSVs
// (tests/golden/scalesim/<case>/, produced by make_goldens.sh from the inputs
// in tests/golden/scalesim/inputs/). Every column of every report is compared:
// integers exactly, floats to 1e-12 relative (they are also expected to be
// byte-identical, which is checked separately).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using namespace qaccel::accel;

namespace {

const fs::path kRoot = fs::path(QACCEL_SOURCE_DIR) / "tests/golden/scalesim";

struct Case {
  std::string name, cfg, topo, kind;
};

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::ifstream in(kRoot / "cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    Case c;
    ss >> c.name >> c.cfg >> c.topo >> c.kind;
    if (fs::exists(kRoot / c.name / "COMPUTE_REPORT.csv")) cases.push_back(c);
  }
  return cases;
}

std::vector<std::vector<std::string>> SplitCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      size_t b = cell.find_first_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b));
    }
    rows.push_back(cells);
  }
  return rows;
}

bool IsInt(const std::string& s) {
  return !s.empty() && s.find_first_of(".e") == std::string::npos;
}

// Compares two report CSVs column by column; returns a readable list of
// mismatches (empty when equal).
std::string DiffReport(const std::string& golden, const std::string& ours) {
  const auto g = SplitCsv(golden), o = SplitCsv(ours);
  std::ostringstream err;
  if (g.size() != o.size()) err << "row count " << g.size() << " vs " << o.size() << "\n";
  for (size_t r = 0; r < std::min(g.size(), o.size()); ++r) {
    if (g[r].size() != o[r].size()) {
      err << "row " << r << ": column count " << g[r].size() << " vs " << o[r].size() << "\n";
      continue;
    }
    for (size_t c = 0; c < g[r].size(); ++c) {
      const std::string& a = g[r][c];
      const std::string& b = o[r][c];
      if (r == 0 || a.empty()) {
        if (a != b) err << "header/col " << c << ": '" << a << "' vs '" << b << "'\n";
        continue;
      }
      const std::string col = g[0][c];
      if (IsInt(a)) {
        if (a != b)
          err << "layer " << r - 1 << " [" << col << "]: golden " << a << ", ours " << b << "\n";
      } else {
        const double x = std::stod(a), y = std::stod(b);
        const double tol = 1e-12 * std::max(1.0, std::fabs(x));
        if (!(std::fabs(x - y) <= tol))
          err << "layer " << r - 1 << " [" << col << "]: golden " << a << ", ours " << b
              << " (diff " << x - y << ")\n";
      }
    }
  }
  return err.str();
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ScaleSimGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ScaleSimGolden, EveryColumnMatches) {
  const Case& c = GetParam();
  const auto cfg = ReadScaleSimConfig(kRoot / "inputs" / c.cfg);
  const auto layers = ReadTopology(
      kRoot / "inputs" / c.topo, c.kind == "gemm" ? TopologyFormat::kGemm : TopologyFormat::kConv);
  const auto metrics = SimulateNetwork(cfg.arch, layers);
  const std::pair<const char*, std::string> reports[] = {
      {"COMPUTE_REPORT.csv", ComputeReportCsv(metrics)},
      {"BANDWIDTH_REPORT.csv", BandwidthReportCsv(metrics)},
      {"DETAILED_ACCESS_REPORT.csv", DetailedAccessReportCsv(metrics)},
  };
  for (const auto& [file, ours] : reports) {
    const std::string golden = qaccel::ReadTextFile(kRoot / c.name / file);
    const std::string diff = DiffReport(golden, ours);
    EXPECT_TRUE(diff.empty()) << c.name << "/" << file << " NOT OK:\n" << diff;
    EXPECT_EQ(golden, ours) << c.name << "/" << file << " is not byte-identical";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ScaleSimGolden, ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

TEST(ScaleSimGoldenSet, AllListedCasesHaveGoldens) {
  std::ifstream in(kRoot / "cases.txt");
  std::string line;
  int listed = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++listed;
    std::istringstream ss(line);
    std::string name;
    ss >> name;
    EXPECT_TRUE(fs::exists(kRoot / name / "COMPUTE_REPORT.csv")) << "missing golden for " << name;
  }
  EXPECT_GE(listed, 20);
}

}  // namespace
