// Export of a quantized Graph for hardware: parameter files per layer plus a
// manifest.json complete enough to write an independent integer
// implementation from the directory alone (shapes, memory layouts, dtypes,
// zero points, scales, multipliers, shifts, clamps, the numeric contract and
// the exact order of integer operations of every layer).
//
// Formats (--format), one value per line / element, in the layout the
// manifest states (conv weight OIHW, linear weight [O, I], row-major):
//   txt  <layer>.weight.txt (int8, decimal), <layer>.bias.txt (int32, decimal),
//        <layer>_scale_zero.txt (key value lines: scales, zero points,
//        multipliers, shifts, clamp) -- the source's files
//   hex  <layer>.weight.hex (2 hex digits), <layer>.bias.hex (8 hex digits),
//        <layer>.multiplier.hex, <layer>.shift.hex (8 hex digits): two's
//        complement, no prefix, for Verilog $readmemh
//   bin  <layer>.weight.bin (int8), <layer>.bias.bin, <layer>.multiplier.bin,
//        <layer>.shift.bin (int32 little-endian), raw
// Every format also writes <layer>_scale_zero.txt and manifest.json. The
// directory is written to a temporary sibling and renamed into place only
// when complete (an existing directory of that name is replaced).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "qaccel/graph/graph.h"

namespace qaccel::exporter {

struct ExportOptions {
  std::string format = "txt";  // txt | hex | bin
  std::string command_line;    // recorded in the manifest
  std::string source_model;    // recorded in the manifest
};

// Throws Error for a float graph or an unknown format; writes nothing then.
void ExportModel(const Graph& g, const std::filesystem::path& dir, const ExportOptions& options);
nlohmann::json BuildManifest(const Graph& g, const ExportOptions& options);

// "%02x" of an int8 / "%08x" of an int32, two's complement.
std::string HexInt8(int8_t v);
std::string HexInt32(int32_t v);

}  // namespace qaccel::exporter
