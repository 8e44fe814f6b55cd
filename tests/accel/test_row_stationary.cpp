// Row stationary (dataflow_rs.h): the mapping on the Eyeriss chip's array,
// its cycles against the chip's reported AlexNet latencies, its energy
// against os/ws/is, its golden reports; and the energy model's static part
// and energy-reference table file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "qaccel/accel/dataflow_registry.h"
#include "qaccel/accel/dataflow_rs.h"
#include "qaccel/accel/energy.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using namespace qaccel;
using namespace qaccel::accel;

namespace {

const fs::path kSrc = fs::path(QACCEL_SOURCE_DIR);

ArchConfig Eyeriss(Dataflow df = Dataflow::kRowStationary) {
  ArchConfig c = ReadScaleSimConfig(kSrc / "examples/eyeriss/eyeriss_rs.cfg").arch;
  c.word_bytes = 2;
  c.dataflow = df;
  return c;
}

std::vector<LayerSpec> AlexNetConv() {
  return ReadTopology(kSrc / "examples/eyeriss/alexnet_conv.csv", TopologyFormat::kConv);
}

}  // namespace

TEST(RowStationary, RegisteredAsRs) {
  EXPECT_EQ(ParseDataflow("rs"), Dataflow::kRowStationary);
  EXPECT_STREQ(DataflowName(Dataflow::kRowStationary), "rs");
  const auto names = DataflowNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "rs"), names.end());
}

TEST(RowStationary, MappingOnTheEyerissArray) {
  const auto layers = AlexNetConv();
  // CONV1: 11 x 55 set -> 4 strips of 14, one piece per pass (154 PEs).
  RowStationaryPlan p = RowStationaryPlan::Of(12, 14, layers[0]);
  EXPECT_EQ(p.strips, 4);
  EXPECT_EQ(p.e, 14);
  EXPECT_EQ(p.slots_v * p.slots_h, 1);
  EXPECT_EQ(p.used_pes, 154);
  EXPECT_EQ(p.q, 1);
  EXPECT_EQ(p.p, 20);  // 224 / 11 filter weights in the spad
  // CONV2: 5 x 27 folded into 2 strips, stacked (2 pieces of 5 x 14).
  p = RowStationaryPlan::Of(12, 14, layers[1]);
  EXPECT_EQ(p.strips, 2);
  EXPECT_EQ(p.slots_v, 2);
  EXPECT_EQ(p.used_pes, 140);
  // CONV3: 3 x 13 replicated 4 times vertically (156 PEs, as on the chip).
  p = RowStationaryPlan::Of(12, 14, layers[2]);
  EXPECT_EQ(p.slots_v, 4);
  EXPECT_EQ(p.slots_h, 1);
  EXPECT_EQ(p.used_pes, 156);
  EXPECT_EQ(p.q, 4);
  // Filter rows folded when R exceeds the array height.
  LayerSpec tall;
  tall.ifmap_h = tall.ifmap_w = 20;
  tall.filter_h = tall.filter_w = 7;
  p = RowStationaryPlan::Of(4, 8, tall);
  EXPECT_EQ(p.row_folds, 2);
  EXPECT_EQ(p.Rp, 4);
}

// JSSC 2017 (Chen et al.), AlexNet CONV1-5 at 200 MHz, batch 4: 20.9, 41.9,
// 23.6, 18.4, 10.5 ms (docs/simulator.md). Cycles x 4 images / 200 MHz must
// be within 25% of each.
TEST(RowStationary, AlexNetCyclesWithin25PercentOfTheChip) {
  const double chip_ms[5] = {20.9, 41.9, 23.6, 18.4, 10.5};
  const auto m = SimulateNetwork(Eyeriss(), AlexNetConv());
  ASSERT_EQ(m.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const double ms = static_cast<double>(m[i].total_cycles) * 4 / 200e6 * 1e3;
    EXPECT_LT(std::abs(ms / chip_ms[i] - 1), 0.25) << m[i].name << ": " << ms << " ms";
    EXPECT_EQ(m[i].stall_cycles, 0);
    EXPECT_EQ(m[i].macs, AlexNetConv()[i].macs());
  }
}

