// Row stationary: the analytical model of dataflow_rs.h.
#include "qaccel/accel/dataflow_rs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace qaccel::accel {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// Counts saturate at INT64_MAX instead of overflowing: the field limits
// (limits.h) allow products of several 2^23-sized dimensions.
int64_t Mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
template <class... T>
int64_t Mul(int64_t a, int64_t b, T... rest) {
  return Mul(Mul(a, b), rest...);
}
int64_t Add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

}  // namespace

RowStationaryPlan RowStationaryPlan::Of(int64_t rows, int64_t cols, const LayerSpec& l) {
  RowStationaryPlan s;
  s.R = l.filter_h;
  s.S = l.filter_w;
  s.E = l.ofmap_h();
  s.F = l.ofmap_w();
  s.C = l.channels;
  s.M = l.num_filters;
  s.H = l.ifmap_h;
  s.W = l.ifmap_w;
  s.U = l.stride_h;
  s.row_folds = CeilDiv(s.R, rows);
  s.Rp = CeilDiv(s.R, s.row_folds);
  s.strips = CeilDiv(s.E, cols);
  s.e = CeilDiv(s.E, s.strips);
  s.slots_v = std::max<int64_t>(1, rows / s.Rp);
  s.slots_h = std::max<int64_t>(1, cols / s.e);
  s.q = std::clamp<int64_t>(kRsIfmapSpad / s.S, 1, s.C);
  s.p = std::clamp<int64_t>(std::min(kRsPsumSpad, kRsFilterSpad / (s.q * s.S)), 1, s.M);
  // Work units: one (row fold, strip, channel, filter) primitive set; a
  // piece of the array runs p * q of them per pass.
  const int64_t units = Mul(s.row_folds, s.strips, s.C, s.M);
  const int64_t slots = s.slots_v * s.slots_h;
  const int64_t groups = CeilDiv(units, s.p * s.q);
  s.passes = CeilDiv(groups, slots);
  s.pass_cycles =
      Add(Add(Mul(s.p, s.q, s.S, s.F), Mul(s.p, s.q, s.S)), Add(Mul(2, s.p, s.F), s.Rp - 1));
  s.compute_cycles = Mul(s.passes, s.pass_cycles);
  s.used_pes = Mul(std::min(slots, groups), s.Rp, s.e);
  return s;
}

namespace {

// DRAM, the cheaper of two loop orders: filters outermost (every filter
// once; the ifmap once if it fits its SRAM, else once per group of filters
// that fits the filter SRAM), or the ifmap outermost in chunks of its SRAM
// (the ifmap once, every filter once per chunk). The ofmap once.
void RowStationaryDram(const ArchConfig& cfg, const RowStationaryPlan& s, int64_t filter_words,
                       int64_t ofmap_words, LayerMetrics* m) {
  const double wb = cfg.word_bytes;
  const int64_t ifmap_words = Mul(s.H, s.W, s.C);
  const auto sram_words = [&](double kb) {
    return std::max<int64_t>(1, static_cast<int64_t>(kb * 1024 / wb));
  };
  const int64_t filters_per_group =
      std::max<int64_t>(1, sram_words(cfg.filter_sram_kb) / Mul(s.C, s.R, s.S));
  const int64_t ifmap_chunks = CeilDiv(ifmap_words, sram_words(cfg.ifmap_sram_kb));
  const int64_t filter_outer =
      Mul(ifmap_words, ifmap_chunks == 1 ? 1 : CeilDiv(s.M, filters_per_group));
  const int64_t ifmap_outer = Mul(filter_words, ifmap_chunks);
  if (Add(filter_outer, filter_words) <= Add(ifmap_words, ifmap_outer)) {
    m->ifmap_dram_reads = filter_outer;
    m->filter_dram_reads = filter_words;
  } else {
    m->ifmap_dram_reads = ifmap_words;
    m->filter_dram_reads = ifmap_outer;
  }
  m->ofmap_dram_writes = ofmap_words;
}

}  // namespace

