// SCALE-Sim v2 .cfg and topology CSV readers (see scalesim_io.h).
#include "qaccel/accel/scalesim_io.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "qaccel/accel/limits.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel::accel {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ParseInt(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty()) return false;
  std::istringstream is(s);
  is >> *out;
  return !is.fail() && is.eof() && std::isfinite(*out);
}

// A minimal INI reader: sections, key (=|:) value, comment lines.
struct IniValue {
  std::string value;
  int line = 0;
};
struct IniSection {
  int line = 0;
  std::map<std::string, IniValue> keys;  // lower-case keys
};
struct Ini {
  std::map<std::string, IniSection> sections;  // lower-case names
  int lines = 0;
};

Ini ParseIni(const std::string& text, const std::string& file) {
  Ini ini;
  std::istringstream in(text);
  std::string raw, current;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']')
        throw Error(file + ":" + std::to_string(line_no) + ": malformed section header '" + line +
                    "'");
      current = Lower(Trim(line.substr(1, line.size() - 2)));
      auto& sec = ini.sections[current];
      // Python's configparser (strict, its default) rejects duplicates too.
      if (sec.line != 0)
        throw Error(file + ":" + std::to_string(line_no) + ": duplicate section [" + current +
                    "] (first at line " + std::to_string(sec.line) + "); merge them into one");
      sec.line = line_no;
      continue;
    }
    const size_t eq = line.find_first_of("=:");
    if (eq == std::string::npos)
      throw Error(file + ":" + std::to_string(line_no) + ": expected 'key = value', got '" + line +
                  "'");
    if (current.empty())
      throw Error(file + ":" + std::to_string(line_no) + ": key outside of any [section]");
    const std::string key = Lower(Trim(line.substr(0, eq)));
    auto [it, inserted] = ini.sections[current].keys.try_emplace(key);
    if (!inserted)
      throw Error(file + ":" + std::to_string(line_no) + ": duplicate key '" + key + "' in [" +
                  current + "] (first at line " + std::to_string(it->second.line) + "); keep one");
    it->second = {Trim(line.substr(eq + 1)), line_no};
  }
  ini.lines = line_no;
  return ini;
}

class ConfigReader {
 public:
  ConfigReader(const Ini& ini, std::string file) : ini_(ini), file_(std::move(file)) {}

  const IniSection& Section(const std::string& name) const {
    auto it = ini_.sections.find(Lower(name));
    if (it == ini_.sections.end())
      throw Error(file_ + ":" + std::to_string(std::max(1, ini_.lines)) + ": missing section [" +
                  name + "]");
    return it->second;
  }
  const IniValue* Find(const std::string& section, const std::string& key) const {
    const auto& sec = Section(section);
    auto it = sec.keys.find(Lower(key));
    return it == sec.keys.end() ? nullptr : &it->second;
  }
  const IniValue& Get(const std::string& section, const std::string& key) const {
    const IniValue* v = Find(section, key);
    if (!v)
      throw Error(file_ + ":" + std::to_string(Section(section).line) + ": section [" + section +
                  "] has no key '" + key + "'");
    return *v;
  }
  std::string Where(const IniValue& v) const { return file_ + ":" + std::to_string(v.line) + ": "; }

  int64_t Int(const std::string& section, const std::string& key, int64_t min,
              int64_t max = std::numeric_limits<int64_t>::max()) const {
    const IniValue& v = Get(section, key);
    int64_t x = 0;
    if (!ParseInt(v.value, &x))
      throw Error(Where(v) + key + " must be an integer, got '" + v.value + "'");
    if (x < min)
      throw Error(Where(v) + key + " must be >= " + std::to_string(min) + ", got " + v.value);
    if (x > max)
      throw Error(Where(v) + key + " must be <= " + std::to_string(max) + ", got " + v.value +
                  " (docs/simulator.md, Input limits)");
    return x;
  }
  double PositiveNumber(const std::string& section, const std::string& key, double max) const {
    const IniValue& v = Get(section, key);
    // strtod, unlike an istream, reads "inf" and "nan": refused below as out of range.
    char* end = nullptr;
    const double x = v.value.empty() ? 0 : std::strtod(v.value.c_str(), &end);
    if (v.value.empty() || end != v.value.c_str() + v.value.size())
      throw Error(Where(v) + key + " must be a number, got '" + v.value + "'");
    if (!(x > 0) && !std::isnan(x)) throw Error(Where(v) + key + " must be > 0, got " + v.value);
    if (!(x <= max))
      throw Error(Where(v) + key +
                  " must be a number <= " + std::to_string(static_cast<int64_t>(max)) +
                  " kB, got " + v.value + " (docs/simulator.md, Input limits)");
    return x;
  }

