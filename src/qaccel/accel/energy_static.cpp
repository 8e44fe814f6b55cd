// Static (leakage) energy, the energy-reference table file and counted
// in-array traffic (energy.h;
// model, defaults and sources in docs/energy.md).
#include <cmath>
#include <cstdlib>
#include <string>

#include "qaccel/accel/energy.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel::accel {

double StaticEnergyPj(const ArchConfig& c, int64_t cycles, const EnergyTable& t) {
  // A PE's registers and datapath grow with the word, as its MAC energy does.
  const double pes = static_cast<double>(c.array_rows) * static_cast<double>(c.array_cols);
  const double pe_pj = t.pe_static_pj * static_cast<double>(c.word_bytes);
  const double sram_kb = c.ifmap_sram_kb + c.filter_sram_kb + c.ofmap_sram_kb;
  return static_cast<double>(cycles) * (pes * pe_pj + sram_kb * t.sram_static_pj_per_kb);
}

namespace {

// Accelergy-style component.action names -> the knobs of the [energy] /
// [area] sections.
struct ErtAlias {
  const char* alias;
  const char* knob;
};
constexpr ErtAlias kErtAliases[] = {
    {"mac.compute", "mac_pj"},
    {"rf.access", "rf_pj"},
    {"noc.hop", "inter_pe_pj"},
    {"sram.read", "sram_read_pj"},
    {"sram.write", "sram_write_pj"},
    {"dram.read", "dram_read_pj"},
    {"dram.write", "dram_write_pj"},
    {"pe.leak", "pe_static_pj"},
    {"sram.leak", "sram_static_pj_per_kb"},
    {"psum.bytes", "psum_bytes"},
    {"pe.area", "pe_mm2"},
    {"sram.area", "sram_mm2_per_kb"},
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

void ParseEnergyReferenceTable(const std::string& text, const std::string& file, EnergyTable* table,
                               AreaModel* area) {
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = file + ":" + std::to_string(line_no) + ": ";
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) continue;
    const size_t sep = line.find_first_of(":=");
    if (sep == std::string::npos)
      throw Error(where + "expected 'component.action: value', got '" + line + "'");
    std::string key = Trim(line.substr(0, sep));
    const std::string value = Trim(line.substr(sep + 1));
    char* stop = nullptr;
    const double x = std::strtod(value.c_str(), &stop);
    if (value.empty() || *stop != '\0' || !std::isfinite(x))
      throw Error(where + "key '" + key + "': expected a finite number, got '" + value + "'");
    for (const ErtAlias& a : kErtAliases)
      if (key == a.alias) key = a.knob;
    bool known = false;
    try {
      known = SetEnergyKnob(*table, key, x) || SetAreaKnob(*area, key, x);
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
    if (!known) {
      std::string names;
      for (const ErtAlias& a : kErtAliases)
        names += (names.empty() ? "" : ", ") + std::string(a.alias);
      for (auto& n : EnergyKnobNames()) names += ", " + n;
      for (auto& n : AreaKnobNames()) names += ", " + n;
      throw Error(where + "unknown key '" + key + "' (known: " + names + ")");
    }
  }
}

void ReadEnergyReferenceTable(const std::filesystem::path& file, EnergyTable* table,
                              AreaModel* area) {
  ParseEnergyReferenceTable(ReadTextFile(file), file.string(), table, area);
}

}  // namespace qaccel::accel

namespace qaccel::accel {

void ApplyCountedArrayTraffic(const LayerMetrics& m, int64_t wb, int64_t pb, LayerEnergy* e) {
  if (!m.array_traffic_counted) return;
  e->rf_bytes = m.rf_word_accesses * wb + m.rf_psum_accesses * pb;
  e->inter_pe_bytes = m.noc_word_hops * wb + m.noc_psum_hops * pb;
  e->sram_read_bytes += m.psum_sram_reads * wb;
}

}  // namespace qaccel::accel

namespace qaccel::accel {

void SramAccessEnergy(const ArchConfig& c, const LayerMetrics& m, int64_t wb, const EnergyTable& t,
                      LayerEnergy* e) {
  const auto scale = [&](double kb) {
    return t.sram_size_exp == 0 ? 1.0 : std::pow(kb / t.sram_ref_kb, t.sram_size_exp);
  };
  const double w = static_cast<double>(wb);
  const double s_if = scale(c.ifmap_sram_kb), s_fi = scale(c.filter_sram_kb),
               s_of = scale(c.ofmap_sram_kb);
  const auto d = [](int64_t x) { return static_cast<double>(x); };
  // Bytes at the operand's width (LayerMetrics::weight_bits / act_bits; 0: a
  // word each), so that sub-8-bit operands cost proportionally less.
  const auto bytes = [&](int64_t words, int bits) {
    return d(bits > 0 ? (words * bits + 7) / 8 : words * wb);
  };
  e->sram_read_pj =
      t.sram_read_pj * (bytes(m.ifmap_sram_reads, m.act_bits) * s_if +
                        bytes(m.filter_sram_reads, m.weight_bits) * s_fi +
                        bytes(m.ofmap_dram_writes, m.act_bits) * s_of +
                        (m.array_traffic_counted ? d(m.psum_sram_reads) * w * s_of : 0.0));
  e->sram_write_pj = t.sram_write_pj * (bytes(m.ifmap_dram_reads, m.act_bits) * s_if +
                                        bytes(m.filter_dram_reads, m.weight_bits) * s_fi +
                                        bytes(m.ofmap_sram_writes, m.act_bits) * s_of);
}

}  // namespace qaccel::accel
