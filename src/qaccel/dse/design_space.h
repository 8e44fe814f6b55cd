// The hardware design space searched by `qaccel explore`, read from a TOML
// file (format documented in docs/dse.md; examples/space_*.toml). A design
// point is one index per dimension (a Candidate); Decode turns it into the
// cost model's ArchConfig. Objectives and constraints name resource metrics
// (accel/resource_metrics.h). Constraints are on metrics of the configuration
// only (pes, sram_kb, area), so infeasible points are rejected before any
// simulation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"
#include "qaccel/accel/resource_metrics.h"

namespace qaccel::dse {

// One index per dimension, in DesignSpace::DimensionNames() order.
struct Candidate {
  std::vector<int> genes;
  bool operator==(const Candidate& o) const { return genes == o.genes; }
};

// What is minimized: one registered metric, or "weighted" = the product of
// metric^weight over the given metrics (scale-free; edp = cycles^1 * energy^1).
struct Objective {
  struct Term {
    const accel::ResourceMetric* metric;
    double weight;
  };
  std::string name = "total_cycles";  // as written: a metric name or alias, or "weighted"
  std::vector<Term> terms = {{&accel::FindResourceMetric("total_cycles"), 1.0}};

  static Objective Metric(const std::string& metric);  // throws listing the metrics
  double Value(const accel::NetworkEvaluation& e) const;
  const std::string& Name() const { return name; }
};

// Upper limits on configuration metrics (MetricSource::kConfig), checked
// before simulating.
struct Constraints {
  struct Limit {
    const accel::ResourceMetric* metric;
    double max;
  };
  std::vector<Limit> limits;
  // Sets the limit on `metric` (0 = unconstrained); throws for an unknown
  // metric or one that needs more than the configuration.
  void SetMax(const std::string& metric, double max);
  double Max(const std::string& metric) const;  // 0 when unconstrained
  bool Satisfied(const accel::NetworkEvaluation& e) const;
};

struct GeneticOptions {
  int population = 24;
  int generations = 20;
  double mutation_rate = 0.15;  // per gene
  double crossover_rate = 0.9;
  int elite = 2;       // best individuals copied unchanged
  int tournament = 3;  // tournament size for parent selection
};

struct DesignSpace {
  std::string source;  // file the space came from (for messages and the manifest)
  std::vector<int> rows, cols;
  std::vector<accel::Dataflow> dataflows;
  std::vector<double> ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb;
  std::vector<double> bandwidths;  // words/cycle
  std::vector<accel::BandwidthMode> bw_modes;
  int word_bytes = 0;  // 0 = from the model (topology)
  Constraints constraints;
  Objective objective;
  std::string strategy = "exhaustive";
  uint64_t seed = 1;
  GeneticOptions genetic;
  accel::EnergyTable energy;
  accel::AreaModel area;

  static std::vector<std::string> DimensionNames();
  std::vector<int> DimensionSizes() const;
  uint64_t Size() const;  // product of the dimension sizes
  // Linear index of a candidate (mixed radix, first dimension most significant).
  uint64_t Flatten(const Candidate& c) const;
  Candidate Unflatten(uint64_t index) const;
  // The genes the simulator's memo is keyed by (array rows, cols, dataflow),
  // as one number: points with equal keys share most of their simulation
  // (accel/sim_cache.h), so a distributed run keeps them on one process.
  uint64_t ArrayKey(const Candidate& c) const;
  // The ArchConfig of a candidate: `base` with the searched fields replaced.
  accel::ArchConfig Decode(const Candidate& c, const accel::ArchConfig& base) const;
  bool Feasible(const accel::ArchConfig& config) const;
};

// Parses and validates a space file. Every error names the file, the line
// when known, and the key (e.g. "space.toml:4: key 'array.rows': empty range
// {min = 64, max = 8}"); unknown keys are errors (they are usually typos).
DesignSpace LoadDesignSpace(const std::filesystem::path& path);
DesignSpace ParseDesignSpace(const std::string& toml_text, const std::string& source_name);

}  // namespace qaccel::dse
