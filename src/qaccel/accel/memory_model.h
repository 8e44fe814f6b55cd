// SCALE-Sim v2's double-buffered scratchpad, re-derived as event models.
//
// SCALE-Sim pushes every demand address through Python sets and numpy trace
// matrices (scalesim/memory/*.py). The three models below keep only the state
// that influences a reported number, and advance it per demand row or per
// address. Each documents the SCALE-Sim behaviour it reproduces, including the
// quirks (they are part of what "identical numbers" means).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace qaccel::accel {

// SCALE-Sim's read buffers split their capacity into kReadBufferSets sets
// (a set holds floor(total / 100) words in CALC mode, ceil(total / 100)
// valid entries in USER mode); the CALC model's window is the
// kEstimateWindowSets = int(0.5 * 100) sets of its active half, and it
// prefetches a window that closes before any request at SCALE-Sim's default
// kEstimateDefaultBandwidth words/cycle. A buffer of fewer than
// kReadBufferSets words has empty sets: SCALE-Sim cannot run it.
inline constexpr int64_t kReadBufferSets = 100;
inline constexpr int64_t kEstimateWindowSets = 50;
inline constexpr double kEstimateDefaultBandwidth = 10.0;

// Throws the error for a read buffer of fewer than kReadBufferSets words.
[[noreturn]] void ThrowReadBufferTooSmall();

// Capacity bookkeeping shared by the buffers: SCALE-Sim uses
// total = floor(bytes / word_size) elements, an active half
// ceil(total * 0.5) and the rest for prefetch / drain.
struct BufferSize {
  int64_t total = 0, active = 0, other = 0;
  static BufferSize FromBytes(double bytes, int word_bytes);
};

// OFMAP write buffer (write_buffer.py). Elements are staged in lines of
// `bw` words; once the active part is full, the drain part is written to
// DRAM at one line per cycle from the current cycle, and a new element that
// finds the buffer full before the drain ends stalls until the drain ends.
// Reproduced quirks: a partial line pushed out when a drain starts is later
// counted as a full line unless it is the last line of a drain (so "DRAM
// OFMAP Writes" can exceed the OFMAP size, and the free space grows by the
// same over-count).
class WriteBufferModel {
 public:
  WriteBufferModel(BufferSize size, int64_t bw);
  // k elements of one demand row arriving at `cycle`; returns the cycle the
  // row completes (cycle + stall).
  int64_t Service(int64_t k, int64_t cycle);
  // Drains everything left, starting at `cycle` (empty_all_buffers).
  void Finish(int64_t cycle);
  // Bulk form of Service for `n` consecutive rows, one cycle apart, the first
  // at `cycle`, row j holding k + slope * j > 0 elements (slope -1, 0 or +1):
  // consumes the leading rows for which Service would neither stall nor start
  // a drain (its O(1) path), in O(log n), and returns how many (0..n). The
  // caller hands the next row to Service.
  int64_t AdvanceQuietRows(int64_t k, int64_t slope, int64_t cycle, int64_t n);

  int64_t accesses() const { return accesses_; }
  int64_t first_cycle() const { return first_cycle_; }
  int64_t last_cycle() const { return last_cycle_; }

  // The buffer's state as seen from cycle `next_cycle` (the next row's):
  // `rel` holds everything later rows depend on, relative to that cycle and
  // to the first undrained line; `abs` the counters that only grow.
  struct Phase {
    std::vector<int64_t> rel;
    int64_t accesses = 0, committed = 0, drain_end = 0, last_cycle = 0;
  };
  Phase Snapshot(int64_t next_cycle) const;
  // Equal `rel` at two points of a stretch of rows with identical demand,
  // one cycle apart each and no stall between: the stretch between them
  // repeats exactly. Repeat advances the buffer by `n` more such periods
  // (from `a` to `b`, b the current state) in O(pending lines).
  void Repeat(const Phase& a, const Phase& b, int64_t n);

 private:
  void Store(int64_t n);
  void ForceAppend();
  int64_t Drain(int64_t start_cycle);
  int64_t LineValid(int64_t line);

