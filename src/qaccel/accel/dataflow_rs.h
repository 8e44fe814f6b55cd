// Row stationary (Eyeriss; Chen, Emer, Sze, ISCA 2016; Chen et al., JSSC
// 2017): qaccel's extension beyond SCALE-Sim (`Dataflow : rs`). An
// analytical model, not a demand-matrix replay: RS's row multicast and
// diagonal ifmap delivery are not SCALE-Sim's systolic edge ports, so it is
// registered through AnalyticalDataflow (dataflow_registry.cpp) and computes
// cycles and access counts in closed form. docs/simulator.md ("Row
// stationary") states the model and its validation against the chip.
//
// Layer: ifmap H x W x C, filters M of R x S, ofmap E x F, stride U.
//  * Primitive: one PE convolves one filter row (S) with one ifmap row,
//    producing one ofmap row (F psums): F * S MACs, one MAC per cycle.
//  * Logical PE set: R x E PEs (filter rows on rows, ofmap rows on columns);
//    psums accumulate up each column, filter rows are multicast along rows,
//    ifmap rows along diagonals.
//  * Folding: R > array rows -> the filter rows in row_folds groups of Rp;
//    E > array cols -> `strips` strips of width e = ceil(E / strips).
//  * Replication: floor(rows / Rp) x floor(cols / e) pieces share the array
//    in one pass (different channels / filters / strips).
//  * Register files (Eyeriss's spads): a PE holds q channels (q * S <= 12
//    ifmap words) and p filters (p <= 24 psums, p * q * S <= 224 weights);
//    one pass runs p * q primitives per PE.
//  * Pass order: filters or ifmap chunks outermost (whichever moves fewer
//    DRAM words given the SRAM sizes), then ifmap strips, channel groups of q (psums go to the
//    global buffer between them), filter groups of p.
// Cycles per pass: p*q*S*F MACs + p*q*S filter-spad fill + 2*p*F psum in and
// out of the column + Rp-1 (column accumulation), none overlapped.
#pragma once

#include <cstdint>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

// Eyeriss's PE scratchpads (JSSC 2017), in words.
inline constexpr int64_t kRsIfmapSpad = 12, kRsFilterSpad = 224, kRsPsumSpad = 24;

// The mapping of one layer onto a rows x cols array (pure arithmetic).
struct RowStationaryPlan {
  int64_t R = 0, S = 0, E = 0, F = 0, C = 0, M = 0, H = 0, W = 0, U = 1;
  int64_t row_folds = 1, Rp = 0, strips = 1, e = 0;
  int64_t slots_v = 1, slots_h = 1, q = 1, p = 1;
  int64_t passes = 0, pass_cycles = 0, compute_cycles = 0, used_pes = 0;
  static RowStationaryPlan Of(int64_t rows, int64_t cols, const LayerSpec& l);
};

class RowStationaryModel {
 public:
  // Fallback per-MAC traffic (the simulation counts the real one): ifmap and
  // filter read from the RF, psum read + written in the RF.
  static PerMacTraffic PerMac(int64_t word_bytes, int64_t psum_bytes) {
    return {2 * word_bytes + 2 * psum_bytes, 0};
  }
  static LayerMetrics Simulate(const ArchConfig& config, const LayerSpec& layer,
                               const OperandMatrices& op);
  // Closed form: nothing to bound beyond the shared field limits.
  static void CheckLimits(const ArchConfig&, const LayerSpec&, const OperandMatrices&) {}
};

}  // namespace qaccel::accel
