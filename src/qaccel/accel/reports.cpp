// SCALE-Sim v2 compatible report files and qaccel's summaries (see reports.h).
#include "qaccel/accel/reports.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qaccel/core/output_dir.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel::accel {

std::string FormatPyFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, res.ptr);  // e.g. "-1.2345e+02" (shortest round-trip digits)
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const size_t epos = s.find('e');
  const int exp = std::stoi(s.substr(epos + 1));
  std::string digits = s.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + eb;
  }
  if (exp < 0) return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  const size_t int_len = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_len)
    return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
  return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

std::string F(double v) { return FormatPyFloat(v); }
std::string Fc(int64_t cycle) {
  return FormatPyFloat(static_cast<double>(cycle));
}  // numpy float cycles
std::string I(int64_t v) { return std::to_string(v); }

std::string Rows(const std::vector<LayerMetrics>& layers, const std::string& header,
                 std::vector<std::string> (*items)(const LayerMetrics&)) {
  std::string out = header;
  for (size_t i = 0; i < layers.size(); ++i) {
    out += std::to_string(i) + ", ";
    const auto it = items(layers[i]);
    for (size_t j = 0; j < it.size(); ++j) out += (j ? ", " : "") + it[j];
    out += ",\n";
  }
  return out;
}

}  // namespace

std::string ComputeReportCsv(const std::vector<LayerMetrics>& layers) {
  return Rows(layers,
              "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute "
              "Util %,\n",
              [](const LayerMetrics& m) -> std::vector<std::string> {
                return {I(m.total_cycles), I(m.stall_cycles), F(m.overall_util_pct),
                        F(m.mapping_efficiency_pct), F(m.compute_util_pct)};
              });
}

std::string BandwidthReportCsv(const std::vector<LayerMetrics>& layers) {
  return Rows(
      layers,
      "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, "
      "Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n",
      [](const LayerMetrics& m) -> std::vector<std::string> {
        return {F(m.avg_ifmap_sram_bw), F(m.avg_filter_sram_bw), F(m.avg_ofmap_sram_bw),
                F(m.avg_ifmap_dram_bw), F(m.avg_filter_dram_bw), F(m.avg_ofmap_dram_bw)};
      });
}

std::string DetailedAccessReportCsv(const std::vector<LayerMetrics>& layers) {
  return Rows(
      layers,
      "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
      "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
      "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
      "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
      "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
      "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n",
      [](const LayerMetrics& m) -> std::vector<std::string> {
        return {
            Fc(m.ifmap_sram_start_cycle),  Fc(m.ifmap_sram_stop_cycle),  I(m.ifmap_sram_reads),
            Fc(m.filter_sram_start_cycle), Fc(m.filter_sram_stop_cycle), I(m.filter_sram_reads),
            Fc(m.ofmap_sram_start_cycle),  Fc(m.ofmap_sram_stop_cycle),  I(m.ofmap_sram_writes),
            Fc(m.ifmap_dram_start_cycle),  Fc(m.ifmap_dram_stop_cycle),  I(m.ifmap_dram_reads),
            Fc(m.filter_dram_start_cycle), Fc(m.filter_dram_stop_cycle), I(m.filter_dram_reads),
            Fc(m.ofmap_dram_start_cycle),  Fc(m.ofmap_dram_stop_cycle),  I(m.ofmap_dram_writes)};
      });
}

std::string SummaryCsv(const ArchConfig& config, const std::vector<LayerMetrics>& layers) {
  std::ostringstream o;
  o << "layer_id,layer_name,total_cycles,stall_cycles,macs,overall_util_pct,mapping_efficiency_pct,"
       "compute_util_pct,sram_ifmap_read_words,sram_filter_read_words,sram_ofmap_write_words,"
       "dram_ifmap_read_words,dram_filter_read_words,dram_ofmap_write_words,dram_read_bytes,dram_"
       "write_bytes\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& m = layers[i];
    o << i << "," << m.name << "," << m.total_cycles << "," << m.stall_cycles << "," << m.macs
      << "," << F(m.overall_util_pct) << "," << F(m.mapping_efficiency_pct) << ","
      << F(m.compute_util_pct) << "," << m.ifmap_sram_reads << "," << m.filter_sram_reads << ","
      << m.ofmap_sram_writes << "," << m.ifmap_dram_reads << "," << m.filter_dram_reads << ","
      << m.ofmap_dram_writes << "," << m.dram_read_bytes() << "," << m.dram_write_bytes() << "\n";
  }
  const NetworkTotals t = SumNetwork(config, layers);
  const int64_t sums[6] = {t.ifmap_sram_reads, t.filter_sram_reads, t.ofmap_sram_writes,
                           t.ifmap_dram_reads, t.filter_dram_reads, t.ofmap_dram_writes};
  // Network row: sums, and utilization over all cycles (per-fold averages do not add up).
  o << "total,network," << t.total_cycles << "," << t.stall_cycles << "," << t.macs << ","
    << F(t.overall_util_pct) << ",,";
  for (int64_t v : sums) o << "," << v;
  o << "," << t.dram_read_bytes << "," << t.dram_write_bytes << "\n";
  return o.str();
}