  BufferSize size_;
  int64_t bw_;
  int64_t drain_lines_;
  int64_t free_;
  int64_t drain_end_ = 0;
  int64_t line_idx_ = 0;                              // elements in the line being filled
  int64_t committed_ = 0;                             // lines in the trace matrix
  int64_t drain_start_ = 0;                           // first line not yet drained
  std::vector<std::pair<int64_t, int64_t>> partial_;  // (line, valid elements), ascending
  std::size_t partial_pos_ = 0;
  int64_t accesses_ = 0;
  int64_t first_cycle_ = 0, last_cycle_ = 0;
  bool any_drain_ = false;
};

// IFMAP / filter read buffer in CALC mode (read_buffer_estimate_bw.py).
// Never stalls. New addresses are grouped into sets of N = floor(total/100)
// and a "window" of 50 sets (kReadBufferSets, kEstimateWindowSets); an address is a DRAM read
// unless it is already in the current window. When the window's 50th set completes (50 N distinct
// addresses), it is prefetched and a fresh window starts. The reported DRAM
// start/stop cycles follow from the cycles at which windows close.
class EstimateReadBufferModel {
 public:
  // `space`: dense address range; `distinct`: number of distinct addresses
  // the demand stream will touch. When distinct < 50 N no window can close
  // and the result is analytic: needs_simulation() is false.
  EstimateReadBufferModel(BufferSize size, int64_t space, int64_t distinct);
  bool needs_simulation() const { return simulate_; }
  int64_t set_elems() const { return set_elems_; }
  int64_t window_elems() const { return window_elems_; }