 private:
  const Ini& ini_;
  std::string file_;
};

// Applies the [energy] and [area] sections (absent sections keep *table and
// *area), in file order so the first bad line is the one reported.
void ApplyEnergySections(const Ini& ini, const std::string& file, EnergyTable* table,
                         AreaModel* area) {
  for (const std::string section : {"energy", "area"}) {
    auto sec = ini.sections.find(section);
    if (sec == ini.sections.end()) continue;
    std::vector<std::pair<const std::string*, const IniValue*>> keys;
    for (auto& [k, v] : sec->second.keys) keys.emplace_back(&k, &v);
    std::sort(keys.begin(), keys.end(),
              [](auto& a, auto& b) { return a.second->line < b.second->line; });
    for (auto& [key, v] : keys) {
      const std::string where = file + ":" + std::to_string(v->line) + ": ";
      double x = 0;
      if (!ParseDouble(v->value, &x))
        throw Error(where + "[" + section + "] " + *key + " = '" + v->value + "' is not a number");
      bool known = false;
      try {
        known = section == "energy" ? SetEnergyKnob(*table, *key, x) : SetAreaKnob(*area, *key, x);
      } catch (const Error& e) {
        throw Error(where + e.what());
      }
      if (!known) {
        std::string names;
        for (auto& n : section == "energy" ? EnergyKnobNames() : AreaKnobNames())
          names += (names.empty() ? "" : ", ") + n;
        throw Error(where + "unknown key '" + *key + "' in [" + section + "] (known: " + names +
                    ")");
      }
    }
  }
}

}  // namespace

void ParseEnergySections(const std::string& text, const std::string& file, EnergyTable* table,
                         AreaModel* area) {
  ApplyEnergySections(ParseIni(text, file), file, table, area);
}

void ReadEnergySections(const std::filesystem::path& cfg, EnergyTable* table, AreaModel* area) {
  ParseEnergySections(ReadTextFile(cfg), cfg.string(), table, area);
}

