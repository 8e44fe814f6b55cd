// The systolic-array cost model: one fully specified design point
// (ArchConfig + one layer) in, SCALE-Sim v2 compatible metrics out.
//
// This is the API the design-space exploration and NetAdapt call, possibly
// from many threads at once: SimulateLayer / SimulateNetwork are pure
// functions of their arguments and safe to call concurrently. (Internally, a
// thread-safe, bounded memo of CALC-mode sub-results is shared between calls,
// keyed by exactly the inputs each sub-result depends on; it never changes a
// number -- see sim_cache.h.) The model reproduces SCALE-Sim v2 (main, Feb 2025,
// "removing double counting of stall cycles") number for number; see
// docs/simulator.md for the model, the fidelity status per column and mode,
// and the deliberate differences.
//
// Units: SCALE-Sim counts everything in words (one operand element) and
// cycles. `word_bytes` only scales the *_bytes fields we add on top.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qaccel::accel {

// The dataflows of the registry (dataflow_registry.h: names, mappings,
// energy); one enumerator per registered dataflow.
enum class Dataflow { kOutputStationary, kWeightStationary, kInputStationary, kRowStationary };
enum class BandwidthMode { kCalc, kUser };

// Registered name ("os" / "ws" / "is", SCALE-Sim's spelling) <-> Dataflow.
// ParseDataflow throws qaccel::Error listing the registered names.
const char* DataflowName(Dataflow df);
Dataflow ParseDataflow(const std::string& name);

// One accelerator design point: SCALE-Sim v2's .cfg, field for field.
struct ArchConfig {
  std::string run_name = "qaccel_run";  // [general] run_name
  int array_rows = 32;                  // ArrayHeight
  int array_cols = 32;                  // ArrayWidth
  double ifmap_sram_kb = 64;            // IfmapSramSzkB (SCALE-Sim: bytes = 1024 * kB)
  double filter_sram_kb = 64;           // FilterSramSzkB
  double ofmap_sram_kb = 64;            // OfmapSramSzkB
  int64_t ifmap_offset = 0;             // IfmapOffset  (base address of the operand)
  int64_t filter_offset = 10000000;     // FilterOffset
  int64_t ofmap_offset = 20000000;      // OfmapOffset
  // Bandwidth (words/cycle between SRAM and DRAM); used in USER mode only.
  // SCALE-Sim accepts a comma list and uses its first entry.
  double bandwidth_words_per_cycle = 10;
  Dataflow dataflow = Dataflow::kOutputStationary;  // Dataflow = os | ws | is (| rs: qaccel's)
  int memory_banks = 1;                             // MemoryBanks (read, not used by v2's model)
  BandwidthMode bw_mode = BandwidthMode::kCalc;     // [run_presets] InterfaceBandwidth
  // Bytes per element (from the model's bit widths). SCALE-Sim assumes 1:
  // SRAM capacities in words are 1024 * kB / word_bytes. Default 1 = SCALE-Sim.
  int word_bytes = 1;
  // Per-operand widths in bits (0: word_bytes * 8, one width for everything,
  // as SCALE-Sim). With weight_bits < 8 the filter SRAM holds 1024 * kB * 8 /
  // weight_bits weights and filter bytes shrink to ceil(words * weight_bits /
  // 8); act_bits does the same for IFMAP and OFMAP. Set per layer from a
  // quantized model's widths (LayerSpec, below) by sim -m.
  int weight_bits = 0, act_bits = 0;
};

// One layer as SCALE-Sim sees it. IFMAP dims include any padding.
struct LayerSpec {
  std::string name;
  int64_t ifmap_h = 1, ifmap_w = 1;
  int64_t filter_h = 1, filter_w = 1;
  int64_t channels = 1, num_filters = 1;
  int64_t stride_h = 1, stride_w = 1;

  // SCALE-Sim's own GEMM -> conv mapping (topology_utils, -i gemm):
  // ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1. An M x N
  // output with K-long dot products.
  static LayerSpec Gemm(std::string name, int64_t m, int64_t n, int64_t k);