  // One address in exact demand order; `row` is its demand-matrix row.
  void Access(int64_t dense, int64_t row) {
    uint64_t& mask = Block(dense >> kBlockBits);
    const uint64_t bit = uint64_t{1} << (dense & kBlockMask);
    if (mask & bit) return;
    mask |= bit;
    if (++count_ == window_elems_) Close(row);
  }
  // Order-free update of the contiguous addresses [a0, a1), for a batch the
  // caller knows cannot close the window (count() + batch size <
  // window_elems()). Costs O(1) per 64-address block.
  void TouchRange(int64_t a0, int64_t a1) {
    while (a0 < a1) {
      const int64_t b = a0 >> kBlockBits;
      const int64_t bend = std::min(a1, (b + 1) << kBlockBits);
      const int lo = static_cast<int>(a0 & kBlockMask), n = static_cast<int>(bend - a0);
      const uint64_t bits = (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << lo;
      uint64_t& mask = Block(b);
      const uint64_t fresh = bits & ~mask;
      if (fresh != 0) {  // mostly not: overlapping windows re-read addresses
        count_ += PopCount(fresh);
        mask |= fresh;
      }
      a0 = bend;
    }
  }
  // `n` >= 1 windows close in one step, the last one in demand row `row`
  // (for a stretch of demand the caller has proven to be all new addresses,
  // so each window closes after exactly window_elems() of them): the
  // window is then empty.
  void CloseWindows(int64_t n, int64_t row) {
    closed_ += n - 1;
    Close(row);
  }
  // `n` more windows close, the last one `row_shift` rows after the last
  // close so far, and the open window ends as it is (a periodic stretch of
  // demand that the caller has proven to repeat the last one exactly).
  void RepeatCloses(int64_t n, int64_t row_shift) {
    closed_ += n;
    last_close_row_ += row_shift;
  }
  // Sets the open window's count for addresses the caller counts now and
  // stores later (bulk replay), or back before it stores them.
  void SetCount(int64_t count) { count_ = count; }
  uint32_t window_id() const { return window_id_; }
  int64_t count() const { return count_; }
  int64_t closed() const { return closed_; }
  int64_t last_close_row() const { return last_close_row_; }

  struct Result {
    int64_t reads = 0, start_cycle = 0, stop_cycle = 0;
  };
  // The DRAM figures from the window history: `closed` windows, the last
  // closing at `last_close_cycle`, `open` distinct addresses in the last one,
  // first request at `first_req_cycle`.
  Result Finish(int64_t closed, int64_t open, int64_t first_req_cycle,
                int64_t last_close_cycle) const;
  // Without simulation (needs_simulation() false): every distinct address in
  // one window that never closes.
  Result FinishAnalytic() const { return Finish(0, distinct_, 0, 0); }

 private:
  // Portable inline popcount (std::popcount becomes a libgcc call without -mpopcnt).
  static int PopCount(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
  }
  // Window membership as one 64-bit mask per block of 64 addresses, valid
  // when the block's window id is the current one (windows reset lazily).
  static constexpr int kBlockBits = 6;
  static constexpr int64_t kBlockMask = 63;
  // Over a large address space (more than kDenseBlocksMax blocks) the blocks
  // of the current window live in an open-addressing table instead (a
  // window holds fewer than window_elems() addresses, so at most that many
  // blocks; entries of older windows count as free).
  static constexpr int64_t kDenseBlocksMax = int64_t{1} << 20;
  struct HashedBlock {
    int64_t block = -1;
    uint32_t win = 0;
    uint64_t mask = 0;
  };
  uint64_t& Block(int64_t b) {
    if (!hashed_.empty()) return HashedBlockMask(b);
    if (block_win_[b] != window_id_) {
      block_win_[b] = window_id_;
      block_mask_[b] = 0;
    }
    return block_mask_[b];
  }
  uint64_t& HashedBlockMask(int64_t b) {
    size_t i =
        static_cast<size_t>((static_cast<uint64_t>(b) * 0x9E3779B97F4A7C15ULL) >> hash_shift_);
    for (;; i = (i + 1) & (hashed_.size() - 1)) {
      HashedBlock& e = hashed_[i];
      if (e.win != window_id_) {
        e.block = b;
        e.win = window_id_;
        e.mask = 0;
        return e.mask;
      }
      if (e.block == b) return e.mask;
    }
  }
  void Close(int64_t row) {
    ++closed_;
    last_close_row_ = row;
    ++window_id_;
    count_ = 0;
  }

  int64_t set_elems_;     // N
  int64_t window_elems_;  // 50 N
  int64_t distinct_;
  bool simulate_;
  std::vector<uint32_t> block_win_;
  std::vector<uint64_t> block_mask_;
  std::vector<HashedBlock> hashed_;
  int hash_shift_ = 64;
  uint32_t window_id_ = 1;
  int64_t count_ = 0;
  int64_t closed_ = 0;
  int64_t last_close_row_ = 0;
};

// A USER-mode prefetch order known by its geometry instead of listed
// (simulate_stages.h, StackPositions): the model asks about the entries of
// an address when it must search for it, so nothing of the size of the order
// is built. An entry is named by its valid index (its position among the
// order's valid entries; entry v is in set v / ceil(total / 100)).
struct UserPrefetchStack {
  int64_t valid = 0;    // valid entries
  int64_t entries = 0;  // all entries, padding included
  // An entry holding `dense` with its valid index in [lo, hi) or [0,
  // wrap_hi) (the window's sets as valid-index ranges): {valid index, x, y}
  // of the first one met (op(x, y) == dense), valid index -1 when none.
  struct Entry {
    int64_t v = -1, x = 0, y = 0;
  };
  std::function<Entry(int64_t dense, int64_t lo, int64_t hi, int64_t wrap_hi)> any_in;
  // Optional: the dense address op(x, y), -1 when (x, y) is outside the
  // operand or names no address.
  std::function<int64_t(int64_t x, int64_t y)> address_of;
  // The valid index of the entry op(x, y) (the operand's address function
  // with its arguments in the order the mapping names them).
  std::function<int64_t(int64_t x, int64_t y)> index_of;
  // Every address is in one entry at most: its set by arithmetic alone, no
  // per-address state.
  bool sole = false;
};

// IFMAP / filter read buffer in USER mode (read_buffer.py). The operand's
// prefetch order (see PrefetchLayout) is cut into sets of
// ceil(total/100) valid entries; the active window holds A sets. A demanded
// address that is not in the window triggers prefetches (window advances by
// P sets, ceil(prefetch_size / bw) DRAM lines each, issued back to back after
// the previous prefetch) until it is; the row completes no earlier than the
// last prefetch's response.
class UserReadBufferModel {
 public:
  // `order`: dense addresses in prefetch order, -1 for padding entries.
  // `fast` false: the reference replay, every access searched in the
  // window (no per-address shortcuts; tests compare the two).
  UserReadBufferModel(BufferSize size, int64_t bw, int64_t space,
                      const std::vector<int32_t>& order, bool fast = true);
  // The same model on an order given by its geometry (always the fast
  // replay; the reference is the listed order with `fast` false).
  UserReadBufferModel(BufferSize size, int64_t bw, int64_t space, UserPrefetchStack stack);
  // One address of a row whose running completion cycle is `out`; returns the
  // new completion cycle. `entry` (closed-form orders; -1: not known): the
  // valid index of the entry the row reads it from, which is where it
  // usually is found, so its other entries are only listed when that one's
  // set is not in the window.
  int64_t Access(int64_t dense, int64_t out, int64_t entry = -1) {
    return AccessAt(dense, out, entry, 0, 0, false);
  }
  // Access with the operand arguments (x, y) of that entry (op(x, y) ==
  // dense). When the entry is not in the window, the address is first looked
  // for at (x, y) + the offset at which the last search found one (a row's
  // consecutive addresses mostly sit at the same offset from their other
  // entries), then searched.
  int64_t AccessAt(int64_t dense, int64_t out, int64_t entry, int64_t x, int64_t y,
                   bool has_xy = true) {
    // The window start only moves forward (in unrolled set indices, laps
    // counted): an address found in set u of the window stays in the window
    // until the start passes u, so one compare serves it until then.
    // An address held by one set only is checked against the window by
    // arithmetic alone.
    if (single_set_.empty()) {  // closed-form order
      if (!hit_limit_.empty() && hit_limit_[static_cast<size_t>(dense)] >= unrolled_start_)
        return out;
      if (entry >= 0) {
        const int64_t set = entry / eps_;
        const int64_t d = WindowOffset(set);
        if (d < active_sets_) {
          if (!hit_limit_.empty()) hit_limit_[static_cast<size_t>(dense)] = unrolled_start_ + d;
          return out;
        }
        // Its only entry (sole) is not in the window: prefetch until it is.
        if (stack_.sole) return MissSet(set, out);
        if (has_xy && stack_.address_of) {
          const int64_t x2 = x + offset_x_, y2 = y + offset_y_;
          if ((offset_x_ != 0 || offset_y_ != 0) && stack_.address_of(x2, y2) == dense) {
            const int64_t d2 = WindowOffset(stack_.index_of(x2, y2) / eps_);
            if (d2 < active_sets_) {
              hit_limit_[static_cast<size_t>(dense)] = unrolled_start_ + d2;
              return out;
            }
          }
          search_x_ = x;
          search_y_ = y;
        }
      }
      return Miss(dense, out);
    }
    const int64_t single = single_set_[static_cast<size_t>(dense)];
    if (single >= 0) {
      if (WindowOffset(single) < active_sets_) return out;
    } else if (!hit_limit_.empty() && hit_limit_[static_cast<size_t>(dense)] >= unrolled_start_) {
      return out;
    }
    return Miss(dense, out);
  }

