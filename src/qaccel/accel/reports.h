// Report writers: SCALE-Sim v2's COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and
// DETAILED_ACCESS_REPORT.csv byte for byte (same headers, same ", "
// separators and trailing commas, numbers formatted as Python's str():
// shortest round-trip floats, and the cycle columns SCALE-Sim takes from
// numpy float arrays printed as floats, e.g. "-58.0"), plus qaccel's own
// SUMMARY.json and summary.csv with units in the column names.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"

namespace qaccel::accel {

// Python's repr()/str() of a float (shortest round-trip digits; scientific
// notation below 1e-4 and from 1e16 on, as CPython does).
std::string FormatPyFloat(double v);

std::string ComputeReportCsv(const std::vector<LayerMetrics>& layers);
std::string BandwidthReportCsv(const std::vector<LayerMetrics>& layers);
std::string DetailedAccessReportCsv(const std::vector<LayerMetrics>& layers);
std::string SummaryCsv(const ArchConfig& config, const std::vector<LayerMetrics>& layers);
std::string SummaryJson(const ArchConfig& config, const std::vector<LayerMetrics>& layers,
                        const std::string& command_line);

// Writes the three SCALE-Sim reports, SUMMARY.json, summary.csv and the
// `extra` (file name, content) files into out_dir / config.run_name as one
// set: rendered first, written into a temporary sibling directory, renamed
// into place as a whole (AtomicWriteDirectory), so a failure leaves the
// previous directory (or none) untouched. Refuses, before writing, a
// directory that is not empty and holds no SUMMARY.json of qaccel sim, or
// one that holds one of `inputs` (core/output_dir.h).
void WriteSimReports(const ArchConfig& config, const std::vector<LayerMetrics>& metrics,
                     const std::filesystem::path& out_dir, const std::string& command_line,
                     const std::vector<std::pair<std::string, std::string>>& extra = {},
                     const std::vector<std::filesystem::path>& inputs = {});

// Simulates every layer, then WriteSimReports. Nothing is written when
// simulation fails. Returns the per-layer metrics.
std::vector<LayerMetrics> RunSimAndWriteReports(const ArchConfig& config,
                                                const std::vector<LayerSpec>& layers,
                                                const std::filesystem::path& out_dir,
                                                const std::string& command_line = "");

}  // namespace qaccel::accel