TEST(RowStationary, LeastEnergyOnTheEyerissConfiguration) {
  const auto layers = AlexNetConv();
  auto energy = [&](Dataflow df) {
    const ArchConfig c = Eyeriss(df);
    return SumEnergy(ComputeNetworkEnergy(c, SimulateNetwork(c, layers), EnergyTable{}));
  };
  const LayerEnergy rs = energy(Dataflow::kRowStationary);
  EXPECT_GT(rs.rf_bytes, 0);
  for (Dataflow df :
       {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
    const LayerEnergy o = energy(df);
    EXPECT_GT(o.total_pj() / rs.total_pj(), 1.3) << DataflowName(df);
    // On chip alone (no DRAM) RS still wins.
    EXPECT_LT(rs.total_pj() - rs.dram_read_pj - rs.dram_write_pj,
              o.total_pj() - o.dram_read_pj - o.dram_write_pj)
        << DataflowName(df);
  }
}

TEST(RowStationary, GoldenReports) {
  const ArchConfig c = Eyeriss();
  const auto m = SimulateNetwork(c, AlexNetConv());
  const fs::path g = kSrc / "tests/golden/rs/eyeriss_alexnet_rs";
  EXPECT_EQ(ComputeReportCsv(m), ReadTextFile(g / "COMPUTE_REPORT.csv"));
  EXPECT_EQ(BandwidthReportCsv(m), ReadTextFile(g / "BANDWIDTH_REPORT.csv"));
  EXPECT_EQ(DetailedAccessReportCsv(m), ReadTextFile(g / "DETAILED_ACCESS_REPORT.csv"));
}

TEST(RowStationary, UserModeStallsOnASlowDramInterface) {
  ArchConfig c = Eyeriss();
  c.bw_mode = BandwidthMode::kUser;
  c.bandwidth_words_per_cycle = 1;
  const LayerMetrics fast = SimulateLayer(Eyeriss(), AlexNetConv()[2]);
  const LayerMetrics slow = SimulateLayer(c, AlexNetConv()[2]);
  EXPECT_EQ(fast.stall_cycles, 0);
  const int64_t dram = slow.ifmap_dram_reads + slow.filter_dram_reads + slow.ofmap_dram_writes;
  EXPECT_EQ(slow.total_cycles, std::max(fast.total_cycles, dram));
}

TEST(StaticEnergy, ProportionalToPesSramAndCycles) {
  ArchConfig c;
  c.array_rows = 8;
  c.array_cols = 4;
  c.ifmap_sram_kb = c.filter_sram_kb = c.ofmap_sram_kb = 10;
  EnergyTable t;
  t.pe_static_pj = 0.5;
  t.sram_static_pj_per_kb = 0.1;
  EXPECT_DOUBLE_EQ(StaticEnergyPj(c, 1000, t), 1000 * (32 * 0.5 + 30 * 0.1));
  LayerMetrics m;
  m.total_cycles = 1000;
  const LayerEnergy e = ComputeLayerEnergy(c, m, t);
  EXPECT_DOUBLE_EQ(e.static_pj, StaticEnergyPj(c, 1000, t));
  EXPECT_DOUBLE_EQ(e.total_pj(), e.static_pj);
}

TEST(StaticEnergy, SramAccessEnergyGrowsWithTheBuffer) {
  ArchConfig small, big;
  small.ifmap_sram_kb = small.filter_sram_kb = small.ofmap_sram_kb = 64;
  big.ifmap_sram_kb = big.filter_sram_kb = big.ofmap_sram_kb = 256;
  LayerMetrics m;
  m.ifmap_sram_reads = 100;
  EnergyTable t;
  EXPECT_DOUBLE_EQ(ComputeLayerEnergy(small, m, t).sram_read_pj, 600);  // 6 pJ/B at 64 kB
  EXPECT_DOUBLE_EQ(ComputeLayerEnergy(big, m, t).sram_read_pj, 1200);   // x (256/64)^0.5
  t.sram_size_exp = 0;
  EXPECT_DOUBLE_EQ(ComputeLayerEnergy(big, m, t).sram_read_pj, 600);
}

TEST(EnergyReferenceTable, AliasesKnobsAndErrorsNameFileLine) {
  EnergyTable t;
  AreaModel a;
  ParseEnergyReferenceTable(
      "# 45 nm\nmac.compute: 0.5\ndram.read = 100  # pJ/B\n\npe.leak: 0.3\nsram_ref_kb: 64\n"
      "pe.area: 0.004\n",
      "t.ert", &t, &a);
  EXPECT_DOUBLE_EQ(t.mac_pj, 0.5);
  EXPECT_DOUBLE_EQ(t.dram_read_pj, 100);
  EXPECT_DOUBLE_EQ(t.pe_static_pj, 0.3);
  EXPECT_DOUBLE_EQ(t.sram_ref_kb, 64);
  EXPECT_DOUBLE_EQ(a.pe_mm2, 0.004);
  auto error = [&](const std::string& text) {
    try {
      ParseEnergyReferenceTable(text, "t.ert", &t, &a);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("mac.compute: 1\nsram.red: 3\n").find("t.ert:2: unknown key 'sram.red'"),
            std::string::npos);
  EXPECT_NE(error("rf.access: x\n").find("t.ert:1:"), std::string::npos);
  EXPECT_NE(error("dram.read: -1\n").find("t.ert:1:"), std::string::npos);
  EXPECT_NE(error("just words\n").find("t.ert:1:"), std::string::npos);
  EXPECT_NE(error("pe.leak: nan\n").find("t.ert:1:"), std::string::npos);
}
