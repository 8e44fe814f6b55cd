// Early-exit inference (graph/exits.h): the exit rule in integers, the engine
// run that really stops at the first exit taken, a one-pass profile of every
// exit for threshold sweeps, and the expected cost of a threshold setting on
// a systolic array (per-layer cycles from the cost model).
//
// The exit rule. An image leaves at side exit i when the softmax entropy of
// the exit's logits is below the exit's threshold theta_i (nats), as in
// BranchyNet. Reference (float): H = -sum_j p_j ln p_j of the logits.
// Integer rule (quantized graphs; what hardware implements), from the int8
// logits q_j of scale s, with d_j = max(q) - q_j in [0, 255]:
//   S = sum_j E[d_j],  E[d] = round(2^16 exp(-s d))          (S >= 2^16)
//   U = sum_j F[d_j],  F[d] = round(2^16 s d exp(-s d))
//   L = (k - 16) * round(2^16 ln 2) + LN[m] + ((LN[m+1] - LN[m]) * r >> (k - 8)),
//       k = floor(log2 S), m = the 8 bits of S below its leading one, r = the
//       k - 8 bits below those, LN[m] = round(2^16 ln(1 + m / 256)), m = 0..256
//       (ln(S / 2^16) by a 257-entry table and linear interpolation: error
//       below 2 units of 2^-16)
//   exit  <=>  (T - L) * S > U * 2^16,   T = round(2^16 theta)
// since H = ln(S / 2^16) + U / S exactly for the tabulated exponentials. Three
// small tables (E and F depend on the exit's logit scale), one leading-one
// detector, two multiplies and one compare per exit; no division or logarithm.
// Equivalently exit <=> T > Score(q) with Score = L + floor(U * 2^16 / S)
// (an integer, so a sweep compares scores instead of re-running images).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/exits.h"

namespace qaccel::engine {

class IntEntropyRule {
 public:
  static constexpr int kFracBits = 16;
  explicit IntEntropyRule(float logit_scale = 1.0f);
  // The Q16 score above; exit <=> ThresholdQ(theta) > Score.
  int64_t Score(const int8_t* q, int64_t n) const;
  // The hardware form of the test (multiply and compare); equals
  // ThresholdQ(theta) > Score(q, n).
  bool Exits(const int8_t* q, int64_t n, int64_t threshold_q) const;
  static int64_t ThresholdQ(double nats);
  nlohmann::json ToJson() const;  // scale, the three tables, the test (for manifests)

 private:
  void Sums(const int8_t* q, int64_t n, int64_t& s, int64_t& u, int64_t& l) const;
  float scale_;
  std::array<uint32_t, 256> exp_{}, xexp_{};
};

// Softmax entropy in nats of n float logits (double precision): the reference.
double Entropy(const float* logits, int64_t n);

// Per-layer cost of a graph: MACs (conv/linear) and, with an array
// configuration, cycles from the cost model at batch 1 (0 for layers the
// array does not run).
struct LayerCosts {
  std::vector<int64_t> macs;
  std::vector<int64_t> cycles;
  bool has_cycles = false;
};
LayerCosts ComputeLayerCosts(const Graph& g, const accel::ArchConfig* arch);

// The cost of leaving at each exit (side exits in order, then the final one):
// every layer up to the exit's logits, i.e. the trunk up to it plus every
// head evaluated so far. `full_*` is the trunk alone (the network with no
// early exit and no heads).
struct ExitCosts {
  std::vector<std::string> names;  // "exit1", ..., "final"
  std::vector<double> macs, cycles;
  std::vector<double> trunk_macs, trunk_cycles, head_macs, head_cycles;  // the parts of each
  double full_macs = 0, full_cycles = 0;
  bool has_cycles = false;
};
ExitCosts ComputeExitCosts(const Graph& g, const accel::ArchConfig* arch);

// One pass over a data set with every exit evaluated (no stopping): per image
// and exit the top-1 class, and per side exit the integer score (quantized
// graphs) and the float entropy (of the dequantized int8 logits for a
// quantized graph, of the float logits otherwise).
struct ExitProfile {
  int64_t n = 0;
  int num_exits = 0;  // side exits + 1
  bool quantized = false;
  std::vector<int64_t> labels;        // [n]
  std::vector<int32_t> pred;          // [n * num_exits]
  std::vector<int64_t> score;         // [n * (num_exits - 1)] integer rule scores
  std::vector<double> entropy;        // [n * (num_exits - 1)]
};
ExitProfile ProfileExits(const Graph& g, const data::Dataset& d, int64_t limit, int threads);

// What a threshold setting gives on a profile.
struct ExitOutcome {
  std::vector<double> thresholds;
  std::vector<int64_t> count;        // images leaving at each exit (side exits, final)
  std::vector<double> fraction;      // count / n
  std::vector<double> exit_accuracy; // accuracy of the images leaving there (NaN if none)
  double accuracy = 0;               // overall, with early exits
  double expected_macs = 0, expected_cycles = 0;  // per image
  // Integer rule vs the float entropy rule (quantized graphs): side-exit
  // decisions taken (images reaching the exit) and how many agree.
  int64_t decisions = 0, decisions_agree = 0;
};
// `integer_rule`: decide with the integer rule (quantized) or the float one.
ExitOutcome ApplyThresholds(const ExitProfile& p, const ExitCosts& c,
                            const std::vector<double>& thresholds, bool integer_rule);

// A real early-exit run over a data set: each image stops at its first exit
// taken (the integer rule for a quantized graph, the float rule otherwise),
// with the thresholds in the graph.
struct ExitRunResult {
  int64_t samples = 0, correct = 0;
  double accuracy = 0;
  std::vector<int64_t> count;  // per exit
  std::vector<int32_t> exit_taken, pred;  // per image
  double seconds = 0;
  double cpu_seconds = 0;  // process CPU time of the run (robust on a loaded machine)
  int threads = 1;
};
ExitRunResult RunWithExits(const Graph& g, const data::Dataset& d, int64_t limit, int threads);

// For export manifests (quantized graphs with side exits; null otherwise):
// per side exit its placement (attach layer, head layers, logits layer), the
// threshold in nats and as T (Q16), and the integer rule with its tables;
// then the final exit.
nlohmann::json ExitsManifest(const Graph& g);

}  // namespace qaccel::engine