  // A closed-form order: the valid index of entry op(x, y) (see Access).
  bool closed_form() const { return single_set_.empty(); }
  int64_t EntryIndex(int64_t x, int64_t y) const { return stack_.index_of(x, y); }

  int64_t accesses() const { return accesses_; }
  int64_t start_cycle() const { return start_cycle_; }
  int64_t stop_cycle() const { return last_prefetch_; }

  // Optional (a diagonal prefetch layout whose demand rows each read entries
  // of one anti-diagonal): the count of valid order entries before each
  // anti-diagonal, plus the total at the end.
  void SetDiagonalStarts(const std::vector<int64_t>& starts);
  // Are all valid entries of anti-diagonal d in sets inside the window? Then
  // every address of a demand row reading entries of d hits (each has that
  // entry's set in the window): the row changes nothing. False when not
  // known (no table, d outside it, no valid entry).
  bool DiagonalInWindow(int64_t d) const {
    if (d < 0 || d >= static_cast<int64_t>(diag_sets_.size())) return false;
    const DiagonalSets& ds = diag_sets_[static_cast<size_t>(d)];
    if (ds.lo < 0) return false;
    return WindowOffset(ds.lo) + ds.span < active_sets_;
  }
  // With diagonal d in the window (DiagonalInWindow), the last diagonal e >=
  // d such that every diagonal in [d, e] is in the window or holds no valid
  // entry; d - 1 when d is not in the window. The window is a range of sets
  // and the diagonals' sets only grow with d, so this is a binary search
  // over the last set up to each diagonal (diag_last_): from a diagonal at or
  // after the window start, the run lasts while that set is before the
  // window end; from one in the wrapped part [0, end), while it is before end.
  int64_t DiagonalRunEnd(int64_t d) const;

