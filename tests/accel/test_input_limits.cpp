// Malformed or oversized simulator inputs: each is refused up front with one
// message naming the field and the limit (accel/limits.h, docs/simulator.md
// "Input limits"), never a hang, an allocation failure or a silent
// truncation.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "../common/error_of.h"
#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/limits.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"

using namespace qaccel::accel;

namespace {

using qaccel::testing::ErrorOf;

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const std::string kCfg = R"([general]
run_name = lim
[architecture_presets]
ArrayHeight:    8
ArrayWidth:     8
IfmapSramSzkB:  4
FilterSramSzkB: 4
OfmapSramSzkB:  4
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
[run_presets]
InterfaceBandwidth: CALC
)";

std::string With(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

std::string CfgError(const std::string& text) {
  return ErrorOf([&] { ParseScaleSimConfig(text, "c.cfg"); });
}

ArchConfig Arch(int rows, int cols, Dataflow df = Dataflow::kOutputStationary) {
  ArchConfig a;
  a.array_rows = rows;
  a.array_cols = cols;
  a.dataflow = df;
  return a;
}

TEST(InputLimits, ArrayDimensionAboveTheLimitIsNotTruncated) {
  // 4294967297 = 2^32 + 1 used to run as a 1-row array (int truncation).
  EXPECT_EQ(CfgError(With(kCfg, "ArrayHeight:    8", "ArrayHeight: 4294967297")),
            "c.cfg:4: ArrayHeight must be <= 65536, got 4294967297 (docs/simulator.md, Input "
            "limits)");
  EXPECT_TRUE(Has(CfgError(With(kCfg, "ArrayWidth:     8", "ArrayWidth: 20000000")),
                  "c.cfg:5: ArrayWidth must be <= 65536"));
  EXPECT_TRUE(Has(CfgError(kCfg + "[architecture_presets]\n"), "duplicate section"));
  LayerSpec l{"x", 8, 8, 1, 1, 1, 1, 1, 1};
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(Arch(kMaxArrayDim + 1, 4), l); }), "65536"));
}

TEST(InputLimits, DuplicateKeysAndSectionsAreErrors) {
  // Python's configparser (strict=True, its default) rejects both.
  EXPECT_EQ(CfgError(With(kCfg, "Dataflow : os", "Dataflow : os\ndataflow = ws")),
            "c.cfg:14: duplicate key 'dataflow' in [architecture_presets] (first at line 13); "
            "keep one");
  EXPECT_EQ(CfgError(kCfg + "[general]\nrun_name = again\n"),
            "c.cfg:16: duplicate section [general] (first at line 1); merge them into one");
}

TEST(InputLimits, SramSizesMustBeFiniteAndBounded) {
  for (const char* v : {"inf", "nan", "1e20", "1e300"}) {
    const std::string e =
        CfgError(With(kCfg, "IfmapSramSzkB:  4", std::string("IfmapSramSzkB: ") + v));
    EXPECT_TRUE(
        Has(e, "c.cfg:6: IfmapSramSzkB must be a number <= 1073741824 kB, got " + std::string(v)))
        << e;
  }
  EXPECT_EQ(CfgError(With(kCfg, "IfmapSramSzkB:  4", "IfmapSramSzkB: 0")),
            "c.cfg:6: IfmapSramSzkB must be > 0, got 0");
  // The API refuses them too (1e20 kB used to overflow a float-to-int conversion).
  ArchConfig a = Arch(8, 8);
  a.ofmap_sram_kb = 1e20;
  LayerSpec l{"x", 8, 8, 1, 1, 1, 1, 1, 1};
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(a, l); }), "SRAM sizes must be > 0 and <="));
}

TEST(InputLimits, TopologyFieldsAndLayerCountAreBounded) {
  auto err = [](const std::string& text, TopologyFormat f = TopologyFormat::kConv) {
    return ErrorOf([&] { ParseTopology(text, "t.csv", f); });
  };
  // 10^12 filters: refused at the field, naming the limit.
  EXPECT_EQ(err("c1, 8, 8, 3, 3, 1, 1000000000000, 1,\n"),
            "t.csv:1: field 'Num Filter' must be <= 16777216, got 1000000000000 "
            "(docs/simulator.md, Input limits)");
  // A GEMM with M = 10^9 never builds its operand tables.
  EXPECT_TRUE(Has(err("g, 1000000000, 8, 8,\n", TopologyFormat::kGemm), "field 'M' must be <="));
  // DP rows expand per channel: 10^9 channels is a field error, 200,000 a layer-count one.
  EXPECT_TRUE(Has(err("DP1, 8, 8, 3, 3, 1000000000, 1, 1,\n"), "field 'Channels' must be <="));
  EXPECT_EQ(err("DP1, 8, 8, 3, 3, 200000, 1, 1,\n"),
            "t.csv:1: more than 131072 layers (a \"DP\" row expands into one layer per channel: "
            "'Channels' = 200000) (docs/simulator.md, Input limits)");
}

