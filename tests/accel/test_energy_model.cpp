// Energy and area arithmetic on hand-checked numbers, and the .cfg sections.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "qaccel/accel/energy.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"

using namespace qaccel;
using namespace qaccel::accel;

namespace {

LayerMetrics HandLayer() {
  LayerMetrics m;
  m.name = std::string("L");
  m.macs = 1000;
  m.word_bytes = 1;
  m.ifmap_sram_reads = 300;
  m.filter_sram_reads = 200;
  m.ofmap_sram_writes = 50;
  m.ifmap_dram_reads = 40;
  m.filter_dram_reads = 20;
  m.ofmap_dram_writes = 10;
  return m;
}

}  // namespace

TEST(EnergyModel, HandCheckedOutputStationaryLayer) {
  ArchConfig c;
  c.dataflow = Dataflow::kOutputStationary;
  LayerEnergy e = ComputeLayerEnergy(c, HandLayer(), EnergyTable{});
  // os: rf = 2 * psum(4) = 8 B/MAC, link = 2 * 1 B/MAC.
  EXPECT_EQ(e.rf_bytes, 8000);
  EXPECT_EQ(e.inter_pe_bytes, 2000);
  EXPECT_EQ(e.sram_read_bytes, 300 + 200 + 10);
  EXPECT_EQ(e.sram_write_bytes, 50 + 40 + 20);
  EXPECT_EQ(e.dram_read_bytes, 60);
  EXPECT_EQ(e.dram_write_bytes, 10);
  // 1000 MAC + 8000 RF + 2*2000 link + 6*510 + 6*110 + 200*60 + 200*10
  EXPECT_DOUBLE_EQ(e.total_pj(), 1000 + 8000 + 4000 + 3060 + 660 + 12000 + 2000);
}

TEST(EnergyModel, WeightStationaryWordBytesAndCustomTable) {
  ArchConfig c;
  c.dataflow = Dataflow::kWeightStationary;
  LayerMetrics m = HandLayer();
  m.word_bytes = 2;
  EnergyTable t;
  t.dram_read_pj = 100;
  t.psum_bytes = 2;
  LayerEnergy e = ComputeLayerEnergy(c, m, t);
  EXPECT_EQ(e.rf_bytes, 2000);        // weight, 2 B per MAC
  EXPECT_EQ(e.inter_pe_bytes, 4000);  // ifmap 2 B + psum 2 B per MAC
  EXPECT_EQ(e.dram_read_bytes, 120);
  EXPECT_DOUBLE_EQ(e.mac_pj, 2000);  // 1 pJ x 1000 MACs x 2 bytes
  EXPECT_DOUBLE_EQ(e.dram_read_pj, 12000);
  EXPECT_DOUBLE_EQ(e.total_pj(), 2000 + 2000 + 8000 + 6 * 1020 + 6 * 220 + 12000 + 200 * 20);
  auto sum = SumEnergy({e, e});
  EXPECT_EQ(sum.name, "total");
  EXPECT_DOUBLE_EQ(sum.total_pj(), 2 * e.total_pj());
}

TEST(EnergyModel, AreaProxy) {
  ArchConfig c;
  c.array_rows = 16;
  c.array_cols = 8;
  c.ifmap_sram_kb = 64;
  c.filter_sram_kb = 32;
  c.ofmap_sram_kb = 16;
  AreaEstimate a = EstimateArea(c, AreaModel{});
  EXPECT_EQ(a.pes, 128);
  EXPECT_DOUBLE_EQ(a.sram_kb, 112);
  EXPECT_DOUBLE_EQ(a.area_mm2, 128 * 0.0025 + 112 * 0.002);
}

TEST(EnergyModel, CfgSectionsOverrideAndErrorsNameFileLineKey) {
  auto dir = std::filesystem::temp_directory_path() / "qaccel_test_energy";
  std::filesystem::create_directories(dir);
  auto cfg = dir / "e.cfg";
  std::ofstream(cfg)
      << "[general]\nrun_name = x\n[energy]\ndram_read_pj = 150\n; comment\npsum_bytes = 2\n"
         "[area]\npe_mm2 = 0.01\n";
  EnergyTable t;
  AreaModel a;
  ReadEnergySections(cfg, &t, &a);
  EXPECT_DOUBLE_EQ(t.dram_read_pj, 150);
  EXPECT_EQ(t.psum_bytes, 2);
  EXPECT_DOUBLE_EQ(t.dram_write_pj, 200);
  EXPECT_DOUBLE_EQ(a.pe_mm2, 0.01);
  std::ofstream(cfg) << "[energy]\nsram_rd_pj = 3\n";
  try {
    ReadEnergySections(cfg, &t, &a);
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("e.cfg:2"), std::string::npos) << w;
    EXPECT_NE(w.find("sram_rd_pj"), std::string::npos) << w;
  }
  std::filesystem::remove_all(dir);
}

TEST(EnergyModel, ReportCsvHasUnitsInColumnNames) {
  ArchConfig c;
  auto rows = ComputeNetworkEnergy(c, {HandLayer()}, EnergyTable{});
  std::string csv = EnergyReportCsv(rows);
  EXPECT_EQ(
      csv.substr(0, csv.find('\n')),
      "LayerID, Layer name, macs, rf_bytes, inter_pe_bytes, sram_read_bytes, sram_write_bytes, "
      "dram_read_bytes, dram_write_bytes, mac_energy_pj, rf_energy_pj, inter_pe_energy_pj, "
      "sram_read_energy_pj, sram_write_energy_pj, dram_read_energy_pj, dram_write_energy_pj, "
      "static_energy_pj, energy_pj,");
  EXPECT_NE(csv.find("\n0, L, 1000, 8000, 2000, 510, 110, 60, 10, "), std::string::npos) << csv;
}
