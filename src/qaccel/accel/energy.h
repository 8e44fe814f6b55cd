// Energy and area of a simulated run: access counts from the cost model
// (LayerMetrics) times a per-access energy table, plus an area proxy from the
// PE count and the SRAM capacity. docs/energy.md states the model, the
// defaults and where they come from; this header is the one place the knobs
// and their defaults are defined.
//
// Units: every memory/link energy is pJ per BYTE moved; the MAC energy is pJ
// per MAC at 1-byte operands, scaled linearly with the word size. Defaults
// follow Eyeriss's normalized ratios (Chen et al., ISCA 2016: RF 1x, MAC 1x,
// inter-PE 2x, global buffer 6x, DRAM 200x) with 1x = 1 pJ per byte, an
// order-of-magnitude anchor: override the table for your technology (the
// ranking of designs under the `energy` objective does not depend on the
// anchor, only on the ratios).
//
// Counts per layer (words from the cost model x word_bytes):
//   dram_read   = ifmap + filter DRAM reads        dram_write = ofmap DRAM writes
//   sram_read   = ifmap + filter SRAM reads + ofmap DRAM writes (drained from SRAM)
//   sram_write  = ofmap SRAM writes + ifmap + filter DRAM reads (filled into SRAM)
//   mac         = useful MACs (idle PEs: no dynamic energy, static only)
//   PE register file and inter-PE links, per useful MAC, by dataflow (the
//   stationary operand is read from the PE's register every MAC; the moving
//   ones hop one PE per MAC; partial sums are psum_bytes wide; each
//   dataflow's PerMac in its file, dataflow_*.h, via the registry):
//     os: rf = 2 * psum_bytes (accumulator read + write),  link = 2 * word_bytes
//     ws: rf = word_bytes (the weight),                    link = word_bytes + psum_bytes
//     is: rf = word_bytes (the ifmap element),             link = word_bytes + psum_bytes
//   Loading the stationary operand into the PE is not counted separately
//   (it is one SRAM read already counted, amortized over the fold).
//   rs counts its own RF / array / psum traffic (ApplyCountedArrayTraffic).
// Plus static energy per cycle (StaticEnergyPj) and SRAM access energy
// scaled with each buffer's size (SramAccessEnergy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"

