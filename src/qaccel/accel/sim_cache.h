// Memo of CALC-mode sub-results of the cost model, shared by all threads.
//
// In CALC bandwidth mode the read buffers never stall, so a layer's result
// splits into parts that each depend on a subset of the design point
// (docs/simulator.md, "Memoization"):
//   * the OFMAP walk (stalls, total cycles, OFMAP SRAM/DRAM figures, the
//     stall timeline) depends on the array shape, the dataflow, the layer
//     shape and the OFMAP buffer size in words -- not on the IFMAP / filter
//     SRAMs;
//   * the layer's operand address tables depend on the layer shape only;
//   * the IFMAP window history (windows closed, open count, demand row of the
//     last close) depends on the array shape, the dataflow, the layer shape
//     and the IFMAP buffer size in words -- not on the OFMAP SRAM (stalls
//     only map its rows to cycles, which is done afterwards).
// A design-space sweep over S_if x S_fi x S_of SRAM sizes then computes each
// part S_of resp. S_if times per array shape instead of S_if * S_fi * S_of.
//
// The memo is invisible to callers of SimulateLayer: keys hold every input a
// part reads, values are immutable, results are identical with or without
// it (tests/accel/test_sim_cache.cpp), memory is bounded (oldest entries
// evicted first), and SetSimCacheEnabled(false) or the environment variable
// QACCEL_SIM_CACHE=0 turns it off.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"

namespace qaccel::accel {

class OperandMatrices;

// Turn the memo on/off for the whole process (default: on unless
// QACCEL_SIM_CACHE=0). Turning it off also empties it.
void SetSimCacheEnabled(bool enabled);
bool SimCacheEnabled();
// Byte budget of each of the three memos (default 64 MiB each); shrinking
// evicts immediately.
void SetSimCacheBudget(std::size_t bytes);
void ClearSimCache();

// The bulk OFMAP advance of the CALC walk (WriteBufferModel::AdvanceQuietRows
// over runs of rows with equal OFMAP demand); default on unless
// QACCEL_SIM_BULK=0. Off = one WriteBufferModel::Service call per demand row,
// the straightforward path the tests compare against.
void SetSimBulkWalkEnabled(bool enabled);
bool SimBulkWalkEnabled();

struct SimCacheStats {
  uint64_t hits = 0, misses = 0;
  std::size_t entries = 0, bytes = 0;
};
SimCacheStats GetSimCacheStats();

namespace detail {

// Everything a memoized part may depend on (unused fields zero). The first
// field is the MemoKind, so keys of different parts never collide.
using SimCacheKey = std::array<int64_t, 16>;
enum class MemoKind : int64_t {
  kOfmapWalk = 1,
  kIfmapHistory = 2,
  kOperandMatrices = 3,
  kUserLayer = 4
};

// Stalls recorded during the walk, as (row, cumulative stall after that row),
// in row order: maps a demand row to its cycle.
class StallTimeline {
 public:
  void Add(int64_t row, int64_t stall) {
    total_ += stall;
    points_.emplace_back(row, total_);
  }
  // Sum of stalls at rows < row.
  int64_t Before(int64_t row) const;
  int64_t Cycle(int64_t row) const { return row + Before(row); }
  std::size_t bytes() const { return points_.capacity() * sizeof(points_[0]); }

 private:
  std::vector<std::pair<int64_t, int64_t>> points_;
  int64_t total_ = 0;
};

// Immutable values, shared by pointer.
struct CachedOfmapWalk {
  int64_t stalls = 0, total_cycles = 0;
  bool of_any = false;  // OFMAP SRAM trace span
  int64_t of_first = 0, of_last = 0;
  int64_t dram_writes = 0, dram_first = 0, dram_last = 0;  // write buffer results
  StallTimeline timeline;
  std::size_t bytes() const { return sizeof(*this) + timeline.bytes(); }
};
// A whole USER-mode layer (its read buffers stall, so every part depends on
// every SRAM size and the bandwidth: the key holds all of them).
struct CachedUserLayer {
  LayerMetrics metrics;
  std::size_t bytes() const { return sizeof(*this) + metrics.name.size(); }
};
struct CachedIfmapHistory {
  int64_t closed = 0, open = 0, last_close_row = 0;
  std::size_t bytes() const { return sizeof(*this); }
};

// Looks `key` up; on a miss calls `compute` (outside any lock), stores the
// result if it fits the budget and returns it. With the memo disabled just
// calls `compute`. `compute` may throw; nothing is stored then.
std::shared_ptr<const CachedOfmapWalk> OfmapWalkMemo(
    const SimCacheKey& key, const std::function<std::shared_ptr<const CachedOfmapWalk>()>& compute);
std::shared_ptr<const CachedIfmapHistory> IfmapHistoryMemo(
    const SimCacheKey& key,
    const std::function<std::shared_ptr<const CachedIfmapHistory>()>& compute);
std::shared_ptr<const CachedUserLayer> UserLayerMemo(
    const SimCacheKey& key, const std::function<std::shared_ptr<const CachedUserLayer>()>& compute);
// The layer's address tables (dataflow.h), shared by all design points.
std::shared_ptr<const OperandMatrices> OperandMatricesMemo(
    const SimCacheKey& key, const std::function<std::shared_ptr<const OperandMatrices>()>& compute);

}  // namespace detail
}  // namespace qaccel::accel