  // Operand widths of this layer from the model (0: the ArchConfig's); set by
  // TopologyFromGraph only for layers below 8 bits.
  int weight_bits = 0, act_bits = 0;

  int64_t ofmap_h() const;  // ceil((ifmap_h - filter_h + stride_h) / stride_h)
  int64_t ofmap_w() const;
  int64_t window_size() const { return filter_h * filter_w * channels; }
  int64_t macs() const { return ofmap_h() * ofmap_w() * num_filters * window_size(); }
};

// Per-layer results. Field comments give SCALE-Sim's report column names.
// Cycle numbers that SCALE-Sim prints as floats (they come out of numpy
// float arrays) are stored as int64 here; the report writers format them
// exactly as SCALE-Sim does.
struct LayerMetrics {
  std::string name;
  // ---- COMPUTE_REPORT.csv ----
  int64_t total_cycles = 0;           // "Total Cycles"
  int64_t stall_cycles = 0;           // "Stall Cycles"
  double overall_util_pct = 0;        // "Overall Util %"
  double mapping_efficiency_pct = 0;  // "Mapping Efficiency %"
  double compute_util_pct = 0;        // "Compute Util %"
  // ---- BANDWIDTH_REPORT.csv (words/cycle) ----
  double avg_ifmap_sram_bw = 0;   // "Avg IFMAP SRAM BW"
  double avg_filter_sram_bw = 0;  // "Avg FILTER SRAM BW"
  double avg_ofmap_sram_bw = 0;   // "Avg OFMAP SRAM BW"
  double avg_ifmap_dram_bw = 0;   // "Avg IFMAP DRAM BW"
  double avg_filter_dram_bw = 0;  // "Avg FILTER DRAM BW"
  double avg_ofmap_dram_bw = 0;   // "Avg OFMAP DRAM BW"
  // ---- DETAILED_ACCESS_REPORT.csv ----
  int64_t ifmap_sram_start_cycle = 0;   // "SRAM IFMAP Start Cycle"
  int64_t ifmap_sram_stop_cycle = 0;    // "SRAM IFMAP Stop Cycle"
  int64_t ifmap_sram_reads = 0;         // "SRAM IFMAP Reads" (words)
  int64_t filter_sram_start_cycle = 0;  // "SRAM Filter Start Cycle"
  int64_t filter_sram_stop_cycle = 0;   // "SRAM Filter Stop Cycle"
  int64_t filter_sram_reads = 0;        // "SRAM Filter Reads" (words)
  int64_t ofmap_sram_start_cycle = 0;   // "SRAM OFMAP Start Cycle"
  int64_t ofmap_sram_stop_cycle = 0;    // "SRAM OFMAP Stop Cycle"
  int64_t ofmap_sram_writes = 0;        // "SRAM OFMAP Writes" (words)
  int64_t ifmap_dram_start_cycle = 0;   // "DRAM IFMAP Start Cycle"
  int64_t ifmap_dram_stop_cycle = 0;    // "DRAM IFMAP Stop Cycle"
  int64_t ifmap_dram_reads = 0;         // "DRAM IFMAP Reads" (words)
  int64_t filter_dram_start_cycle = 0;  // "DRAM Filter Start Cycle"
  int64_t filter_dram_stop_cycle = 0;   // "DRAM Filter Stop Cycle"
  int64_t filter_dram_reads = 0;        // "DRAM Filter Reads" (words)
  int64_t ofmap_dram_start_cycle = 0;   // "DRAM OFMAP Start Cycle"
  int64_t ofmap_dram_stop_cycle = 0;    // "DRAM OFMAP Stop Cycle"
  int64_t ofmap_dram_writes = 0;        // "DRAM OFMAP Writes" (words)
  // ---- qaccel additions ----
  int64_t macs = 0;                   // useful multiply-accumulates of the layer
  int word_bytes = 1;                 // copied from ArchConfig
  int weight_bits = 0, act_bits = 0;  // effective operand widths (0: word_bytes * 8)
  // Bytes of `words` elements of `bits` (0: word_bytes each), rounded up.
  int64_t Bytes(int64_t words, int bits) const {
    return bits > 0 ? (words * bits + 7) / 8 : words * word_bytes;
  }
  int64_t ifmap_sram_read_bytes() const { return Bytes(ifmap_sram_reads, act_bits); }
  int64_t filter_sram_read_bytes() const { return Bytes(filter_sram_reads, weight_bits); }
  int64_t ofmap_sram_write_bytes() const { return Bytes(ofmap_sram_writes, act_bits); }
  int64_t ifmap_dram_read_bytes() const { return Bytes(ifmap_dram_reads, act_bits); }
  int64_t filter_dram_read_bytes() const { return Bytes(filter_dram_reads, weight_bits); }
  int64_t ofmap_dram_write_bytes() const { return Bytes(ofmap_dram_writes, act_bits); }
  // Traffic a dataflow counts itself (the analytical rs model): RF accesses
  // and array-network deliveries of words and of psums, and psum re-reads
  // from the global buffer (words). When array_traffic_counted is false
  // (os/ws/is), the energy model derives the in-array traffic from the
  // registry's per-MAC figures instead (energy.h).
  bool array_traffic_counted = false;
  int64_t rf_word_accesses = 0, rf_psum_accesses = 0;
  int64_t noc_word_hops = 0, noc_psum_hops = 0;
  int64_t psum_sram_reads = 0;
  int64_t dram_read_bytes() const { return ifmap_dram_read_bytes() + filter_dram_read_bytes(); }
  int64_t dram_write_bytes() const { return ofmap_dram_write_bytes(); }
};

