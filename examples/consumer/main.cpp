// Embedding qaccel: build LeNet-5 from the zoo, count it, and simulate it on a
// 32x32 output-stationary array -- the library calls behind `qaccel info` and
// `qaccel sim`, without the command line and without libtorch.
#include <cstdio>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/graph/zoo.h"

int main() {
  qaccel::Graph g = qaccel::BuildZooModel("lenet5", {});
  qaccel::analysis::GraphCost stats = qaccel::analysis::Analyze(g);
  std::printf("%s: %lld MACs, %lld parameters\n", g.name.c_str(),
              static_cast<long long>(stats.total_macs), static_cast<long long>(stats.total_params));
  qaccel::accel::ArchConfig arch;
  arch.array_rows = arch.array_cols = 32;
  qaccel::accel::Topology topo = qaccel::accel::TopologyFromGraph(g);
  auto layers = qaccel::accel::SimulateNetwork(arch, topo.layers);
  qaccel::accel::NetworkTotals t = qaccel::accel::SumNetwork(arch, layers);
  std::printf("32x32 os array: %lld cycles, %.1f%% utilization\n",
              static_cast<long long>(t.total_cycles), t.overall_util_pct);
  return 0;
}
