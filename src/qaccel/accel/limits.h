// Input limits of the cost model: every design point and layer qaccel
// accepts simulates in seconds and in well under 1 GB, or is refused up
// front with a message naming the field and the limit (docs/simulator.md,
// "Input limits"). The limits cover SCALE-Sim's own shipped topologies
// (ResNet-50, UNet, AlexNet, MobileNet, DeepBench-sized GEMMs) on its
// configs; they exist to turn a typo (10^12 filters) into one clear line
// instead of a hang or an allocation failure. Nothing is clamped.
#pragma once

#include <cstdint>
#include <string>

namespace qaccel::accel {

// ArrayHeight / ArrayWidth (rows, cols of the PE array).
inline constexpr int64_t kMaxArrayDim = int64_t{1} << 16;  // 65,536
// Each topology field (IFMAP height/width, filter height/width, channels,
// filters, strides).
inline constexpr int64_t kMaxLayerDim = int64_t{1} << 24;  // 16,777,216
// Rows and columns of the operand matrices: M = OFMAP pixels and
// K = filter_h * filter_w * channels (the address tables hold 24 bytes per
// row and per column).
inline constexpr int64_t kMaxOperandDim = int64_t{1} << 23;  // 8,388,608
// IFMAP elements H * W * C. The CALC read-buffer model keeps per-address
// state only for the current prefetch window over a large IFMAP (a hashed
// table of at most kMaxWindowTableEntries), so this bounds address
// arithmetic, not memory: 2^36 admits SCALE-Sim's UNet GEMM topology (Conv1b:
// an M x K IFMAP of 2.4 x 10^9).
inline constexpr int64_t kMaxIfmapElements = int64_t{1} << 36;
// Entries of that hashed window table (24 bytes each: 50 MB at most); a
// window this large over an IFMAP above 2^26 addresses needs an IFMAP SRAM
// of hundreds of MB.
inline constexpr int64_t kMaxWindowTableEntries = int64_t{1} << 21;
// USER mode replays every operand address through per-address state
// (~28 bytes each): IFMAP + filter elements, and the prefetch-order entries.
inline constexpr int64_t kMaxUserModeAddresses = int64_t{1} << 24;
// Simulated work of one layer: demand rows (folds x fold length) plus the
// operand addresses replayed one at a time (USER: every IFMAP and filter
// read; CALC: the IFMAP reads, scaled by the share that cannot be applied as
// ranges, when the IFMAP does not fit one prefetch window). ~5-10 ns each.
inline constexpr int64_t kMaxSimulatedWork = int64_t{1} << 30;  // 1,073,741,824
// SRAM sizes in kB (SCALE-Sim's *SramSzkB), USER bandwidth in words/cycle,
// bytes per word, MemoryBanks.
inline constexpr double kMaxSramKb = double(int64_t{1} << 30);  // 1 TiB
inline constexpr double kMaxBandwidthWordsPerCycle = double(int64_t{1} << 20);
inline constexpr int kMaxWordBytes = 8;
inline constexpr int64_t kMaxMemoryBanks = int64_t{1} << 16;
// Layers of one topology, after the "DP" depthwise expansion.
inline constexpr int64_t kMaxTopologyLayers = int64_t{1} << 17;  // 131,072

// a * b, or throws Error("<what> = a x b is above <limit> ...") when the
// product exceeds `limit` (no signed overflow happens either way).
int64_t CheckedProduct(int64_t a, int64_t b, int64_t limit, const std::string& what);

}  // namespace qaccel::accel