// Validates the config and the layer (throws qaccel::Error naming the field),
// then simulates. Pure and thread-safe.
LayerMetrics SimulateLayer(const ArchConfig& config, const LayerSpec& layer);

// Every check SimulateLayer makes before it simulates (the field and work
// limits of limits.h), without simulating: throws qaccel::Error.
void CheckSimulationLimits(const ArchConfig& config, const LayerSpec& layer);

// SCALE-Sim simulates layers independently (no state carried over); this is
// SimulateLayer applied to each layer, in order, after every layer passed
// CheckSimulationLimits (so a refused layer costs no simulation of the others).
std::vector<LayerMetrics> SimulateNetwork(const ArchConfig& config,
                                          const std::vector<LayerSpec>& layers);

// Network totals: sums over layers, in SCALE-Sim's words and in bytes
// (words x word_bytes).
struct NetworkTotals {
  int64_t total_cycles = 0, stall_cycles = 0, macs = 0;
  int64_t ifmap_sram_reads = 0, filter_sram_reads = 0, ofmap_sram_writes = 0;  // words
  int64_t ifmap_dram_reads = 0, filter_dram_reads = 0, ofmap_dram_writes = 0;  // words
  int64_t sram_read_words = 0, sram_write_words = 0;  // ifmap + filter reads; ofmap writes
  int64_t dram_read_words = 0, dram_write_words = 0;
  int64_t sram_read_bytes = 0, sram_write_bytes = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  double overall_util_pct = 0;  // 100 * macs / (total_cycles * rows * cols)
  double compute_util_pct = 0;  // "Compute Util %" weighted by compute cycles (total - stall)
};

// The one aggregation of per-layer results into network totals. Add each
// layer with how often it occurs (a network of repeated shapes can be
// simulated once per shape); Totals() then gives the sums and utilizations.
class NetworkAccumulator {
 public:
  void Add(const LayerMetrics& m, int64_t count = 1);
  NetworkTotals Totals(const ArchConfig& config) const;

 private:
  NetworkTotals t_;
  double util_compute_weighted_ = 0, compute_cycles_ = 0;
};

// Every layer once (NetworkAccumulator).
NetworkTotals SumNetwork(const ArchConfig& config, const std::vector<LayerMetrics>& layers);

}  // namespace qaccel::accel
