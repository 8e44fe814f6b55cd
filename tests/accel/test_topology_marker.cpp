// SCALE-Sim ignores the last comma-separated field of a topology row; its
// MobileNet topologies put a "#dw" marker there. qaccel reads such rows as
// SCALE-Sim does: the marker is ignored and the reports are those of the
// same rows without it (docs/topology.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using namespace qaccel::accel;

namespace {

const fs::path kGolden = fs::path(QACCEL_SOURCE_DIR) / "tests/golden";

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

std::string Reports(const ArchConfig& arch, const std::vector<LayerSpec>& layers) {
  const auto m = SimulateNetwork(arch, layers);
  return ComputeReportCsv(m) + BandwidthReportCsv(m) + DetailedAccessReportCsv(m);
}

}  // namespace

TEST(TopologyMarker, DepthwiseMarkerIsIgnored) {
  const std::string marked = qaccel::ReadTextFile(kGolden / "topology/mobilenet_dw_marker.csv");
  const std::string plain = ReplaceAll(marked, ",#dw", ",");
  const auto a = ParseTopology(marked, "marked.csv", TopologyFormat::kConv);
  const auto b = ParseTopology(plain, "plain.csv", TopologyFormat::kConv);
  ASSERT_EQ(a.size(), 7u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].macs(), b[i].macs()) << a[i].name;
    EXPECT_EQ(a[i].stride_w, b[i].stride_w) << a[i].name;
  }
  // As written in SCALE-Sim's files: one channel, one filter, stride on both axes.
  EXPECT_EQ(a[3].name, "Conv4_dw");
  EXPECT_EQ(a[3].channels, 1);
  EXPECT_EQ(a[3].num_filters, 1);
  EXPECT_EQ(a[3].stride_h, 2);
  EXPECT_EQ(a[3].stride_w, 2);
  for (Dataflow df :
       {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
    ArchConfig arch;
    arch.array_rows = 8;
    arch.array_cols = 16;
    arch.ifmap_sram_kb = arch.filter_sram_kb = arch.ofmap_sram_kb = 1;
    arch.dataflow = df;
    EXPECT_EQ(Reports(arch, a), Reports(arch, b)) << DataflowName(df);
  }
}

// Anchored to SCALE-Sim itself: its golden reports for edge_cases.csv are
// reproduced from the same rows written with markers.
TEST(TopologyMarker, MarkedRowsGiveScaleSimGoldenReports) {
  const fs::path root = kGolden / "scalesim";
  std::string text = qaccel::ReadTextFile(root / "inputs/edge_cases.csv");
  text = ReplaceAll(text, ", 1,\n", ", 1,#dw\n");
  ASSERT_NE(text.find("#dw"), std::string::npos);
  const auto layers = ParseTopology(text, "edge_marked.csv", TopologyFormat::kConv);
  const auto cfg = ReadScaleSimConfig(root / "inputs/os_8x16_calc.cfg");
  const auto m = SimulateNetwork(cfg.arch, layers);
  EXPECT_EQ(ComputeReportCsv(m),
            qaccel::ReadTextFile(root / "edge_os_8x16_calc/COMPUTE_REPORT.csv"));
  EXPECT_EQ(DetailedAccessReportCsv(m),
            qaccel::ReadTextFile(root / "edge_os_8x16_calc/DETAILED_ACCESS_REPORT.csv"));
}

// A non-numeric field is still an error where SCALE-Sim reads it.
TEST(TopologyMarker, NonNumericFieldBeforeTrailingCommaIsAnError) {
  try {
    ParseTopology("L, 8, 8, 3, 3, 1, 1, 1, #dw,\n", "t.csv", TopologyFormat::kConv);
    FAIL() << "no error";
  } catch (const qaccel::Error& e) {
    EXPECT_NE(std::string(e.what()).find("field 'Stride Width' must be an integer"),
              std::string::npos)
        << e.what();
  }
}