LayerMetrics RowStationaryModel::Simulate(const ArchConfig& cfg, const LayerSpec& layer,
                                          const OperandMatrices&) {
  const RowStationaryPlan s = RowStationaryPlan::Of(cfg.array_rows, cfg.array_cols, layer);
  LayerMetrics m;
  m.name = layer.name;
  m.macs = layer.macs();
  m.word_bytes = cfg.word_bytes;
  const int64_t pes = static_cast<int64_t>(cfg.array_rows) * cfg.array_cols;

  // Global buffer (the three SRAMs). Filters: each strip's set reads its
  // filter rows once (multicast along the row). Ifmap: each strip reads the
  // ifmap rows under it once per filter group of p (reused from the RF
  // across the p filters). Psums: written after every channel group of q,
  // read back before the next.
  const int64_t filter_words = Mul(s.M, s.C, s.R, s.S);
  const int64_t strip_rows = std::min(s.H, Add(Mul(s.e - 1, s.U), s.Rp));
  m.filter_sram_reads = Mul(filter_words, s.strips);
  m.ifmap_sram_reads = Mul(s.row_folds, s.strips, strip_rows, s.W, s.C, CeilDiv(s.M, s.p));
  const int64_t ofmap_words = Mul(s.E, s.F, s.M);
  const int64_t psum_rounds = Mul(CeilDiv(s.C, s.q), s.row_folds);
  m.ofmap_sram_writes = Mul(ofmap_words, psum_rounds);
  m.psum_sram_reads = Mul(ofmap_words, psum_rounds - 1);

  RowStationaryDram(cfg, s, filter_words, ofmap_words, &m);

  // Array network: each filter word read is multicast to the e PEs of its
  // row, each ifmap word to the PEs of its diagonal (up to min(Rp, e));
  // psums hop Rp - 1 PEs up the column per channel group. RF: every MAC
  // reads an ifmap and a filter word and reads + writes a psum; every
  // delivered word is written into a spad once.
  const int64_t filter_deliveries = Mul(m.filter_sram_reads, s.e);
  const int64_t ifmap_deliveries = Mul(m.ifmap_sram_reads, std::min(s.Rp, s.e));
  m.array_traffic_counted = true;
  m.noc_word_hops = Add(filter_deliveries, ifmap_deliveries);
  m.noc_psum_hops = Mul(ofmap_words, psum_rounds, s.Rp - 1);
  m.rf_word_accesses = Add(Mul(2, m.macs), m.noc_word_hops);
  m.rf_psum_accesses = Mul(2, m.macs);

  // Cycles: the passes, unless the global buffer cannot keep up: it reaches
  // the array through its edges, reading and writing at most rows + cols
  // words per cycle each (the port width of the systolic dataflows' SRAMs).
  // In USER mode the DRAM interface can stall them further.
  const int64_t edge = static_cast<int64_t>(cfg.array_rows) + cfg.array_cols;
  const int64_t glb_reads = Add(Add(m.filter_sram_reads, m.ifmap_sram_reads), m.psum_sram_reads);
  const int64_t busy =
      std::max({s.compute_cycles, CeilDiv(glb_reads, edge), CeilDiv(m.ofmap_sram_writes, edge)});
  int64_t stall = 0;
  if (cfg.bw_mode == BandwidthMode::kUser) {
    const double dram = static_cast<double>(m.ifmap_dram_reads) +
                        static_cast<double>(m.filter_dram_reads) +
                        static_cast<double>(m.ofmap_dram_writes);
    const double t = std::ceil(dram / cfg.bandwidth_words_per_cycle);
    const int64_t transfer = t >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(t);
    stall = std::max<int64_t>(0, transfer - busy);
  }
  m.stall_cycles = stall;
  m.total_cycles = Add(busy, stall);
  const int64_t last = std::max<int64_t>(0, m.total_cycles - 1);
  m.ifmap_sram_stop_cycle = m.filter_sram_stop_cycle = m.ofmap_sram_stop_cycle = last;
  m.ifmap_dram_stop_cycle = m.filter_dram_stop_cycle = m.ofmap_dram_stop_cycle = last;
  const double tc = static_cast<double>(m.total_cycles);
  m.mapping_efficiency_pct = 100.0 * static_cast<double>(s.used_pes) / static_cast<double>(pes);
  if (busy > 0)
    m.compute_util_pct = 100.0 * static_cast<double>(m.macs) /
                         (static_cast<double>(busy) * static_cast<double>(s.used_pes));
  if (m.total_cycles > 0) {
    m.overall_util_pct = 100.0 * static_cast<double>(m.macs) / (tc * static_cast<double>(pes));
    m.avg_ifmap_sram_bw = static_cast<double>(m.ifmap_sram_reads) / tc;
    m.avg_filter_sram_bw = static_cast<double>(m.filter_sram_reads) / tc;
    m.avg_ofmap_sram_bw = static_cast<double>(m.ofmap_sram_writes) / tc;
    m.avg_ifmap_dram_bw = static_cast<double>(m.ifmap_dram_reads) / tc;
    m.avg_filter_dram_bw = static_cast<double>(m.filter_dram_reads) / tc;
    m.avg_ofmap_dram_bw = static_cast<double>(m.ofmap_dram_writes) / tc;
  }
  return m;
}

}  // namespace qaccel::accel