namespace qaccel::accel {

struct EnergyTable {
  double mac_pj = 1.0;        // per MAC with 1-byte operands (x word_bytes)
  double rf_pj = 1.0;         // PE register file, per byte
  double inter_pe_pj = 2.0;   // one hop to a neighbouring PE, per byte
  double sram_read_pj = 6.0;  // on-chip buffer (SCALE-Sim's SRAMs), per byte
  double sram_write_pj = 6.0;
  double dram_read_pj = 200.0;  // off-chip, per byte
  double dram_write_pj = 200.0;
  int psum_bytes = 4;  // partial-sum width in the array (int32 / fp32 accumulators)
  // Static (leakage) energy, paid every cycle the layer runs, busy or idle
  // (energy_static.cpp; defaults and sources in docs/energy.md):
  double pe_static_pj = 0.2;            // per PE per cycle at 1-byte words (x word_bytes)
  double sram_static_pj_per_kb = 0.01;  // per kB of SRAM (ifmap + filter + ofmap) per cycle
  // SRAM access energy grows with the buffer's size: sram_*_pj is the cost
  // at sram_ref_kb, and a buffer of S kB costs (S / sram_ref_kb)^sram_size_exp
  // times it (0 = size-independent, the pre-0.x model).
  double sram_ref_kb = 64;  // SCALE-Sim's default buffer: unchanged cost there
  double sram_size_exp = 0.5;
};

struct AreaModel {
  double pe_mm2 = 0.0025;          // one PE (MAC + pipeline registers), mm^2
  double sram_mm2_per_kb = 0.002;  // SRAM incl. periphery, mm^2 per kB
};

// Sets one knob by its documented name (the keys of the [energy] / [area]
// sections: mac_pj, rf_pj, inter_pe_pj, sram_read_pj, sram_write_pj,
// dram_read_pj, dram_write_pj, pe_static_pj, sram_static_pj_per_kb,
// sram_ref_kb, sram_size_exp, psum_bytes; pe_mm2, sram_mm2_per_kb).
// Returns false for an unknown key; throws Error for a negative value.
bool SetEnergyKnob(EnergyTable& t, const std::string& key, double value);
bool SetAreaKnob(AreaModel& a, const std::string& key, double value);
std::vector<std::string> EnergyKnobNames();
std::vector<std::string> AreaKnobNames();

// The [energy] and [area] sections of a SCALE-Sim .cfg are read with the
// .cfg itself (accel/scalesim_io.h: ScaleSimConfigFile, ReadEnergySections).

struct LayerEnergy {
  std::string name;
  int64_t macs = 0;
  int64_t rf_bytes = 0, inter_pe_bytes = 0;
  int64_t sram_read_bytes = 0, sram_write_bytes = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  double mac_pj = 0, rf_pj = 0, inter_pe_pj = 0;
  double sram_read_pj = 0, sram_write_pj = 0, dram_read_pj = 0, dram_write_pj = 0;
  double static_pj = 0;  // leakage of the PEs and SRAMs over the layer's cycles
  double total_pj() const {
    return mac_pj + rf_pj + inter_pe_pj + sram_read_pj + sram_write_pj + dram_read_pj +
           dram_write_pj + static_pj;
  }
  void Add(const LayerEnergy& o);  // sums every count and energy (name unchanged)
};

LayerEnergy ComputeLayerEnergy(const ArchConfig& config, const LayerMetrics& m,
                               const EnergyTable& t);
std::vector<LayerEnergy> ComputeNetworkEnergy(const ArchConfig& config,
                                              const std::vector<LayerMetrics>& layers,
                                              const EnergyTable& t);
LayerEnergy SumEnergy(const std::vector<LayerEnergy>& layers);  // name "total"

struct AreaEstimate {
  int64_t pes = 0;
  double sram_kb = 0;   // ifmap + filter + ofmap SRAM
  double area_mm2 = 0;  // pes * pe_mm2 + sram_kb * sram_mm2_per_kb
};
AreaEstimate EstimateArea(const ArchConfig& config, const AreaModel& a);

// Static (leakage) energy of `cycles` cycles of the design point: every PE
// and every kB of SRAM leaks whether it is busy or not (energy_static.cpp),
// so a larger array pays for its area while it runs.
//   static_pj = cycles * (PEs * pe_static_pj * word_bytes + SRAM kB * sram_static_pj_per_kb)
double StaticEnergyPj(const ArchConfig& config, int64_t cycles, const EnergyTable& t);

// A dataflow that counts its own in-array traffic (LayerMetrics::
// array_traffic_counted, the rs model): its RF and array-network bytes
// replace the per-MAC estimate, and its psum re-reads from the global
// buffer add to sram_read_bytes. No-op otherwise (energy_static.cpp).
void ApplyCountedArrayTraffic(const LayerMetrics& m, int64_t word_bytes, int64_t psum_bytes,
                              LayerEnergy* e);

// SRAM read and write energy of a layer, each buffer's accesses at its
// size's per-byte cost (sram_ref_kb, sram_size_exp): ifmap / filter reads
// and DRAM fills at the ifmap / filter buffer, ofmap writes, drains and psum
// re-reads at the ofmap buffer (energy_static.cpp).
void SramAccessEnergy(const ArchConfig& config, const LayerMetrics& m, int64_t word_bytes,
                      const EnergyTable& t, LayerEnergy* e);

// An energy-reference table file (Accelergy-style ERT, docs/energy.md): one
// `component.action: value` (or `key = value`) per line, '#' comments.
// Keys: the knob names above, or the component.action aliases (mac.compute,
// rf.access, noc.hop, sram.read, sram.write, dram.read, dram.write,
// pe.leak, sram.leak, psum.bytes, pe.area, sram.area). Overrides the given
// tables in place; errors name file:line and the key.
void ReadEnergyReferenceTable(const std::filesystem::path& file, EnergyTable* table,
                              AreaModel* area);
void ParseEnergyReferenceTable(const std::string& text, const std::string& file,
                               EnergyTable* table, AreaModel* area);

// ENERGY_REPORT.csv: one row per layer, units in the column names
// (LayerID, Layer name, macs, rf_bytes, ..., dram_write_energy_pj, energy_pj).
std::string EnergyReportCsv(const std::vector<LayerEnergy>& layers);

}  // namespace qaccel::accel