ScaleSimConfigFile ParseScaleSimConfig(const std::string& text, const std::string& file) {
  const Ini ini = ParseIni(text, file);
  const ConfigReader r(ini, file);
  ScaleSimConfigFile out;
  ArchConfig& a = out.arch;
  a.run_name = r.Get("general", "run_name").value;
  if (a.run_name.empty() || a.run_name.find('/') != std::string::npos || a.run_name == "." ||
      a.run_name == "..")
    throw Error(r.Where(r.Get("general", "run_name")) +
                "run_name must be a non-empty plain directory name");

  const IniValue& bw_mode = r.Get("run_presets", "InterfaceBandwidth");
  if (bw_mode.value == "USER") {
    a.bw_mode = BandwidthMode::kUser;
  } else if (bw_mode.value == "CALC") {
    a.bw_mode = BandwidthMode::kCalc;
  } else {
    throw Error(r.Where(bw_mode) + "InterfaceBandwidth must be USER or CALC, got '" +
                bw_mode.value + "'");
  }

  const std::string arch = "architecture_presets";
  a.array_rows = static_cast<int>(r.Int(arch, "ArrayHeight", 1, kMaxArrayDim));
  a.array_cols = static_cast<int>(r.Int(arch, "ArrayWidth", 1, kMaxArrayDim));
  a.ifmap_sram_kb = r.PositiveNumber(arch, "IfmapSramSzkB", kMaxSramKb);
  a.filter_sram_kb = r.PositiveNumber(arch, "FilterSramSzkB", kMaxSramKb);
  a.ofmap_sram_kb = r.PositiveNumber(arch, "OfmapSramSzkB", kMaxSramKb);
  a.ifmap_offset = r.Int(arch, "IfmapOffset", 0);
  a.filter_offset = r.Int(arch, "FilterOffset", 0);
  a.ofmap_offset = r.Int(arch, "OfmapOffset", 0);
  const IniValue& df = r.Get(arch, "Dataflow");
  try {
    a.dataflow = ParseDataflow(df.value);
  } catch (const Error& e) {
    throw Error(r.Where(df) + e.what());
  }
  // Bandwidth: a comma list; SCALE-Sim uses the first entry (USER mode only).
  if (const IniValue* bw = r.Find(arch, "Bandwidth")) {
    const std::string first = Trim(bw->value.substr(0, bw->value.find(',')));
    int64_t x = 0;
    const auto max_bw = static_cast<int64_t>(kMaxBandwidthWordsPerCycle);
    if (!ParseInt(first, &x) || x < 1 || x > max_bw) {
      if (a.bw_mode == BandwidthMode::kUser)
        throw Error(r.Where(*bw) + "Bandwidth must be a positive integer (words/cycle)" +
                    (x > max_bw ? " <= " + std::to_string(max_bw) : std::string()) + ", got '" +
                    bw->value + "'");
    } else {
      a.bandwidth_words_per_cycle = static_cast<double>(x);
    }
  } else if (a.bw_mode == BandwidthMode::kUser) {
    r.Get(arch, "Bandwidth");  // throws the missing-key error
  }
  if (r.Find(arch, "MemoryBanks"))
    a.memory_banks = static_cast<int>(r.Int(arch, "MemoryBanks", 1, kMaxMemoryBanks));
  if (ini.sections.count("network_presets")) {
    if (const IniValue* t = r.Find("network_presets", "TopologyCsvLoc")) {
      std::string p = t->value;
      p.erase(std::remove(p.begin(), p.end(), '"'), p.end());
      out.topology_path = Trim(p);
    }
  }
  ApplyEnergySections(ini, file, &out.energy, &out.area);
  return out;
}

ScaleSimConfigFile ReadScaleSimConfig(const std::filesystem::path& path) {
  return ParseScaleSimConfig(ReadTextFile(path), path.string());
}

namespace {

// SCALE-Sim drops the last comma-separated field of every topology row
// (normally the empty one after the trailing comma). Its MobileNet topologies
// put a marker there instead ("Conv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw"), which
// it therefore never reads. A row without a trailing comma whose last field
// is not an integer has such a marker: it is dropped too. (A row without a
// trailing comma whose last field is a number keeps it: SCALE-Sim would
// lose that number and fail, qaccel reads it, docs/topology.md.)
void DropIgnoredLastField(const std::string& line, std::vector<std::string>* f) {
  int64_t number = 0;
  if (!line.empty() && line.back() != ',' && f->size() > 1 && !ParseInt(f->back(), &number))
    f->pop_back();
}

// kMaxTopologyLayers: `count` layers after this row; `dp` the expanded row.
void CheckLayerCount(size_t count, const std::string& where, const LayerSpec* dp) {
  if (static_cast<int64_t>(count) <= kMaxTopologyLayers) return;
  throw Error(where + "more than " + std::to_string(kMaxTopologyLayers) + " layers" +
              (dp ? " (a \"DP\" row expands into one layer per channel: 'Channels' = " +
                        std::to_string(dp->channels) + ")"
                  : "") +
              " (docs/simulator.md, Input limits)");
}

// As in SCALE-Sim, a conv layer whose name contains "DP" is depthwise: one
// single-channel layer per channel ("<name>Channel_<i>").
void AppendConvLayer(const LayerSpec& l, const std::string& where, std::vector<LayerSpec>* layers) {
  if (l.name.find("DP") == std::string::npos) {
    CheckLayerCount(layers->size() + 1, where, nullptr);
    layers->push_back(l);
    return;
  }
  CheckLayerCount(layers->size() + static_cast<size_t>(l.channels), where, &l);
  for (int64_t c = 0; c < l.channels; ++c) {
    LayerSpec d = l;
    d.name = l.name + "Channel_" + std::to_string(c);
    d.channels = 1;
    layers->push_back(d);
  }
}

}  // namespace

