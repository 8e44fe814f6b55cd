// Event models of SCALE-Sim v2's scratchpad buffers (see memory_model.h).
#include "qaccel/accel/memory_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "qaccel/accel/limits.h"
#include "qaccel/core/error.h"

namespace qaccel::accel {

namespace {
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

void ThrowReadBufferTooSmall() {
  throw Error("SRAM holds fewer than " + std::to_string(kReadBufferSets) +
              " words; SCALE-Sim's read buffer needs at least " + std::to_string(kReadBufferSets));
}

BufferSize BufferSize::FromBytes(double bytes, int word_bytes) {
  BufferSize s;
  s.total = static_cast<int64_t>(std::floor(bytes / word_bytes));
  // int(math.ceil(total * 0.5)): total * 0.5 is exact in double.
  s.active = static_cast<int64_t>(std::ceil(static_cast<double>(s.total) * 0.5));
  s.other = s.total - s.active;
  return s;
}

// ------------------------------------------------------------ write ----

WriteBufferModel::WriteBufferModel(BufferSize size, int64_t bw)
    : size_(size), bw_(bw), drain_lines_(CeilDiv(size.other, bw)), free_(size.total) {}

void WriteBufferModel::Store(int64_t n) {
  free_ -= n;
  line_idx_ += n;
  committed_ += line_idx_ / bw_;
  line_idx_ %= bw_;
}

void WriteBufferModel::ForceAppend() {
  if (line_idx_ > 0) {
    partial_.emplace_back(committed_, line_idx_);
    ++committed_;
    line_idx_ = 0;
  }
}

int64_t WriteBufferModel::LineValid(int64_t line) {
  while (partial_pos_ < partial_.size() && partial_[partial_pos_].first < line) ++partial_pos_;
  if (partial_pos_ < partial_.size() && partial_[partial_pos_].first == line)
    return partial_[partial_pos_].second;
  return bw_;
}

int64_t WriteBufferModel::Drain(int64_t start_cycle) {
  const int64_t end = std::min(drain_start_ + drain_lines_, committed_);
  const int64_t n = end - drain_start_;
  if (n <= 0) {
    // SCALE-Sim indexes an empty request array here and raises IndexError.
    throw Error(
        "OFMAP SRAM too small for SCALE-Sim's write-buffer model (empty drain); enlarge "
        "OfmapSramSzkB");
  }
  const int64_t data = n * bw_ - (bw_ - LineValid(end - 1));
  accesses_ += data;
  if (!any_drain_) {
    any_drain_ = true;
    first_cycle_ = start_cycle;
  }
  last_cycle_ = start_cycle + n - 1;
  free_ += data;
  drain_start_ = end;
  if (partial_pos_ > 4096 && 2 * partial_pos_ > partial_.size()) {  // consumed entries
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(partial_pos_));
    partial_pos_ = 0;
  }
  return start_cycle + n - 1;
}

int64_t WriteBufferModel::Service(int64_t k, int64_t cycle) {
  int64_t cur = cycle;
  while (k > 0) {
    if (cur < drain_end_) {
      if (free_ - k > 0) {  // no element of the row finds the buffer full
        Store(k);
        return cur;
      }
    } else if (free_ - k >= size_.active) {  // no element crosses into the drain threshold
      Store(k);
      return cur;
    }
    // One element at a time around a stall or drain point.
    Store(1);
    --k;
    if (cur < drain_end_) {
      if (free_ <= 0) cur = drain_end_;
    } else if (free_ < size_.active) {
      ForceAppend();
      drain_end_ = Drain(cur);
    }
  }
  return cur;
}

int64_t WriteBufferModel::AdvanceQuietRows(int64_t k, int64_t slope, int64_t cycle, int64_t n) {
  // Elements stored by the first r rows: S(r) = r k + slope r (r - 1) / 2,
  // increasing in r. Row j (at cycle + j) is quiet when
  //   cycle + j <  drain_end_:  free_ - S(j+1) > 0
  //   cycle + j >= drain_end_:  free_ - S(j+1) >= active.
  // Free space only shrinks, so the quiet rows are a prefix of each phase.
  auto stored = [&](int64_t r) { return r * k + slope * (r * (r - 1) / 2); };
  auto rows_within = [&](int64_t limit) {  // largest r <= n with S(r) <= limit
    if (limit < 0) return int64_t{0};
    if (slope == 0) return std::min(n, limit / k);  // S(r) = r k
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (stored(mid) <= limit)
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  };
  const int64_t during =
      std::clamp<int64_t>(drain_end_ - cycle, 0, n);    // rows before the drain ends
  const int64_t quiet_during = rows_within(free_ - 1);  // j < this: S(j+1) <= free_-1
  int64_t m;
  if (quiet_during < during) {
    m = quiet_during;
  } else {
    const int64_t quiet_after =
        rows_within(free_ - size_.active);  // j < this: S(j+1) <= free_-active
    m = std::min(n, std::max(during, quiet_after));
  }
  if (m > 0) Store(stored(m));  // Store is additive: the rows' stores in one
  return m;
}

WriteBufferModel::Phase WriteBufferModel::Snapshot(int64_t next_cycle) const {
  Phase p;
  p.rel = {free_, line_idx_, committed_ - drain_start_, drain_end_ - next_cycle,
           any_drain_ ? 1 : 0};
  for (size_t i = partial_pos_; i < partial_.size(); ++i)
    if (partial_[i].first >= drain_start_) {
      p.rel.push_back(partial_[i].first - drain_start_);
      p.rel.push_back(partial_[i].second);
    }
  p.accesses = accesses_;
  p.committed = committed_;
  p.drain_end = drain_end_;
  p.last_cycle = last_cycle_;
  return p;
}

void WriteBufferModel::Repeat(const Phase& a, const Phase& b, int64_t n) {
  const int64_t lines = n * (b.committed - a.committed);
  accesses_ += n * (b.accesses - a.accesses);
  committed_ += lines;
  drain_start_ += lines;  // the backlog committed_ - drain_start_ is the same in a and b
  drain_end_ += n * (b.drain_end - a.drain_end);
  last_cycle_ += n * (b.last_cycle - a.last_cycle);
  // Lines not drained yet keep their place relative to drain_start_; the
  // earlier ones are never looked at again.
  for (size_t i = partial_pos_; i < partial_.size(); ++i)
    if (partial_[i].first + lines >= drain_start_) partial_[i].first += lines;
}

void WriteBufferModel::Finish(int64_t cycle) {
  ForceAppend();
  while (drain_start_ < committed_) {
    drain_end_ = Drain(cycle);
    cycle = drain_end_ + 1;
  }
}

// --------------------------------------------------------- estimate ----

EstimateReadBufferModel::EstimateReadBufferModel(BufferSize size, int64_t space, int64_t distinct)
    : set_elems_(size.total / kReadBufferSets),
      window_elems_(kEstimateWindowSets * (size.total / kReadBufferSets)),
      distinct_(distinct) {
  if (set_elems_ <= 0) ThrowReadBufferTooSmall();
  simulate_ = distinct_ >= window_elems_;
  if (simulate_) {
    const size_t blocks = static_cast<size_t>((space >> kBlockBits) + 1);
    size_t cap = 2;
    while (cap < 2 * static_cast<size_t>(window_elems_) + 2) cap *= 2;
    if (static_cast<int64_t>(blocks) > kDenseBlocksMax && cap < blocks) {
      Check(static_cast<int64_t>(cap) <= kMaxWindowTableEntries,
            "the IFMAP SRAM's prefetch window (" + std::to_string(window_elems_) +
                " words) over an IFMAP of " + std::to_string(space) +
                " addresses needs a window table above the limit " +
                std::to_string(kMaxWindowTableEntries) +
                " entries; use a smaller IFMAP SRAM (docs/simulator.md, Input limits)");
      hashed_.assign(cap, HashedBlock{});
      hash_shift_ = 64;
      for (size_t c = cap; c > 1; c /= 2) --hash_shift_;
    } else {
      block_win_.assign(blocks, 0);
      block_mask_.assign(blocks, 0);
    }
  }
}

EstimateReadBufferModel::Result EstimateReadBufferModel::Finish(int64_t closed, int64_t open,
                                                                int64_t first_req_cycle,
                                                                int64_t last_close_cycle) const {
  Result r;
  const int64_t sets = CeilDiv(open, set_elems_);
  if (closed == 0) {
    // complete_all_prefetches() before any prefetch: all sets fetched at the
    // default bandwidth of 10 words/cycle, ending at cycle -1.
    const int64_t cycles = static_cast<int64_t>(
        std::ceil(static_cast<double>(sets * set_elems_) / kEstimateDefaultBandwidth));
    r.reads = open;
    r.start_cycle = -cycles;
    r.stop_cycle = -1;
    return r;
  }
  // The first window was prefetched before the first request at 10 words/cycle;
  // every later window over the interval between the two previous closes; the
  // last (open) one ends at the last close + 1.
  const int64_t first_cycles = static_cast<int64_t>(
      std::ceil(static_cast<double>(window_elems_) / kEstimateDefaultBandwidth));
  r.reads = closed * window_elems_ + open;
  r.start_cycle = first_req_cycle - first_cycles;
  r.stop_cycle = last_close_cycle + 1;
  return r;
}

// ------------------------------------------------------------- user ----

UserReadBufferModel::UserReadBufferModel(BufferSize size, int64_t bw, int64_t space,
                                         const std::vector<int32_t>& order, bool fast)
    : bw_(bw), fast_(fast) {
  const int64_t eps = CeilDiv(size.total, kReadBufferSets);
  eps_ = eps;
  // Set id of every valid entry (prepare_hashed_buffer), as CSR per address.
  // Per address while building: the last set counted and the number of
  // distinct sets (pass 1), then the CSR fill position (pass 2), in one record
  // (one cache line per entry). Kept per thread across layers (fresh pages
  // cost more than the build itself).
  struct Slot {
    int32_t last = -1;
    uint32_t n = 0;
  };
  thread_local std::vector<Slot> slot;
  slot.assign(static_cast<size_t>(space), Slot{});
  // Entry v (valid entries counted) is in set v / eps, counted up here.
  int32_t set = 0;
  int64_t in_set = 0;
  for (const int32_t a : order) {
    if (a < 0) continue;
    Slot& sl = slot[static_cast<size_t>(a)];
    if (sl.last != set) {
      sl.last = set;
      ++sl.n;
    }
    if (++in_set == eps) {
      in_set = 0;
      ++set;
    }
  }
  num_sets_ = int64_t{set} + 1;  // the trailing (possibly empty) set is kept
  // Addresses held by one set are checked by arithmetic (Access, Miss); when
  // every address is (e.g. the os filter stack), the CSR is not built.
  single_set_.assign(static_cast<size_t>(space) + 1, -1);
  bool all_single = fast_;
  if (fast_)
    for (int64_t a = 0; a < space; ++a) {
      const Slot& sl = slot[static_cast<size_t>(a)];
      if (sl.n == 1)
        single_set_[static_cast<size_t>(a)] = sl.last;
      else if (sl.n > 1)
        all_single = false;
    }
  if (!all_single) {
    // Per-address state in small flat records (the walk is memory bound).
    addr_.assign(static_cast<size_t>(space) + 1, AddrState{});
    int64_t total = 0;
    for (int64_t a = 0; a < space; ++a) {
      Slot& sl = slot[static_cast<size_t>(a)];
      addr_[static_cast<size_t>(a)].begin = static_cast<uint32_t>(total);
      total += sl.n;
      if (total > int64_t{0xffffffff})
        throw Error("layer too large for the USER-mode read-buffer model");
      sl.n = addr_[static_cast<size_t>(a)].begin;  // now the fill position
      sl.last = -1;
    }
    addr_[static_cast<size_t>(space)].begin = static_cast<uint32_t>(total);
    sets_.assign(static_cast<size_t>(total), 0);
    set = 0;
    in_set = 0;
    for (const int32_t a : order) {
      if (a < 0) continue;
      Slot& sl = slot[static_cast<size_t>(a)];
      if (sl.last != set) {
        sl.last = set;
        sets_[sl.n++] = set;
      }
      if (++in_set == eps) {
        in_set = 0;
        ++set;
      }
    }
    if (fast_) hit_limit_.assign(static_cast<size_t>(space) + 1, -1);
  }
  StartWindow(size, static_cast<int64_t>(order.size()));
}

UserReadBufferModel::UserReadBufferModel(BufferSize size, int64_t bw, int64_t space,
                                         UserPrefetchStack stack)
    : bw_(bw), stack_(std::move(stack)) {
  eps_ = CeilDiv(size.total, kReadBufferSets);
  // Valid entry v is in set v / eps; the trailing (possibly empty) set is kept.
  num_sets_ = stack_.valid / eps_ + 1;
  if (num_sets_ > int64_t{0x7fffffff})
    throw Error("layer too large for the USER-mode read-buffer model");
  // The hit limits (see Access) serve addresses in several entries; one in
  // a single entry is tested by arithmetic in Miss.
  if (!stack_.sole) hit_limit_.assign(static_cast<size_t>(space) + 1, -1);
  StartWindow(size, stack_.entries);
}

void UserReadBufferModel::StartWindow(BufferSize size, int64_t entries) {
  active_sets_ = std::min(CeilDiv(size.active, eps_), num_sets_);
  prefetch_sets_ = std::min(CeilDiv(size.other, eps_), num_sets_ - active_sets_);
  prefetch_lines_ = CeilDiv(size.other, bw_);

  // prefetch_active_buffer() at the first request (cycle 0).
  const int64_t fetch_lines = CeilDiv(entries, bw_);
  const int64_t lines = std::min(CeilDiv(size.active, bw_), fetch_lines);
  accesses_ = lines * bw_;
  start_cycle_ = -lines;
  last_prefetch_ = -1;
  win_start_ = 0;
  win_end_ = active_sets_;
}

void UserReadBufferModel::SetDiagonalStarts(const std::vector<int64_t>& starts) {
  const size_t n = starts.empty() ? 0 : starts.size() - 1;
  diag_sets_.assign(n, DiagonalSets{});
  diag_last_.resize(n);
  // The starts never decrease, so the sets of a diagonal's first and last
  // entries are counted up rather than divided out (one step or none per
  // diagonal as a rule: a set holds more entries than a diagonal).
  int64_t lo = 0, hi = 0;  // sets of starts[d] and of starts[d + 1] - 1
  for (size_t d = 0; d < n; ++d) {
    const int64_t a = starts[d], b = starts[d + 1];
    while ((lo + 1) * eps_ <= a) ++lo;
    while ((hi + 1) * eps_ <= b - 1) ++hi;
    if (a < b) diag_sets_[d] = {static_cast<int32_t>(lo), static_cast<int32_t>(hi - lo)};
    diag_last_[d] = b > 0 ? static_cast<int32_t>(hi) : -1;
  }
}

int64_t UserReadBufferModel::DiagonalRunEnd(int64_t d) const {
  if (!DiagonalInWindow(d)) return d - 1;
  const int64_t bound = diag_sets_[static_cast<size_t>(d)].lo >= win_start_
                            ? win_start_ + active_sets_
                            : win_start_ + active_sets_ - num_sets_;
  // diag_last_ is nondecreasing: the last e with diag_last_[e] < bound.
  const auto it = std::lower_bound(diag_last_.begin() + d, diag_last_.end(), bound,
                                   [](int32_t v, int64_t b) { return v < b; });
  return (it - diag_last_.begin()) - 1;
}

// Is any set holding `dense` inside the window? The window start only moves
// forward within a lap of the circular set list, so each address keeps a
// cursor to its first set >= the window start (re-found by binary search once
// per lap): amortized O(1) per check.
bool UserReadBufferModel::Hit(int64_t dense) {
  if (addr_.empty()) return false;  // no CSR: every address single-set or absent
  AddrState& st = addr_[dense];
  const int32_t* sets = sets_.data() + st.begin;
  const uint32_t n = addr_[dense + 1].begin - st.begin;
  uint32_t& idx = st.cursor;
  if (st.lap != lap_) {
    st.lap = lap_;
    idx = static_cast<uint32_t>(std::lower_bound(sets, sets + n, static_cast<int32_t>(win_start_)) -
                                sets);
  } else {
    while (idx < n && sets[idx] < win_start_) ++idx;
  }
  if (!fast_) {
    if (win_start_ < win_end_) return idx < n && sets[idx] < win_end_;
    return idx < n || (n > 0 && sets[0] < win_end_);  // [start, num_sets) or [0, end)
  }
  // On a hit, the largest unrolled index of the address's sets in the window
  // becomes its hit limit (see Access).
  const int64_t lap_base = unrolled_start_ - win_start_;
  const int32_t* end = sets + n;
  if (win_start_ < win_end_) {
    if (!(idx < n && sets[idx] < win_end_)) return false;
    const int32_t* last = std::lower_bound(sets + idx, end, static_cast<int32_t>(win_end_)) - 1;
    hit_limit_[static_cast<size_t>(dense)] = lap_base + *last;
    return true;
  }
  // [start, num_sets) of this lap or [0, end) of the next one.
  if (n > 0 && sets[0] < win_end_) {
    const int32_t* last = std::lower_bound(sets, end, static_cast<int32_t>(win_end_)) - 1;
    hit_limit_[static_cast<size_t>(dense)] = lap_base + num_sets_ + *last;
    return true;
  }
  if (idx < n) {
    hit_limit_[static_cast<size_t>(dense)] = lap_base + sets[n - 1];
    return true;
  }
  return false;
}

void UserReadBufferModel::NewPrefetch() {
  if (win_start_ + prefetch_sets_ >= num_sets_) ++lap_;
  win_start_ = (win_start_ + prefetch_sets_) % num_sets_;
  win_end_ = (win_start_ + active_sets_) % num_sets_;
  unrolled_start_ += prefetch_sets_;
  accesses_ += prefetch_lines_ * bw_;
  last_prefetch_ += prefetch_lines_ + 1;
}

template <typename Found>
int64_t UserReadBufferModel::PrefetchUntil(Found found, int64_t out) {
  int64_t guard = 0;
  while (!found()) {
    NewPrefetch();
    if (last_prefetch_ > out) out = last_prefetch_;
    if (++guard > num_sets_ + 2) throw Error("internal: read-buffer prefetch does not converge");
  }
  return out;
}

int64_t UserReadBufferModel::Miss(int64_t dense, int64_t out) {
  if (single_set_.empty()) return MissClosedForm(dense, out);
  const int64_t single = single_set_[static_cast<size_t>(dense)];
  return PrefetchUntil(
      [&] { return single < 0 ? Hit(dense) : WindowOffset(single) < active_sets_; }, out);
}

int64_t UserReadBufferModel::MissSet(int64_t set, int64_t out) {
  return PrefetchUntil([&] { return WindowOffset(set) < active_sets_; }, out);
}

// The closed-form order: the same search as above (found when an entry of
// the address is in a set of the window). The window's sets are a range of
// valid indices (two when it wraps round), so the stack tests each entry by
// compares as it inverts the address and stops at the first in the window
// (any_in); the hit limit is that entry's unrolled set (any set of the
// address in the window keeps it there until the window start passes it).
int64_t UserReadBufferModel::MissClosedForm(int64_t dense, int64_t out) {
  auto found = [&] {
    const int64_t lo = win_start_ * eps_, end = win_start_ + active_sets_;
    // Sets [start, end) when end <= num_sets; else [start, num_sets) and,
    // later in the window, [0, end - num_sets).
    const int64_t hi = end <= num_sets_ ? end * eps_ : std::numeric_limits<int64_t>::max();
    const int64_t wrap_hi = end <= num_sets_ ? 0 : (end - num_sets_) * eps_;
    const UserPrefetchStack::Entry e = stack_.any_in(dense, lo, hi, wrap_hi);
    const int64_t v = e.v;
    if (v < 0) return false;
    offset_x_ = e.x - search_x_;
    offset_y_ = e.y - search_y_;
    const int64_t offset = v / eps_ - win_start_ + (v < wrap_hi ? num_sets_ : 0);
    if (!hit_limit_.empty()) hit_limit_[static_cast<size_t>(dense)] = unrolled_start_ + offset;
    return true;
  };
  return PrefetchUntil(found, out);
}

}  // namespace qaccel::accel
