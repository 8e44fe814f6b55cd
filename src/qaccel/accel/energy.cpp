// Energy and area from the cost model's access counts (model in energy.h).
#include "qaccel/accel/energy.h"

#include <cstdio>
#include <sstream>

#include "qaccel/accel/dataflow_registry.h"
#include "qaccel/core/error.h"

namespace qaccel::accel {
namespace {

struct EnergyKnob {
  const char* name;
  double EnergyTable::*field;
};
constexpr EnergyKnob kEnergyKnobs[] = {
    {"mac_pj", &EnergyTable::mac_pj},
    {"rf_pj", &EnergyTable::rf_pj},
    {"inter_pe_pj", &EnergyTable::inter_pe_pj},
    {"sram_read_pj", &EnergyTable::sram_read_pj},
    {"sram_write_pj", &EnergyTable::sram_write_pj},
    {"dram_read_pj", &EnergyTable::dram_read_pj},
    {"dram_write_pj", &EnergyTable::dram_write_pj},
    {"pe_static_pj", &EnergyTable::pe_static_pj},
    {"sram_static_pj_per_kb", &EnergyTable::sram_static_pj_per_kb},
    {"sram_size_exp", &EnergyTable::sram_size_exp},
};

}  // namespace

bool SetEnergyKnob(EnergyTable& t, const std::string& key, double value) {
  if (key == "sram_ref_kb") {
    Check(value > 0, "energy knob sram_ref_kb must be > 0, got " + std::to_string(value));
    t.sram_ref_kb = value;
    return true;
  }
  if (key == "psum_bytes") {
    Check(value >= 1 && value <= 16 && value == static_cast<int>(value),
          "energy knob psum_bytes must be an integer in [1, 16], got " + std::to_string(value));
    t.psum_bytes = static_cast<int>(value);
    return true;
  }
  for (auto& k : kEnergyKnobs) {
    if (key == k.name) {
      Check(value >= 0, "energy knob " + key + " must be >= 0, got " + std::to_string(value));
      t.*k.field = value;
      return true;
    }
  }
  return false;
}

bool SetAreaKnob(AreaModel& a, const std::string& key, double value) {
  double* f = key == "pe_mm2" ? &a.pe_mm2 : key == "sram_mm2_per_kb" ? &a.sram_mm2_per_kb : nullptr;
  if (!f) return false;
  Check(value >= 0, "area knob " + key + " must be >= 0, got " + std::to_string(value));
  *f = value;
  return true;
}

std::vector<std::string> EnergyKnobNames() {
  std::vector<std::string> n;
  for (auto& k : kEnergyKnobs) n.push_back(k.name);
  n.push_back("sram_ref_kb");
  n.push_back("psum_bytes");
  return n;
}
std::vector<std::string> AreaKnobNames() { return {"pe_mm2", "sram_mm2_per_kb"}; }

void LayerEnergy::Add(const LayerEnergy& o) {
  macs += o.macs;
  rf_bytes += o.rf_bytes;
  inter_pe_bytes += o.inter_pe_bytes;
  sram_read_bytes += o.sram_read_bytes;
  sram_write_bytes += o.sram_write_bytes;
  dram_read_bytes += o.dram_read_bytes;
  dram_write_bytes += o.dram_write_bytes;
  mac_pj += o.mac_pj;
  rf_pj += o.rf_pj;
  inter_pe_pj += o.inter_pe_pj;
  sram_read_pj += o.sram_read_pj;
  sram_write_pj += o.sram_write_pj;
  dram_read_pj += o.dram_read_pj;
  dram_write_pj += o.dram_write_pj;
  static_pj += o.static_pj;
}

LayerEnergy ComputeLayerEnergy(const ArchConfig& config, const LayerMetrics& m,
                               const EnergyTable& t) {
  const int64_t wb = m.word_bytes > 0 ? m.word_bytes : config.word_bytes;
  const int64_t pb = t.psum_bytes;
  LayerEnergy e;
  e.name = m.name;
  e.macs = m.macs;
  const PerMacTraffic per_mac = GetDataflow(config.dataflow).per_mac(wb, pb);
  e.rf_bytes = per_mac.rf_bytes * m.macs;
  e.inter_pe_bytes = per_mac.link_bytes * m.macs;
  // Operand widths (LayerMetrics::weight_bits / act_bits): every access moves
  // the operand's bytes, so its energy scales with the width; a MAC's energy
  // with weight_bits * act_bits / 64 of an 8x8-bit MAC (a 1-bit weight turns the
  // multiplier into an add/subtract). One width (0 / 8 * word_bytes): as before.
  if (m.weight_bits > 0 || m.act_bits > 0) {
    e.dram_read_bytes = m.ifmap_dram_read_bytes() + m.filter_dram_read_bytes();
    e.dram_write_bytes = m.ofmap_dram_write_bytes();
    e.sram_read_bytes = m.ifmap_sram_read_bytes() + m.filter_sram_read_bytes() +
                        m.Bytes(m.ofmap_dram_writes, m.act_bits);
    e.sram_write_bytes =
        m.ofmap_sram_write_bytes() + m.ifmap_dram_read_bytes() + m.filter_dram_read_bytes();
    const double wbits = m.weight_bits > 0 ? m.weight_bits : 8.0 * static_cast<double>(wb);
    const double abits = m.act_bits > 0 ? m.act_bits : 8.0 * static_cast<double>(wb);
    e.mac_pj = t.mac_pj * static_cast<double>(m.macs) * wbits * abits / 64.0;
  } else {
    e.dram_read_bytes = (m.ifmap_dram_reads + m.filter_dram_reads) * wb;
    e.dram_write_bytes = m.ofmap_dram_writes * wb;
    e.sram_read_bytes = (m.ifmap_sram_reads + m.filter_sram_reads + m.ofmap_dram_writes) * wb;
    e.sram_write_bytes = (m.ofmap_sram_writes + m.ifmap_dram_reads + m.filter_dram_reads) * wb;
    e.mac_pj = t.mac_pj * static_cast<double>(m.macs) * static_cast<double>(wb);
  }
  ApplyCountedArrayTraffic(m, wb, pb, &e);
  e.rf_pj = t.rf_pj * static_cast<double>(e.rf_bytes);
  e.inter_pe_pj = t.inter_pe_pj * static_cast<double>(e.inter_pe_bytes);
  SramAccessEnergy(config, m, wb, t, &e);
  e.dram_read_pj = t.dram_read_pj * static_cast<double>(e.dram_read_bytes);
  e.dram_write_pj = t.dram_write_pj * static_cast<double>(e.dram_write_bytes);
  e.static_pj = StaticEnergyPj(config, m.total_cycles, t);
  return e;
}

std::vector<LayerEnergy> ComputeNetworkEnergy(const ArchConfig& config,
                                              const std::vector<LayerMetrics>& layers,
                                              const EnergyTable& t) {
  std::vector<LayerEnergy> out;
  out.reserve(layers.size());
  for (auto& m : layers) out.push_back(ComputeLayerEnergy(config, m, t));
  return out;
}

LayerEnergy SumEnergy(const std::vector<LayerEnergy>& layers) {
  LayerEnergy s;
  s.name = "total";
  for (auto& l : layers) s.Add(l);
  return s;
}

AreaEstimate EstimateArea(const ArchConfig& c, const AreaModel& a) {
  AreaEstimate r;
  r.pes = static_cast<int64_t>(c.array_rows) * c.array_cols;
  r.sram_kb = c.ifmap_sram_kb + c.filter_sram_kb + c.ofmap_sram_kb;
  r.area_mm2 = static_cast<double>(r.pes) * a.pe_mm2 + r.sram_kb * a.sram_mm2_per_kb;
  return r;
}

std::string EnergyReportCsv(const std::vector<LayerEnergy>& layers) {
  std::ostringstream o;
  o << "LayerID, Layer name, macs, rf_bytes, inter_pe_bytes, sram_read_bytes, sram_write_bytes, "
       "dram_read_bytes, dram_write_bytes, mac_energy_pj, rf_energy_pj, inter_pe_energy_pj, "
       "sram_read_energy_pj, sram_write_energy_pj, dram_read_energy_pj, dram_write_energy_pj, "
       "static_energy_pj, energy_pj,\n";
  char buf[512];
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerEnergy& e = layers[i];
    std::snprintf(
        buf, sizeof buf,
        "%lld, %lld, %lld, %lld, %lld, %lld, %lld, %.6g, %.6g, %.6g, %.6g, %.6g, "
        "%.6g, %.6g, %.6g, %.6g,\n",
        static_cast<long long>(e.macs), static_cast<long long>(e.rf_bytes),
        static_cast<long long>(e.inter_pe_bytes), static_cast<long long>(e.sram_read_bytes),
        static_cast<long long>(e.sram_write_bytes), static_cast<long long>(e.dram_read_bytes),
        static_cast<long long>(e.dram_write_bytes), e.mac_pj, e.rf_pj, e.inter_pe_pj,
        e.sram_read_pj, e.sram_write_pj, e.dram_read_pj, e.dram_write_pj, e.static_pj,
        e.total_pj());
    o << i << ", " << e.name << ", " << buf;
  }
  return o.str();
}

}  // namespace qaccel::accel