std::vector<LayerSpec> ParseTopology(const std::string& text, const std::string& file,
                                     TopologyFormat format) {
  static const char* kConvFields[] = {"Layer name",    "IFMAP Height",  "IFMAP Width",
                                      "Filter Height", "Filter Width",  "Channels",
                                      "Num Filter",    "Stride Height", "Stride Width"};
  static const char* kGemmFields[] = {"Layer", "M", "N", "K"};
  std::vector<LayerSpec> layers;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  bool first_content = true;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(Trim(cell));
    while (!f.empty() && f.back().empty()) f.pop_back();
    DropIgnoredLastField(line, &f);
    const std::string where = file + ":" + std::to_string(line_no) + ": ";
    if (first_content) {
      first_content = false;
      int64_t dummy = 0;
      if (f.size() < 2 || !ParseInt(f[1], &dummy)) continue;  // header row
    }
    auto num = [&](size_t i, const char* name) {
      int64_t x = 0;
      if (!ParseInt(f[i], &x))
        throw Error(where + "field '" + name + "' must be an integer, got '" + f[i] + "'");
      if (x < 1) throw Error(where + "field '" + name + "' must be >= 1, got " + f[i]);
      if (x > kMaxLayerDim)
        throw Error(where + "field '" + name + "' must be <= " + std::to_string(kMaxLayerDim) +
                    ", got " + f[i] + " (docs/simulator.md, Input limits)");
      return x;
    };
    if (format == TopologyFormat::kGemm) {
      if (f.size() != 4)
        throw Error(where + "expected 4 fields (Layer, M, N, K), got " + std::to_string(f.size()) +
                    (f.size() > 4 ? " (a conv topology? read it without '-i gemm')" : ""));
      CheckLayerCount(layers.size() + 1, where, nullptr);
      layers.push_back(LayerSpec::Gemm(f[0], num(1, kGemmFields[1]), num(2, kGemmFields[2]),
                                       num(3, kGemmFields[3])));
      continue;
    }
    if (f.size() < 8)
      throw Error(
          where +
          "expected 8 or 9 fields (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter "
          "Width, Channels, Num Filter, Strides[, Stride Width]), got " +
          std::to_string(f.size()));
    LayerSpec l;
    l.name = f[0];
    l.ifmap_h = num(1, kConvFields[1]);
    l.ifmap_w = num(2, kConvFields[2]);
    l.filter_h = num(3, kConvFields[3]);
    l.filter_w = num(4, kConvFields[4]);
    l.channels = num(5, kConvFields[5]);
    l.num_filters = num(6, kConvFields[6]);
    l.stride_h = num(7, kConvFields[7]);
    l.stride_w = f.size() >= 9 ? num(8, kConvFields[8]) : l.stride_h;
    if (l.filter_h > l.ifmap_h) throw Error(where + "Filter Height is larger than IFMAP Height");
    if (l.filter_w > l.ifmap_w) throw Error(where + "Filter Width is larger than IFMAP Width");
    AppendConvLayer(l, where, &layers);
  }
  if (layers.empty())
    throw Error(file + ":" + std::to_string(std::max(1, line_no)) + ": topology has no layers");
  return layers;
}

std::vector<LayerSpec> ReadTopology(const std::filesystem::path& path, TopologyFormat format) {
  return ParseTopology(ReadTextFile(path), path.string(), format);
}

}  // namespace qaccel::accel
