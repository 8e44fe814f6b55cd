// The hardware design space searched by `qaccel explore`, read from a TOML
// file (format documented in docs/dse.md; examples/space_*.toml). A design
// point is one index per dimension (a Candidate); Decode turns it into the
// cost model's ArchConfig. Constraints are on the configuration only (PEs,
// SRAM, area), so infeasible points are rejected before any simulation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/energy.h"

namespace qaccel::dse {

// One index per dimension, in DesignSpace::DimensionNames() order.
struct Candidate {
  std::vector<int> genes;
  bool operator==(const Candidate& o) const { return genes == o.genes; }
};

enum class ObjectiveKind { kTotalCycles, kEnergy, kEdp, kWeighted };

// What is minimized. weighted = total_cycles^w_cycles * energy_pj^w_energy *
// area_mm2^w_area (a scale-free product; edp is weights 1, 1, 0).
struct Objective {
  ObjectiveKind kind = ObjectiveKind::kTotalCycles;
  double w_cycles = 1, w_energy = 0, w_area = 0;
  double Value(double total_cycles, double energy_pj, double area_mm2) const;
  std::string Name() const;  // "total_cycles" | "energy" | "edp" | "weighted"
};

struct Constraints {
  int64_t max_pes = 0;     // 0 = unconstrained
  double max_sram_kb = 0;  // ifmap + filter + ofmap SRAM
  double max_area_mm2 = 0;
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