std::string SummaryJson(const ArchConfig& c, const std::vector<LayerMetrics>& layers,
                        const std::string& command_line) {
  using nlohmann::json;
  json j;
  j["tool"] = "qaccel sim";
  j["version"] = QACCEL_VERSION;
  j["command_line"] = command_line;
  j["model"] = "SCALE-Sim v2 compatible (see docs/simulator.md)";
  j["config"] = {{"run_name", c.run_name},
                 {"array_rows", c.array_rows},
                 {"array_cols", c.array_cols},
                 {"ifmap_sram_kb", c.ifmap_sram_kb},
                 {"filter_sram_kb", c.filter_sram_kb},
                 {"ofmap_sram_kb", c.ofmap_sram_kb},
                 {"dataflow", DataflowName(c.dataflow)},
                 {"bandwidth_mode", c.bw_mode == BandwidthMode::kUser ? "USER" : "CALC"},
                 {"bandwidth_words_per_cycle", c.bandwidth_words_per_cycle},
                 {"word_bytes", c.word_bytes}};
  json arr = json::array();
  for (const auto& m : layers) {
    arr.push_back({{"name", m.name},
                   {"total_cycles", m.total_cycles},
                   {"stall_cycles", m.stall_cycles},
                   {"macs", m.macs},
                   {"overall_util_pct", m.overall_util_pct},
                   {"mapping_efficiency_pct", m.mapping_efficiency_pct},
                   {"compute_util_pct", m.compute_util_pct},
                   {"sram_ifmap_read_words", m.ifmap_sram_reads},
                   {"sram_filter_read_words", m.filter_sram_reads},
                   {"sram_ofmap_write_words", m.ofmap_sram_writes},
                   {"dram_ifmap_read_words", m.ifmap_dram_reads},
                   {"dram_filter_read_words", m.filter_dram_reads},
                   {"dram_ofmap_write_words", m.ofmap_dram_writes},
                   {"dram_read_bytes", m.dram_read_bytes()},
                   {"dram_write_bytes", m.dram_write_bytes()}});
    if (m.weight_bits > 0 || m.act_bits > 0) {  // a layer below 8 bits (sim -m)
      arr.back()["weight_bits"] = m.weight_bits;
      arr.back()["act_bits"] = m.act_bits;
    }
  }
  j["layers"] = arr;
  const NetworkTotals t = SumNetwork(c, layers);
  j["network"] = {{"total_cycles", t.total_cycles},
                  {"stall_cycles", t.stall_cycles},
                  {"macs", t.macs},
                  {"overall_util_pct", t.overall_util_pct},
                  {"sram_read_words", t.sram_read_words},
                  {"sram_write_words", t.sram_write_words},
                  {"dram_read_words", t.dram_read_words},
                  {"dram_write_words", t.dram_write_words},
                  {"dram_read_bytes", t.dram_read_bytes},
                  {"dram_write_bytes", t.dram_write_bytes}};
  return j.dump(2) + "\n";
}

void WriteSimReports(const ArchConfig& config, const std::vector<LayerMetrics>& metrics,
                     const std::filesystem::path& out_dir, const std::string& command_line,
                     const std::vector<std::pair<std::string, std::string>>& extra,
                     const std::vector<std::filesystem::path>& inputs) {
  const std::filesystem::path dir = out_dir / config.run_name;
  CheckReplaceableOutputDir(dir, "SUMMARY.json", "\"tool\": \"qaccel sim\"", inputs);
  // Render everything first so a formatting problem cannot leave a partial set.
  std::vector<std::pair<std::string, std::string>> files = {
      {"COMPUTE_REPORT.csv", ComputeReportCsv(metrics)},
      {"BANDWIDTH_REPORT.csv", BandwidthReportCsv(metrics)},
      {"DETAILED_ACCESS_REPORT.csv", DetailedAccessReportCsv(metrics)},
      {"summary.csv", SummaryCsv(config, metrics)},
      {"SUMMARY.json", SummaryJson(config, metrics, command_line)},
  };
  files.insert(files.end(), extra.begin(), extra.end());
  AtomicWriteDirectory(dir, [&](const std::filesystem::path& tmp) {
    for (const auto& [name, text] : files) AtomicWriteText(tmp / name, text);
  });
}

std::vector<LayerMetrics> RunSimAndWriteReports(const ArchConfig& config,
                                                const std::vector<LayerSpec>& layers,
                                                const std::filesystem::path& out_dir,
                                                const std::string& command_line) {
  if (layers.empty()) throw Error("no layers to simulate");
  std::vector<LayerMetrics> metrics = SimulateNetwork(config, layers);
  WriteSimReports(config, metrics, out_dir, command_line);
  return metrics;
}

}  // namespace qaccel::accel
