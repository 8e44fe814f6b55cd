// `qaccel sim`: SCALE-Sim v2 drop-in. Reads a SCALE-Sim .cfg and topology CSV
// (conv or M,N,K GEMM form), simulates every layer with the qaccel cost model
// and writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv,
// DETAILED_ACCESS_REPORT.csv (SCALE-Sim's format) plus SUMMARY.json and
// summary.csv under OUT_DIR/<run_name>/.
//   qaccel sim -c CONFIG.cfg -t TOPOLOGY.csv -p OUT_DIR [-i conv|gemm]
//              [--rows N] [--cols N] [--dataflow os|ws|is] [--word-bytes B]
//   qaccel sim -m MODEL [--batch N] ...   (a .qmodel or zoo name instead of -t)
// Optional [energy]/[area] sections of the config feed ENERGY_REPORT.csv.
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "qaccel/accel/dataflow_registry.h"
#include "qaccel/accel/reports.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/core/error.h"
#include "qaccel/core/join_names.h"
#include "sim_model_energy.h"  // model input (-m) and the energy report

namespace {

struct SimOptions {
  std::string config, topology, out_dir = ".", input_type = "conv", dataflow;
  int rows = 0, cols = 0, word_bytes = 0;
  std::string model;  // a model / zoo name instead of a topology CSV
  int64_t batch = 1;
  std::string energy_table;  // an energy-reference table file (energy.h)
};

void PrintSummary(const qaccel::accel::ArchConfig& c,
                  const std::vector<qaccel::accel::LayerMetrics>& ms, const std::string& dir) {
  std::printf("qaccel sim: %dx%d %s array, %s bandwidth, run '%s'\n", c.array_rows, c.array_cols,
              qaccel::accel::DataflowName(c.dataflow),
              c.bw_mode == qaccel::accel::BandwidthMode::kUser ? "USER" : "CALC",
              c.run_name.c_str());
  std::printf("%-4s %-16s %14s %12s %9s %9s %14s %14s\n", "id", "layer", "total_cycles",
              "stall_cycles", "util_%", "map_eff_%", "dram_rd_words", "dram_wr_words");
  for (size_t i = 0; i < ms.size(); ++i) {
    const auto& m = ms[i];
    std::printf(
        "%-4zu %-16.16s %14lld %12lld %9.2f %9.2f %14lld %14lld\n", i, m.name.c_str(),
        static_cast<long long>(m.total_cycles), static_cast<long long>(m.stall_cycles),
        m.overall_util_pct, m.mapping_efficiency_pct,
        static_cast<long long>(m.ifmap_dram_reads) + static_cast<long long>(m.filter_dram_reads),
        static_cast<long long>(m.ofmap_dram_writes));
  }
  const auto t = qaccel::accel::SumNetwork(c, ms);
  std::printf("%-4s %-16s %14lld %12lld %9.2f %9s %14lld %14lld\n", "all", "network",
              static_cast<long long>(t.total_cycles), static_cast<long long>(t.stall_cycles),
              t.overall_util_pct, "", static_cast<long long>(t.dram_read_words),
              static_cast<long long>(t.dram_write_words));
  std::printf("reports written to %s\n", dir.c_str());
}

void Setup(CLI::App* sub) {
  auto opt = std::make_shared<SimOptions>();
  sub->add_option("-c,--config", opt->config,
                  "SCALE-Sim .cfg file (default: the ArchConfig defaults in accel/cost_model.h: "
                  "32x32 os, 64 kB SRAMs, CALC bandwidth)");
  sub->add_option("-t,--topology", opt->topology,
                  "topology CSV (default: TopologyCsvLoc of the config)");
  sub->add_option("-p,--out", opt->out_dir, "output directory; reports go to <dir>/<run_name>/");
  sub->add_option("-i,--input-type", opt->input_type, "topology format: conv or gemm (M,N,K)");
  sub->add_option("--rows", opt->rows, "override ArrayHeight");
  sub->add_option("--cols", opt->cols, "override ArrayWidth");
  sub->add_option(
      "--dataflow", opt->dataflow,
      "override Dataflow (" +
          qaccel::JoinNames(qaccel::accel::Dataflows(), &qaccel::accel::DataflowInfo::name) + ")");
  sub->add_option("--word-bytes", opt->word_bytes, "bytes per element (default 1, as SCALE-Sim)");
  // A model (.qmodel or zoo name) instead of a topology CSV; -t also accepts one.
  sub->add_option("-m,--model", opt->model,
                  "model (.qmodel or zoo name) instead of a topology CSV");
  sub->add_option("--batch", opt->batch, "batch size for -m (conv -> GEMM when > 1)");
  sub->add_option("--energy-table", opt->energy_table,
                  "energy-reference table file (docs/energy.md); overrides the .cfg's [energy]");
  sub->callback([opt] {
    using namespace qaccel::accel;
    if (opt->input_type != "conv" && opt->input_type != "gemm")
      throw qaccel::Error("-i must be conv or gemm, got '" + opt->input_type + "'");
    // Without -c the design point is ArchConfig's documented defaults (the
    // values of SCALE-Sim's example config), adjustable with --rows/--cols/--dataflow.
    ScaleSimConfigFile cfg;
    if (!opt->config.empty()) cfg = ReadScaleSimConfig(opt->config);
    if (opt->rows != 0) {
      if (opt->rows < 1) throw qaccel::Error("--rows must be >= 1");
      cfg.arch.array_rows = opt->rows;
    }
    if (opt->cols != 0) {
      if (opt->cols < 1) throw qaccel::Error("--cols must be >= 1");
      cfg.arch.array_cols = opt->cols;
    }
    if (!opt->dataflow.empty()) cfg.arch.dataflow = ParseDataflow(opt->dataflow);
    if (!opt->energy_table.empty())
      ReadEnergyReferenceTable(opt->energy_table, &cfg.energy, &cfg.area);
    if (opt->word_bytes != 0) {
      if (opt->word_bytes < 1) throw qaccel::Error("--word-bytes must be >= 1");
      cfg.arch.word_bytes = opt->word_bytes;
    }
    std::string topo = opt->topology.empty() ? cfg.topology_path : opt->topology;
    // A model in place of the topology (word size from its bit widths unless --word-bytes).
    std::unique_ptr<Topology> model_topo;
    if (!opt->model.empty() || (!topo.empty() && qaccel::cli::IsModelSpec(topo))) {
      model_topo = std::make_unique<Topology>(
          qaccel::cli::SimTopologyFromModel(opt->model.empty() ? topo : opt->model, opt->batch));
      if (opt->word_bytes == 0) cfg.arch.word_bytes = model_topo->word_bytes;
    }
    if (topo.empty() && !model_topo)
      throw qaccel::Error("no topology: pass -t TOPOLOGY.csv or -m MODEL");
    const auto layers = model_topo
                            ? model_topo->layers
                            : ReadTopology(topo, opt->input_type == "gemm" ? TopologyFormat::kGemm
                                                                           : TopologyFormat::kConv);
    if (layers.empty()) throw qaccel::Error("no layers to simulate");
    const auto metrics = SimulateNetwork(cfg.arch, layers);
    // One output set, written as a whole into OUT_DIR/<run_name>/.
    WriteSimReports(cfg.arch, metrics, opt->out_dir, qaccel::cli::CommandLine(),
                    {qaccel::cli::EnergyReportFile(cfg.energy, cfg.arch, metrics)},
                    {opt->config, topo, opt->model});
    PrintSummary(cfg.arch, metrics,
                 (std::filesystem::path(opt->out_dir) / cfg.arch.run_name).string());
    qaccel::cli::PrintEnergy(cfg.energy, cfg.area, cfg.arch, metrics, model_topo.get());
  });
}

}  // namespace

QACCEL_COMMAND(sim, "Simulate a systolic array (SCALE-Sim v2 compatible reports)", Setup);
