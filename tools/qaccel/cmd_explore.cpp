// `qaccel explore SPACE.toml (--model MODEL|ZOO [--batch N] | --topology CSV
// [-i conv|gemm]) [--strategy S] [--seed N] [--threads N] -o OUT_DIR`: design-space exploration of
// the systolic array for one network (dse/explore.h lists the outputs). Everything is validated
// before the search starts; outputs are written only at the end, atomically, so an error leaves
// nothing behind.
#include <cstdio>
#include <filesystem>
#include <thread>

#include "command.h"
#include "mpi_distributor.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/dse/explore.h"
#include "qaccel/dse/strategy.h"
#include "qaccel/graph/model_file.h"

namespace {

struct Opts {
  std::string space, model, topology, strategy, out, input_type = "conv";
  std::string energy_table;  // an energy-reference table file (energy.h)
  int64_t batch = 1;
  int64_t seed = -1;
  int threads = 0;
  bool quiet = false;
  bool resume = false;
};

// What makes two runs the same run (checkpoint.h): a hash of the space
// file, the workload's layers, the word size, strategy, seed and version.
std::string RunFingerprint(const Opts& o, const qaccel::accel::Topology& topo,
                           const qaccel::dse::ExploreOptions& eo) {
  std::string text = qaccel::ReadTextFile(o.space) + "\n" +
                     (o.energy_table.empty() ? "" : qaccel::ReadTextFile(o.energy_table)) + "\n" +
                     eo.strategy + " " +
                     std::to_string(eo.seed) + " " + std::to_string(eo.base.word_bytes) + " " +
                     QACCEL_VERSION + "\n";
  for (const auto& l : topo.layers)
    for (int64_t v : {l.ifmap_h, l.ifmap_w, l.filter_h, l.filter_w, l.channels, l.num_filters,
                      l.stride_h, l.stride_w})
      text += std::to_string(v) + ",";
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char b[32];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}

// OUT.partial: the work directory of an interrupted run, next to OUT.
std::filesystem::path PartialDir(const std::string& out) {
  std::filesystem::path p = std::filesystem::path(out).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.string() + ".partial";
}

void PrintFront(const char* title, const qaccel::dse::ExploreResult& r,
                const std::vector<size_t>& front) {
  std::printf("Pareto front, total cycles vs %s (%zu points):\n", title, front.size());
  std::printf("  %8s %10s %14s %14s %10s  %s\n", "point", "PEs", "total_cycles", "energy_pj",
              "area_mm2", "design");
  for (size_t i : front) {
    const auto& p = r.points[i];
    std::printf("  %8zu %10lld %14lld %14.6g %10.4g  %s\n", i, static_cast<long long>(p.area.pes),
                static_cast<long long>(p.total_cycles), p.energy_pj, p.area.area_mm2,
                qaccel::dse::DescribePoint(p).c_str());
  }
}

qaccel::accel::Topology LoadWorkload(const Opts& o) {
  using namespace qaccel;
  accel::Topology topo;
  if (!o.model.empty()) {
    accel::TopologyOptions topt;
    topt.batch = o.batch;
    return accel::TopologyFromGraph(LoadModelOrZoo(o.model), topt);
  }
  topo.model = std::filesystem::path(o.topology).stem().string();
  topo.layers =
      accel::ReadTopology(o.topology, o.input_type == "gemm" ? accel::TopologyFormat::kGemm
                                                             : accel::TopologyFormat::kConv);
  topo.word_bytes = 1;  // SCALE-Sim's assumption; override with [memory] word_bytes
  return topo;
}

// The search with its checkpoint in `partial` (OUT.partial/), kept until
// the outputs are in place; removed on an error if this run created it.
qaccel::dse::ExploreResult ExploreWithCheckpoint(const Opts& o,
                                                 const qaccel::dse::DesignSpace& space,
                                                 const qaccel::accel::Topology& topo,
                                                 qaccel::dse::ExploreOptions eo,
                                                 const std::filesystem::path& partial) {
  const bool partial_existed = std::filesystem::exists(partial);
  try {
    qaccel::dse::ExploreCheckpoint checkpoint(partial / "evaluated.txt",
                                              RunFingerprint(o, topo, eo), o.resume);
    eo.checkpoint = &checkpoint;
    return qaccel::dse::Explore(space, topo.layers, eo);
  } catch (const qaccel::Error&) {
    if (!partial_existed) std::filesystem::remove_all(partial);  // ours, and of no use
    throw;
  }
}

// The space file, its energies overridden by --energy-table.
qaccel::dse::DesignSpace LoadSpace(const Opts& o) {
  qaccel::dse::DesignSpace space = qaccel::dse::LoadDesignSpace(o.space);
  if (!o.energy_table.empty())
    qaccel::accel::ReadEnergyReferenceTable(o.energy_table, &space.energy, &space.area);
  return space;
}

// Under mpirun every rank runs the same search and evaluates its share of
// each batch (docs/dse.md, Scale-out); only rank 0 goes on to write the
// outputs (returns false elsewhere). A single process keeps a checkpoint.
bool RunSearch(const Opts& o, const qaccel::dse::DesignSpace& space,
               const qaccel::accel::Topology& topo, qaccel::dse::ExploreOptions eo,
               const std::filesystem::path& partial, qaccel::WorkDistributor& procs,
               qaccel::dse::ExploreResult* r) {
  using namespace qaccel;
  if (procs.size() == 1) {
    *r = ExploreWithCheckpoint(o, space, topo, eo, partial);
    return true;
  }
  Check(!o.resume, "--resume is not supported under mpirun (checkpoints are per process)");
  eo.distributor = &procs;
  eo.progress = eo.progress && procs.rank() == 0;
  try {
    *r = dse::Explore(space, topo.layers, eo);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qaccel: error: rank %d: %s\n", procs.rank(), e.what());
    cli::AbortOtherProcesses(1);
    throw;
  }
  return procs.rank() == 0;
}

void PrintResult(const Opts& o, const qaccel::dse::DesignSpace& space,
                 const qaccel::accel::Topology& topo, const qaccel::dse::ExploreResult& r) {
  const auto& b = r.points[r.best];
  std::printf(
      "explored %s on %s: %zu of %llu points evaluated (%llu rejected by constraints), "
      "%s, seed %llu, %d threads, %.2f s (%.0f points/s)\n",
      topo.model.c_str(), o.space.c_str(), r.points.size(),
      static_cast<unsigned long long>(r.space_size),
      static_cast<unsigned long long>(r.skipped_infeasible), r.strategy.c_str(),
      static_cast<unsigned long long>(r.seed), r.threads, r.seconds,
      r.seconds > 0 ? static_cast<double>(r.points.size()) / r.seconds : 0.0);
  std::printf(
      "best (%s): point %zu  %s  total_cycles %lld  stall_cycles %lld  compute_util %.2f%%  "
      "energy %.6g pJ  area %.4g mm^2  objective %.6g\n",
      space.objective.Name().c_str(), r.best, qaccel::dse::DescribePoint(b).c_str(),
      static_cast<long long>(b.total_cycles), static_cast<long long>(b.stall_cycles),
      b.compute_util_pct, b.energy_pj, b.area.area_mm2, b.objective);
  PrintFront("PEs", r, r.front_pes);
  PrintFront("energy", r, r.front_energy);
  std::printf(
      "wrote %s/{points.csv, pareto_cycles_pes.csv, pareto_cycles_energy.csv, pareto.svg, "
      "best.json, manifest.json}\n",
      o.out.c_str());
}

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("space", o->space, "Design-space TOML file (docs/dse.md, examples/space_*.toml)")
      ->required();
  auto* m = sub->add_option("-m,--model", o->model, "Model file (.qmodel) or zoo name");
  auto* t = sub->add_option("-t,--topology", o->topology,
                            "SCALE-Sim topology CSV instead of a model (1 byte/word)");
  m->excludes(t);
  sub->add_option("-i,--input-type", o->input_type, "Topology CSV format: conv or gemm (M,N,K)");
  sub->add_option("--batch", o->batch, "Batch size for the model's topology");
  sub->add_option("--strategy", o->strategy,
                  "Search strategy (exhaustive, genetic); default: the space file's");
  sub->add_option("--seed", o->seed, "Seed (default: the space file's search.seed, else 1)")
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--threads", o->threads, "Evaluation threads (default: hardware concurrency)")
      ->check(qaccel::cli::ThreadsRange());
  sub->add_option("-o,--output", o->out, "Output directory")->required();
  sub->add_option("--energy-table", o->energy_table,
                  "Energy-reference table file (docs/energy.md); overrides the space's [energy]");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar");
  sub->add_flag("--resume", o->resume,
                "Continue an interrupted run from OUT.partial/ (same space, workload, strategy "
                "and seed; any thread count): byte-identical outputs");
  sub->callback([o] {
    using namespace qaccel;
    const dse::DesignSpace space = LoadSpace(*o);
    const std::string strategy = o->strategy.empty() ? space.strategy : o->strategy;
    if (!dse::IsStrategy(strategy))
      dse::MakeStrategy(strategy, space, 0);  // throws the naming error
    dse::CheckSearchSize(space, strategy);
    Check(o->threads >= 0, "--threads must be >= 0");
    Check(!o->model.empty() || !o->topology.empty(),
          "no workload: give --model MODEL|ZOO_NAME or --topology CSV");
    Check(o->input_type == "conv" || o->input_type == "gemm",
          "-i must be conv or gemm, got '" + o->input_type + "'");
    // Before the search: the output set replaces -o as a whole.
    dse::CheckExploreOutputDir(o->out, {o->space, o->topology, o->model, o->energy_table});

    const accel::Topology topo = LoadWorkload(*o);

    dse::ExploreOptions eo;
    eo.strategy = strategy;
    eo.seed = o->seed >= 0 ? static_cast<uint64_t>(o->seed) : space.seed;
    eo.threads = o->threads;
    eo.progress = !o->quiet;
    eo.base.word_bytes = space.word_bytes > 0 ? space.word_bytes : topo.word_bytes;
    eo.base.run_name = "explore";
    const std::filesystem::path partial = PartialDir(o->out);
    WorkDistributor& procs = cli::ProcessDistributor();
    dse::ExploreResult r;
    if (!RunSearch(*o, space, topo, eo, partial, procs, &r)) return;  // not rank 0

    nlohmann::json unmapped = nlohmann::json::array();
    for (auto& u : topo.unmapped)
      unmapped.push_back({{"name", u.name}, {"kind", u.kind}, {"ops", u.ops}});
    nlohmann::json manifest = {{"command_line", cli::CommandLine()},
                               {"qaccel_version", QACCEL_VERSION},
                               {"space_file", o->space},
                               {"energy_table", o->energy_table},
                               {"model", topo.model},
                               {"workload", o->model.empty() ? o->topology : o->model},
                               {"batch", topo.batch},
                               {"word_bytes", eo.base.word_bytes},
                               {"array_layers", topo.layers.size()},
                               {"unmapped_layers", unmapped},
                               {"strategy", r.strategy},
                               {"seed", r.seed},
                               {"objective", space.objective.Name()},
                               {"threads", r.threads},
                               {"processes", procs.size()},
                               {"space_size", r.space_size},
                               {"evaluated", r.points.size()},
                               {"skipped_infeasible", r.skipped_infeasible},
                               {"resumed_points", r.resumed},
                               {"seconds", r.seconds}};
    dse::WriteExploreOutputs(o->out, r, topo.model, manifest);
    std::filesystem::remove_all(partial);
    PrintResult(*o, space, topo, r);
  });
}

}  // namespace

QACCEL_COMMAND(explore,
               "Search the systolic-array design space for a network (exhaustive or genetic)",
               Setup);