TEST(InputLimits, HugeLayersAreRefusedBeforeAnyWork) {
  const auto t0 = std::chrono::steady_clock::now();
  // GEMM 10^6 x 10^6 x 10^6: the IFMAP matrix alone is 10^12 elements.
  const LayerSpec gemm = LayerSpec::Gemm("g", 1000000, 1000000, 1000000);
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(Arch(32, 32), gemm); }),
                  "layer 'g': IFMAP pixels = 1000000 x 1000000 is above the limit 68719476736"));
  // A 1 x 400400 input with 12,800 1x1 filters on 8x8: 1.2e9 demand rows.
  const LayerSpec wide{"wide", 1, 400400, 1, 1, 1, 12800, 1, 1};
  const std::string e = ErrorOf([&] { SimulateLayer(Arch(8, 8), wide); });
  EXPECT_TRUE(Has(e, "layer 'wide': demand rows (folds x fold length) = ")) << e;
  // A 16M-pixel row under an 8M-wide filter: the IFMAP coverage count used
  // to mark every position of every window (~6 x 10^13 steps).
  const LayerSpec tall{"tall", 16000000, 1, 8000000, 1, 1, 1, 1, 1};
  EXPECT_TRUE(
      Has(ErrorOf([&] { SimulateLayer(Arch(32, 32), tall); }), "layer 'tall': demand rows"));
  EXPECT_TRUE(Has(e, "is above the limit 1073741824")) << e;
  // UNet's Conv5b with 100-word SRAMs replays ~3e9 IFMAP addresses one by one.
  ArchConfig tiny = Arch(32, 32);
  tiny.ifmap_sram_kb = tiny.filter_sram_kb = tiny.ofmap_sram_kb = 0.1;
  const LayerSpec conv5b{"Conv5b", 123, 123, 3, 3, 1024, 1024, 1, 1};
  EXPECT_TRUE(
      Has(ErrorOf([&] { SimulateLayer(tiny, conv5b); }), "layer 'Conv5b': simulated work "));
  // A 1-wide, 1-channel IFMAP under a 1000-row filter: every replayed range
  // is one address (1.6 x 10^10 of them; minutes before it counted them).
  const LayerSpec narrow{"narrow", 1000000, 1, 1000, 1, 1, 500, 1, 1};
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(Arch(32, 32), narrow); }),
                  "layer 'narrow': simulated work "));
  // A 100-word OFMAP buffer drains every row: the 1 x 400400 row with 12,800
  // filters (5 x 10^9 OFMAP writes) stepped element by element for ~1 min in ws.
  ArchConfig small_ofmap = Arch(32, 32, Dataflow::kWeightStationary);
  small_ofmap.ofmap_sram_kb = 0.1;
  small_ofmap.ifmap_sram_kb = small_ofmap.filter_sram_kb = 6000;
  const LayerSpec wide32{"wide", 1, 400400, 1, 1, 1, 12800, 1, 1};
  EXPECT_TRUE(
      Has(ErrorOf([&] { SimulateLayer(small_ofmap, wide32); }), "layer 'wide': simulated work "));
  // USER mode: per-address state is bounded before it is allocated.
  ArchConfig user = Arch(32, 32);
  user.bw_mode = BandwidthMode::kUser;
  const LayerSpec big{"big", 2048, 2048, 3, 3, 16, 16, 1, 1};
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(user, big); }), "USER-mode operand addresses"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

TEST(InputLimits, NetworkChecksEveryLayerBeforeSimulatingAny) {
  // The first layer takes ~2 s to simulate; the refusal of the second comes at once.
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<LayerSpec> layers = {{"slow", 1, 400400, 1, 1, 1, 12800, 1, 1},
                                         LayerSpec::Gemm("huge", 1000000, 1000000, 1000000)};
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateNetwork(Arch(32, 32), layers); }), "layer 'huge'"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

TEST(InputLimits, LimitsLeaveShippedTopologiesAlone) {
  // SCALE-Sim's ResNet-50 largest layers and a UNet layer on its 32x32 / 64 kB config.
  ArchConfig a = Arch(32, 32);
  for (Dataflow df :
       {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
    a.dataflow = df;
    for (const LayerSpec& l : {LayerSpec{"Conv1", 224, 224, 7, 7, 3, 64, 2, 2},
                               LayerSpec{"CB5a_2", 7, 7, 3, 3, 512, 512, 1, 1},
                               LayerSpec{"Conv10", 1864, 1864, 1, 1, 64, 2, 1, 1}})
      EXPECT_EQ(ErrorOf([&] { SimulateLayer(a, l); }), "") << l.name;
  }
}

}  // namespace

TEST(InputLimits, AnIfmapAbove2To30RunsWhenItsPrefetchWindowIsBounded) {
  // SCALE-Sim's UNet GEMM, layer u_enc1_b: an M x K IFMAP of 4,177,936 x 576
  // = 2.4 x 10^9 elements, on a 12x14 weight-stationary array with 36 kB
  // SRAMs (examples/speed/ws_12x14_36k.cfg). The CALC model keeps state for
  // the current prefetch window only, so this runs (in well under a second).
  ArchConfig a = Arch(12, 14, Dataflow::kWeightStationary);
  a.ifmap_sram_kb = a.filter_sram_kb = a.ofmap_sram_kb = 36;
  const LayerSpec gemm = LayerSpec::Gemm("u_enc1_b", 4177936, 64, 576);
  EXPECT_GT(SimulateLayer(a, gemm).total_cycles, 0);
  // The same with a 16 MB IFMAP SRAM: a window of 8.2 M words over it would
  // need a table above kMaxWindowTableEntries; refused in one line.
  a.ifmap_sram_kb = 16000;
  EXPECT_TRUE(Has(ErrorOf([&] { SimulateLayer(a, gemm); }),
                  "needs a window table above the limit 2097152 entries"));
}
