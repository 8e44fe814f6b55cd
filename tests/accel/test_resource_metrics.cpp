// The resource-metric registry: names and aliases, the error for an unknown
// name, one aggregation (EvaluateNetwork over distinct shapes equals
// SumNetwork over every layer), and MeasureResource without the DSE.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/resource_metrics.h"
#include "qaccel/core/error.h"

using namespace qaccel::accel;

namespace {

std::vector<LayerSpec> RepeatedLayers() {
  return {LayerSpec{"a", 12, 12, 3, 3, 4, 8, 1, 1}, LayerSpec{"b", 8, 8, 1, 1, 8, 16, 1, 1},
          LayerSpec{"a2", 12, 12, 3, 3, 4, 8, 1, 1}, LayerSpec::Gemm("fc", 4, 10, 64)};
}

ArchConfig Small(Dataflow df) {
  ArchConfig c;
  c.array_rows = 4;
  c.array_cols = 8;
  c.ifmap_sram_kb = c.filter_sram_kb = c.ofmap_sram_kb = 1;
  c.dataflow = df;
  return c;
}

}  // namespace

TEST(ResourceMetrics, NamesAliasesAndUnknown) {
  for (const char* n :
       {"macs", "params", "weight_bytes", "cycles", "total_cycles", "stall_cycles", "energy",
        "energy_pj", "edp", "area", "area_mm2", "pes", "sram_kb", "dram_bytes"})
    EXPECT_TRUE(IsResourceMetric(n)) << n;
  EXPECT_EQ(&FindResourceMetric("cycles"), &FindResourceMetric("total_cycles"));
  try {
    FindResourceMetric("latency_ms");
    FAIL() << "no error";
  } catch (const qaccel::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown metric 'latency_ms'"), std::string::npos) << what;
    EXPECT_NE(what.find("cycles (total_cycles)"), std::string::npos) << what;
    EXPECT_NE(what.find("weight_bytes"), std::string::npos) << what;
  }
}

TEST(ResourceMetrics, OneAggregationOverDistinctShapesEqualsEveryLayer) {
  const std::vector<LayerSpec> layers = RepeatedLayers();
  const Workload w = MakeWorkload(layers);
  ASSERT_EQ(w.unique.size(), 3u);
  for (Dataflow df :
       {Dataflow::kOutputStationary, Dataflow::kWeightStationary, Dataflow::kInputStationary}) {
    const ArchConfig c = Small(df);
    const NetworkTotals all = SumNetwork(c, SimulateNetwork(c, layers));
    const NetworkEvaluation e = EvaluateNetwork(c, w, EnergyTable{}, AreaModel{});
    EXPECT_EQ(e.totals.total_cycles, all.total_cycles);
    EXPECT_EQ(e.totals.stall_cycles, all.stall_cycles);
    EXPECT_EQ(e.totals.macs, all.macs);
    EXPECT_EQ(e.totals.dram_read_bytes, all.dram_read_bytes);
    EXPECT_EQ(e.totals.sram_write_words, all.sram_write_words);
    EXPECT_DOUBLE_EQ(e.totals.overall_util_pct, all.overall_util_pct);
    EXPECT_DOUBLE_EQ(e.totals.compute_util_pct, all.compute_util_pct);
    EXPECT_EQ(e.model.macs, all.macs);
  }
}

TEST(ResourceMetrics, MeasureResourceWithoutTheSearch) {
  const Workload w = MakeWorkload(RepeatedLayers());
  const ArchConfig c = Small(Dataflow::kWeightStationary);
  const NetworkEvaluation e = EvaluateNetwork(c, w, EnergyTable{}, AreaModel{});
  for (const ResourceMetric& m : ResourceMetrics())
    EXPECT_DOUBLE_EQ(MeasureResource(m.name, c, w, EnergyTable{}, AreaModel{}), m.value(e))
        << m.name;
  EXPECT_EQ(MeasureResource("pes", c, w, EnergyTable{}, AreaModel{}), 32);
  EXPECT_DOUBLE_EQ(MeasureResource("edp", c, w, EnergyTable{}, AreaModel{}),
                   e.energy_pj * static_cast<double>(e.totals.total_cycles));
  // The model's own counts, when given, replace the topology's.
  const ModelCounts counts{1000, 200, 800};
  EXPECT_EQ(MeasureResource("weight_bytes", c, w, EnergyTable{}, AreaModel{}, &counts), 800);
  EXPECT_EQ(MeasureResource("params", c, w, EnergyTable{}, AreaModel{}),
            4.0 * 8 * 9 * 2 + 8 * 16 + 64 * 10);
}