 private:
  bool Hit(int64_t dense);
  int64_t Miss(int64_t dense, int64_t out);
  int64_t MissClosedForm(int64_t dense, int64_t out);
  int64_t MissSet(int64_t set, int64_t out);  // prefetches until `set` is in the window
  // Prefetches until found() holds; returns the row's completion cycle.
  template <typename Found>
  int64_t PrefetchUntil(Found found, int64_t out);
  void NewPrefetch();
  // How many sets after the window start `set` lies (circularly): in the
  // window when below active_sets_.
  int64_t WindowOffset(int64_t set) const {
    const int64_t d = set - win_start_;
    return d < 0 ? d + num_sets_ : d;
  }
  // The window's sizes and the first prefetch (prefetch_active_buffer()),
  // for an order of `entries` entries.
  void StartWindow(BufferSize size, int64_t entries);

  int64_t num_sets_ = 1, active_sets_ = 1, prefetch_sets_ = 0;
  int64_t prefetch_lines_ = 0, bw_ = 1, eps_ = 1;
  // Per anti-diagonal: the first set of its valid entries (-1: none) and the
  // number of sets after it up to the last.
  struct DiagonalSets {
    int32_t lo = -1, span = 0;
  };
  std::vector<DiagonalSets> diag_sets_;
  std::vector<int32_t> diag_last_;  // per diagonal: the set of the last valid entry up to it, or -1
  // The closed-form order (single_set_ empty); the arguments of the entry
  // being searched for and the offset of the last search's find (AccessAt).
  UserPrefetchStack stack_;
  int64_t search_x_ = 0, search_y_ = 0, offset_x_ = 0, offset_y_ = 0;
  std::vector<int32_t> sets_;
  int64_t win_start_ = 0, win_end_ = 0;
  struct AddrState {
    uint32_t begin = 0;   // its set ids are sets_[begin, next.begin)
    uint32_t cursor = 0;  // index of its first set >= the window start ...
    uint32_t lap = 0;     // ... valid during this lap
  };
  std::vector<AddrState> addr_;  // one per address, plus an end sentinel
  // Per address (fast mode): its set when it is in exactly one (else -1),
  // and (with the set lists) the largest unrolled set index
  // ((lap - 1) * num_sets + set) in which it was found in the window (-1:
  // never; it hits while the unrolled window start is at most this). In
  // reference mode single_set_ stays -1 and hit_limit_ empty.
  std::vector<int32_t> single_set_;
  std::vector<int64_t> hit_limit_;
  bool fast_ = true;
  int64_t unrolled_start_ = 0;  // (lap_ - 1) * num_sets_ + win_start_
  uint32_t lap_ = 1;            // bumped when the window start wraps around
  int64_t accesses_ = 0, start_cycle_ = 0, last_prefetch_ = -1;
};

}  // namespace qaccel::accel
