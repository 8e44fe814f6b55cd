// The stages of SimulateLayer for one dataflow mapping (a DataflowMapping,
// dataflow.h): they walk the folds of one layer in SCALE-Sim's order (column
// folds outer, row folds inner) and feed the demand rows that carry data
// through the buffer models, reproducing
// scalesim/memory/double_buffered_scratchpad_mem.py::service_memory_requests
// and scalesim/single_layer_sim.py::calc_report_data.
//
//   ComputeSide        per-fold averages and SRAM request counts
//   PrepareReadBuffers USER: the read buffers with their prefetch orders
//   WalkDemandRows     the demand rows through the OFMAP write buffer (and,
//                      in USER mode, the read buffers): stalls, cycles
//   ScanSramSpan       SRAM start/stop of operands the walk did not visit
//   CalcIfmapDram,     CALC-mode DRAM reads of the IFMAP (IfmapWindowHistory,
//   CalcFilterDram     memoized) and the filter (closed form)
//   SimulateWithMapping  the stages in order
//
// Speed: rows without any demand cannot stall, so they are skipped; in CALC
// mode the IFMAP/filter buffers cannot stall either, and when an operand fits
// in one prefetch window its DRAM figures are analytic, so only the OFMAP
// rows of each fold are visited (a few per fold instead of T * R addresses),
// run by run where the OFMAP demand is linear (WriteBufferModel::
// AdvanceQuietRows) and period by period where a plateau's drains repeat
// (RepeatPeriods). The IFMAP window history counts, instead of replaying,
// the ws folds whose addresses cannot meet the window (BulkStreamRest) and
// repeats periodic column-fold passes, so a CALC ws layer costs O(folds), not
// O(cycles); QACCEL_SIM_BULK=0 keeps the per-cycle reference (tests/accel/
// test_sim_bulk.cpp). CALC sub-results that depend on only part of the design
// point (the OFMAP walk, the IFMAP window history, the address tables) are
// memoized across calls (sim_cache.h); docs/simulator.md has the argument.
//
// These are templates so that the per-row calls into the mapping inline; they
// are instantiated once per dataflow by the registry (dataflow_registry.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"
#include "qaccel/accel/limits.h"
#include "qaccel/accel/memory_model.h"
#include "qaccel/accel/sim_cache.h"
#include "qaccel/core/error.h"

namespace qaccel::accel::detail {

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The folds of one layer: R x C tiles of the mapped Sr x Sc matrix, each
// fold_len rows of demand.
// Work units a fold costs when its rows are advanced in bulk (FoldGrid::
// rows_in_bulk): the per-fold steps of the walk, the IFMAP history and the
// compute side.
inline constexpr int64_t kFoldWork = 64;

struct FoldGrid {
  int64_t R = 0, C = 0, Sr = 0, Sc = 0, row_folds = 0, col_folds = 0, L = 0, num_rows = 0;
  // rows_in_bulk (RowsInBulk: CALC ws layers whose folds all take the bulk
  // IFMAP path): the layer costs O(folds), not O(rows), so its work measure
  // (kMaxSimulatedWork) is folds x kFoldWork instead of its demand rows.
  bool rows_in_bulk = false;
  int64_t work_rows = 0;
  template <DataflowMapping Map>
  static FoldGrid Of(const Map& map, int64_t rows, int64_t cols, const std::string& layer,
                     bool rows_in_bulk = false) {
    FoldGrid g;
    g.R = rows;
    g.C = cols;
    g.Sr = map.Sr();
    g.Sc = map.Sc();
    g.row_folds = CeilDiv(g.Sr, rows);
    g.col_folds = CeilDiv(g.Sc, cols);
    g.L = map.fold_len();
    g.rows_in_bulk = rows_in_bulk;
    // Checked before any per-fold loop runs (limits.h).
    const bool overflow = __builtin_mul_overflow(g.row_folds * g.col_folds, g.L, &g.num_rows);
    g.work_rows = g.num_rows;
    if (rows_in_bulk && !overflow && g.folds() <= kMaxSimulatedWork / kFoldWork)
      g.work_rows = std::min(g.num_rows, g.folds() * kFoldWork);
    if (overflow || g.work_rows > kMaxSimulatedWork)
      CheckedProduct(g.row_folds * g.col_folds, g.L, kMaxSimulatedWork,
                     "layer '" + layer + "': demand rows (folds x fold length)");
    return g;
  }
  int64_t folds() const { return row_folds * col_folds; }
  Fold At(int64_t fc, int64_t fr) const {
    Fold f;
    f.fr = fr;
    f.fc = fc;
    f.ru = std::min(R, Sr - fr * R);
    f.cu = std::min(C, Sc - fc * C);
    return f;
  }
  // fn(fold, fold_index) for every fold, in SCALE-Sim's order.
  template <class Fn>
  void ForEach(Fn&& fn) const {
    int64_t index = 0;
    for (int64_t fc = 0; fc < col_folds; ++fc)
      for (int64_t fr = 0; fr < row_folds; ++fr, ++index) fn(At(fc, fr), index);
  }
};

// First / last cycle of an operand's SRAM trace.
struct Span {
  bool any = false;
  int64_t first = 0, last = 0;
  void Add(int64_t c) {
    if (!any) {
      any = true;
      first = c;
    }
    last = c;
  }
};

// The layer's three buffer sizes in words.
struct LayerBuffers {
  BufferSize ifmap, filter, ofmap;
  static LayerBuffers Of(const ArchConfig& c);
};

// Memo key: the layer shape, the array, the dataflow and the given extras.
SimCacheKey MemoKey(MemoKind kind, const ArchConfig& c, const LayerSpec& l, int64_t words,
                    int64_t bw);

// Window history of a filter stream given as blocks of distinct addresses,
// each repeated m times (DataflowMapping::FilterBlocks), in O(1) per block.
struct WindowHistory {
  int64_t closed = 0, open = 0, last_close_index = -1;
};
WindowHistory BlockWindowHistory(const std::vector<std::pair<int64_t, int64_t>>& blocks,
                                 int64_t window);

// Bandwidth averages and utilization from the counts (calc_report_data).
void FinishReport(int64_t pes, LayerMetrics* m);

// ---------------------------------------------------------------- stages --

template <DataflowMapping Map>
void ComputeSide(const FoldGrid& g, const Map& map, LayerMetrics* m) {
  double map_eff_sum = 0, util_sum = 0;
  const double pes = static_cast<double>(g.R * g.C);
  g.ForEach([&](const Fold& f, int64_t) {
    const int64_t mac_used = f.ru * f.cu;
    map_eff_sum += static_cast<double>(mac_used) / pes;
    util_sum += static_cast<double>(mac_used * map.T()) /
                static_cast<double>(g.R * g.C * map.util_cycles());
    m->ifmap_sram_reads += map.ifmap_reads(f);
    m->filter_sram_reads += map.filter_reads(f);
    m->ofmap_sram_writes += map.ofmap_writes(f);
  });
  const double num_folds = static_cast<double>(g.folds());
  m->mapping_efficiency_pct = map_eff_sum / num_folds * 100;
  m->compute_util_pct = util_sum / num_folds * 100;
}

// USER mode: the operand's dense addresses in prefetch order (-1 for the
// padding), anti-diagonals each read from the bottom row up
// (create_*_prefetch_mat), or row-major. op(a, b) is the operand's address.
// 32-bit entries: CheckSimulatedWork bounds the addresses by
// kMaxUserModeAddresses (2^24) before the buffers are built.
// With `diag_starts` (diagonal layouts), also the count of valid entries
// before each anti-diagonal, and the total at the end.
template <class Op>
void PrefetchOrder(const PrefetchLayout& pl, Op op, std::vector<int32_t>* out,
                   std::vector<int64_t>* diag_starts = nullptr) {
  // Entry (r, c) with r = q * len + t: element t of index q * width + c.
  auto at_qt = [&](int64_t q, int64_t t, int64_t c) -> int64_t {
    const int64_t i = q * pl.width + c;
    if (i >= pl.bound) return -1;
    return pl.index_first ? op(i, t) : op(t, i);
  };
  auto at = [&](int64_t r, int64_t c) { return at_qt(r / pl.len, r % pl.len, c); };
  const int64_t rows = pl.rows();
  std::vector<int32_t>& order = *out;
  order.clear();
  order.reserve(static_cast<size_t>(rows * pl.width));
  if (pl.diagonal) {
    int64_t valid = 0;
    if (diag_starts) diag_starts->reserve(static_cast<size_t>(rows + pl.width));
    for (int64_t d = 0; d < rows + pl.width - 1; ++d) {
      if (diag_starts) diag_starts->push_back(valid);
      // r runs down from r1 to r0, its quotient / remainder by len kept
      // without a division per entry.
      const int64_t r1 = std::min(d, rows - 1), r0 = std::max<int64_t>(0, d - pl.width + 1);
      int64_t q = r1 / pl.len, t = r1 % pl.len;
      for (int64_t r = r1; r >= r0; --r) {
        const int64_t a = at_qt(q, t, d - r);
        valid += a >= 0;
        order.push_back(static_cast<int32_t>(a));
        if (--t < 0) {
          t = pl.len - 1;
          --q;
        }
      }
    }
    if (diag_starts) diag_starts->push_back(valid);
  } else {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < pl.width; ++c) order.push_back(static_cast<int32_t>(at(r, c)));
  }
}

// A prefetch order in closed form (UserPrefetchStack over StackPositions):
// uses(a, fn) calls fn(x, y) for every (x, y) with op(x, y) == a, the
// operand's address function as PrefetchLayout names it (op(i, t) when
// index_first, else op(t, i)); `sole`: at most one such pair per address.
template <class Uses>
UserPrefetchStack ClosedFormStack(const PrefetchLayout& pl,
                                  const std::shared_ptr<const StackPositions>& pos, bool sole,
                                  Uses uses) {
  UserPrefetchStack s;
  s.valid = pos->valid();
  s.entries = pos->entries();
  s.sole = sole;
  const bool index_first = pl.index_first;
  s.any_in = [pos, index_first, uses](int64_t a, int64_t lo, int64_t hi, int64_t wrap_hi) {
    UserPrefetchStack::Entry found;
    uses(a, [&](int64_t x, int64_t y) {
      const int64_t v = index_first ? pos->Of(x, y) : pos->Of(y, x);
      if ((v >= lo && v < hi) || v < wrap_hi) found = {v, x, y};
      return found.v >= 0;
    });
    return found;
  };
  s.index_of = [pos, index_first](int64_t x, int64_t y) {
    return index_first ? pos->Of(x, y) : pos->Of(y, x);
  };
  return s;
}

// The read buffers that stall (USER mode only; CALC read buffers never stall
// and are replayed after the walk).
struct UserReadBuffers {
  std::optional<UserReadBufferModel> ifmap, filter;
  // {Ifmap,Filter}DiagonalRows, bulk on: rows vouched for at once.
  bool ifmap_diagonal = false, filter_diagonal = false;
  bool active() const { return ifmap.has_value(); }
};

// A mapping whose USER demand rows each read entries of one anti-diagonal of
// the operand's (diagonal) prefetch stack: os both operands, ws the IFMAP,
// is the filter (the streamed ones).
template <class Map>
concept IfmapDiagonalRows = requires(const Map& m, const Fold& f, int64_t tau) {
  { m.IfmapPrefetchDiagonal(f, tau) } -> std::same_as<int64_t>;
  { m.IfmapRowHasData(f, tau) } -> std::same_as<bool>;
};
template <class Map>
concept FilterDiagonalRows = requires(const Map& m, const Fold& f, int64_t tau) {
  { m.FilterPrefetchDiagonal(f, tau) } -> std::same_as<int64_t>;
  { m.FilterRowHasData(f, tau) } -> std::same_as<bool>;
};

template <DataflowMapping Map>
UserReadBuffers PrepareReadBuffers(const ArchConfig& cfg, const LayerBuffers& size,
                                   const OperandMatrices& op, const FoldGrid& g, const Map& map) {
  UserReadBuffers rb;
  if (cfg.bw_mode != BandwidthMode::kUser) {
    // The CALC read buffers' size check, before the walk.
    if (size.ifmap.total < kReadBufferSets || size.filter.total < kReadBufferSets)
      ThrowReadBufferTooSmall();
    return rb;
  }
  if (size.ifmap.total < 1 || size.filter.total < 1) throw Error("SRAM holds no words");
  const int64_t bw = static_cast<int64_t>(cfg.bandwidth_words_per_cycle);
  const bool fast = SimBulkWalkEnabled();
  const PrefetchLayout ipl = map.IfmapPrefetch(g.row_folds, g.col_folds);
  const PrefetchLayout fpl = map.FilterPrefetch(g.row_folds, g.col_folds);
  rb.ifmap_diagonal = IfmapDiagonalRows<Map> && fast && ipl.diagonal;
  rb.filter_diagonal = FilterDiagonalRows<Map> && fast && fpl.diagonal;
  // Fast: the orders in closed form (StackPositions) when their only
  // invalid entries are the padding: always for the filter, for the IFMAP
  // when every window element of every pixel is inside it. The filter's
  // addresses are one entry each; an IFMAP address is in the entries of
  // the windows over it.
  if (fast) {
    const auto fpos = std::make_shared<const StackPositions>(fpl);
    rb.filter.emplace(size.filter, bw, op.filter_space(),
                      ClosedFormStack(fpl, fpos, true, [&op](int64_t a, auto&& fn) {
                        const auto [k, n] = op.FilterUse(a);
                        (void)fn(k, n);
                      }));
    if (rb.filter_diagonal) rb.filter->SetDiagonalStarts(fpos->diagonal_starts());
    if (op.all_valid()) {
      const auto ipos = std::make_shared<const StackPositions>(ipl);
      UserPrefetchStack istack = ClosedFormStack(
          ipl, ipos, false, [&op](int64_t a, auto&& fn) { op.ForEachIfmapUse(a, fn); });
      istack.address_of = [&op](int64_t p, int64_t k) {
        return p < 0 || p >= op.M() || k < 0 || k >= op.K() ? int64_t{-1} : op.Ifmap(p, k);
      };
      rb.ifmap.emplace(size.ifmap, bw, op.ifmap_space(), std::move(istack));
      if (rb.ifmap_diagonal) rb.ifmap->SetDiagonalStarts(ipos->diagonal_starts());
      return rb;
    }
  }
  std::vector<int64_t> idiag, fdiag;
  // The order is scratch, kept per thread across layers (fresh pages cost
  // more than filling them).
  thread_local std::vector<int32_t> order;
  PrefetchOrder(
      ipl, [&](int64_t a, int64_t b) { return op.Ifmap(a, b); }, &order,
      rb.ifmap_diagonal ? &idiag : nullptr);
  rb.ifmap.emplace(size.ifmap, bw, op.ifmap_space(), order, fast);
  if (rb.ifmap_diagonal) rb.ifmap->SetDiagonalStarts(std::move(idiag));
  if (fast) return rb;
  PrefetchOrder(
      fpl, [&](int64_t a, int64_t b) { return op.Filter(a, b); }, &order,
      rb.filter_diagonal ? &fdiag : nullptr);
  rb.filter.emplace(size.filter, bw, op.filter_space(), order, fast);
  if (rb.filter_diagonal) rb.filter->SetDiagonalStarts(std::move(fdiag));
  return rb;
}

// One USER read buffer serving the addresses of one row; returns its stall.
// first() names the row's first address as op arguments (x, y): a row's
// addresses are consecutive valid entries of its operand's order (one
// anti-diagonal, read in port order, or one stack row), so on a closed-form
// order the j-th address comes from entry EntryIndex(first()) + j, op
// arguments first() + j step.
template <class ForEachAddress, class First>
int64_t ServiceReadRow(UserReadBufferModel* buf, int64_t cycle, ForEachAddress&& each,
                       First&& first, std::pair<int64_t, int64_t> step, Span* span) {
  bool any = false;
  int64_t out = cycle + 1;
  int64_t entry = buf->closed_form() ? -2 : -1;  // -2: at the first address
  int64_t x = 0, y = 0;
  each([&](int64_t a) {
    if (entry == -2) {
      std::tie(x, y) = first();
      entry = buf->EntryIndex(x, y);
    }
    any = true;
    if (entry >= 0) {
      out = buf->AccessAt(a, out, entry, x, y);
      ++entry;
      x += step.first;
      y += step.second;
    } else {
      out = buf->Access(a, out);
    }
  });
  if (any) span->Add(out);
  return out - cycle - 1;
}

// State of the demand-row walk.
struct WalkState {
  WriteBufferModel wbuf;
  int64_t stalls = 0;
  Span of_span;
  int64_t last_row_ofmap_out = -1, last_row_stall = 0;
  bool last_row_seen = false;
};

// CALC bulk step: a run of rows from tau whose OFMAP demand is linear (ramp
// or plateau of the skew), none of them the last row; consumes the leading
// rows that cannot stall or start a drain. Returns how many (0 = none).
inline int64_t AdvanceQuietRun(const Skew& oskew, int64_t tau, int64_t hi, int64_t last_local,
                               int64_t cycle, WalkState* w) {
  const int64_t k = oskew.count(tau), slope = oskew.slope(tau);
  const int64_t end = std::min({oskew.linear_run_end(tau), hi, last_local});
  if (k <= 0 || end <= tau || oskew.count(end) != k + slope * (end - tau)) return 0;
  const int64_t done = w->wbuf.AdvanceQuietRows(k, slope, cycle, end - tau + 1);
  if (done > 0) {
    w->of_span.Add(cycle);
    w->of_span.Add(cycle + done - 1);
  }
  return done;
}

// The write buffer's state after an event row of a plateau (RepeatPeriods).
struct PhaseMark {
  int64_t tau = 0, stalls = 0;
  WriteBufferModel::Phase phase;
};

// CALC bulk step over a plateau of the OFMAP skew (every row the same
// demand): after row tau (an event row: a drain start or a stall), when
// the buffer's relative state equals its state after an earlier event row
// of the same plateau with no stall between, the rows between repeat
// exactly; whole periods that end before `last` (the plateau's last row
// that may be skipped) are applied in one step (WriteBufferModel::Repeat).
// `ring` holds the last event states of the plateau (the period is often
// bw / gcd(bw, k) events: a partial line shifts by k mod bw per drain).
// Returns the row
// now done.
inline int64_t RepeatPeriods(const Skew& oskew, int64_t base, int64_t tau, int64_t last,
                             WalkState* w, std::vector<PhaseMark>* ring) {
  constexpr size_t kMarks = 512;  // periods of up to 512 events are found
  const int64_t k = oskew.count(tau);
  if (k <= 0 || oskew.slope(tau) != 0 || tau >= last) return tau;
  // The plateau continues up to linear_run_end; rows past `last` are not skipped.
  const int64_t end = std::min(oskew.linear_run_end(tau), last);
  // Marks from another plateau, or from before a stall (stalls only grow,
  // so they can never match again), are dropped.
  if (!ring->empty() && (oskew.count(ring->back().tau) != k || ring->back().stalls != w->stalls))
    ring->clear();
  PhaseMark now{tau, w->stalls, w->wbuf.Snapshot(base + tau + 1 + w->stalls)};
  for (auto it = ring->rbegin(); it != ring->rend(); ++it) {
    if (it->stalls != now.stalls || it->phase.rel != now.phase.rel) continue;
    const int64_t period = tau - it->tau;
    const int64_t n = (end - tau) / period;
    if (n > 0) {
      w->wbuf.Repeat(it->phase, now.phase, n);
      tau += n * period;
      w->of_span.Add(base + tau + w->stalls);  // the last skipped row wrote OFMAP elements
    }
    ring->clear();
    return tau;
  }
  if (ring->size() == kMarks) ring->erase(ring->begin());
  ring->push_back(std::move(now));
  return tau;
}

// One demand row through every buffer the walk visits; records its stall.
template <DataflowMapping Map>
void ServiceRow(const Map& map, const Fold& f, int64_t tau, int64_t row, bool last_row,
                const Skew& oskew, UserReadBuffers* rb, Span* if_span, Span* fi_span, WalkState* w,
                StallTimeline* timeline) {
  const int64_t cycle = row + w->stalls;
  int64_t stall = 0;
  if (rb->active()) {
    bool ifmap_done = false, filter_done = false;
    // A row whose stack anti-diagonal lies in the window: every address
    // hits, no stall, the buffer unchanged (ServiceReadRow's outcome).
    if constexpr (IfmapDiagonalRows<Map>) {
      if (rb->ifmap_diagonal && rb->ifmap->DiagonalInWindow(map.IfmapPrefetchDiagonal(f, tau))) {
        ifmap_done = true;
        if (map.IfmapRowHasData(f, tau)) if_span->Add(cycle + 1);
      }
    }
    if constexpr (FilterDiagonalRows<Map>) {
      if (rb->filter_diagonal && rb->filter->DiagonalInWindow(map.FilterPrefetchDiagonal(f, tau))) {
        filter_done = true;
        if (map.FilterRowHasData(f, tau)) fi_span->Add(cycle + 1);
      }
    }
    if (!ifmap_done && tau >= map.IfmapFirstTau(f) && tau <= map.IfmapLastTau(f))
      stall = std::max(stall,
                       ServiceReadRow(
                           &*rb->ifmap, cycle, [&](auto&& fn) { map.Ifmap(f, tau, fn); },
                           [&] { return map.IfmapRowFirst(f, tau); }, map.IfmapRowStep(), if_span));
    if (!filter_done && tau >= map.FilterFirstTau(f) && tau <= map.FilterLastTau(f))
      stall = std::max(stall, ServiceReadRow(
                                  &*rb->filter, cycle, [&](auto&& fn) { map.Filter(f, tau, fn); },
                                  [&] { return map.FilterRowFirst(f, tau); },
                                  std::pair<int64_t, int64_t>{0, 0}, fi_span));
  }
  int64_t of_out = cycle;
  const int64_t k = oskew.count(tau);
  if (k > 0) {
    of_out = w->wbuf.Service(k, cycle);
    w->of_span.Add(of_out);
    stall = std::max(stall, of_out - cycle);
  }
  if (last_row) {
    w->last_row_seen = true;
    w->last_row_ofmap_out = of_out;
    w->last_row_stall = stall;
  }
  if (stall > 0) {
    w->stalls += stall;
    timeline->Add(row, stall);
  }
}

// USER bulk step: the last row e >= tau such that no row of [tau, e] can
// act on any buffer -- no OFMAP demand, and each read operand either has no
// data there or reads only anti-diagonals that are in its window
// (UserReadBufferModel::DiagonalRunEnd; a row's diagonal is its tau plus a
// per-fold constant) -- or tau - 1. Such rows are ServiceRow's no-op rows:
// no stall, nothing changes but the SRAM spans, which get their first and
// last rows with data here. `last`: the last row that may be skipped.
template <DataflowMapping Map>
int64_t VouchedRun(const Map& map, const Fold& f, int64_t tau, int64_t last, const Skew& oskew,
                   UserReadBuffers* rb, int64_t cycle_base, Span* if_span, Span* fi_span) {
  if (oskew.count(tau) > 0) return tau - 1;
  int64_t e = last;
  if (tau < oskew.start) e = std::min(e, oskew.start - 1);
  // An operand's rows [first, lastt]: false when row tau must be served.
  auto bound = [&](int64_t first, int64_t lastt, bool diagonal, UserReadBufferModel* buf,
                   auto&& diagonal_of) {
    if (tau > lastt) return true;
    if (tau < first) {
      e = std::min(e, first - 1);
      return true;
    }
    if (!diagonal) return false;
    const int64_t d = diagonal_of(tau);
    const int64_t de = buf->DiagonalRunEnd(d);
    if (de < d) return false;
    e = std::min(e, tau + (de - d));
    return true;
  };
  // The first and last rows with data in [tau, e] into the span.
  auto spans = [&](int64_t first, int64_t lastt, auto&& has_data, Span* span) {
    const int64_t a = std::max(tau, first), b = std::min(e, lastt);
    int64_t t = a;
    while (t <= b && !has_data(t)) ++t;
    if (t > b) return;
    span->Add(cycle_base + t + 1);
    int64_t u = b;
    while (u > t && !has_data(u)) --u;
    if (u > t) span->Add(cycle_base + u + 1);
  };
  const int64_t ifirst = map.IfmapFirstTau(f), ilast = map.IfmapLastTau(f);
  const int64_t ffirst = map.FilterFirstTau(f), flast = map.FilterLastTau(f);
  bool ok = true;
  if constexpr (IfmapDiagonalRows<Map>) {
    ok = bound(ifirst, ilast, rb->ifmap_diagonal, &*rb->ifmap,
               [&](int64_t t) { return map.IfmapPrefetchDiagonal(f, t); });
  } else {
    ok = bound(ifirst, ilast, false, &*rb->ifmap, [](int64_t t) { return t; });
  }
  if (!ok) return tau - 1;
  if constexpr (FilterDiagonalRows<Map>) {
    ok = bound(ffirst, flast, rb->filter_diagonal, &*rb->filter,
               [&](int64_t t) { return map.FilterPrefetchDiagonal(f, t); });
  } else {
    ok = bound(ffirst, flast, false, &*rb->filter, [](int64_t t) { return t; });
  }
  if (!ok || e < tau) return tau - 1;
  if constexpr (IfmapDiagonalRows<Map>)
    spans(
        ifirst, ilast, [&](int64_t t) { return map.IfmapRowHasData(f, t); }, if_span);
  if constexpr (FilterDiagonalRows<Map>)
    spans(
        ffirst, flast, [&](int64_t t) { return map.FilterRowHasData(f, t); }, fi_span);
  return e;
}

// Walks the demand rows that carry data: OFMAP rows always, operand rows
// when their (USER) buffers can stall. Fills the OFMAP results and the
// stall timeline.
template <DataflowMapping Map>
std::shared_ptr<const CachedOfmapWalk> WalkDemandRows(const FoldGrid& g, const Map& map,
                                                      const BufferSize& ofmap, int64_t drain_bw,
                                                      UserReadBuffers* rb, Span* if_span,
                                                      Span* fi_span) {
  auto out = std::make_shared<CachedOfmapWalk>();
  WalkState w{WriteBufferModel(ofmap, drain_bw)};
  // Only OFMAP rows are walked (CALC): runs of rows may be advanced in bulk.
  const bool bulk = !rb->active() && SimBulkWalkEnabled();
  // USER: runs of rows no buffer acts on are skipped (VouchedRun).
  const bool user_bulk = rb->active() && SimBulkWalkEnabled();
  std::vector<PhaseMark> ring;
  g.ForEach([&](const Fold& f, int64_t fold_index) {
    const int64_t base = fold_index * g.L;
    const Skew oskew = map.OfmapSkew(f);
    int64_t lo = oskew.start, hi = oskew.last_tau();
    if (rb->active()) {
      lo = std::min({lo, map.IfmapFirstTau(f), map.FilterFirstTau(f)});
      hi = std::max({hi, map.IfmapLastTau(f), map.FilterLastTau(f)});
    }
    ring.clear();
    for (int64_t tau = lo; tau <= hi; ++tau) {
      const int64_t row = base + tau;
      if (bulk) {
        const int64_t done =
            AdvanceQuietRun(oskew, tau, hi, g.num_rows - 2 - base, row + w.stalls, &w);
        if (done > 0) {
          tau += done - 1;
          continue;
        }
      }
      if (user_bulk) {
        const int64_t e = VouchedRun(map, f, tau, std::min(hi, g.num_rows - 2 - base), oskew, rb,
                                     base + w.stalls, if_span, fi_span);
        if (e >= tau) {
          tau = e;
          continue;
        }
      }
      ServiceRow(map, f, tau, row, row == g.num_rows - 1, oskew, rb, if_span, fi_span, &w,
                 &out->timeline);
      if (bulk)
        tau = RepeatPeriods(oskew, base, tau, std::min(hi, g.num_rows - 2 - base), &w, &ring);
    }
  });
  // Total cycles = completion cycle of the OFMAP port in the last demand row.
  out->total_cycles =
      w.last_row_seen ? w.last_row_ofmap_out : g.num_rows - 1 + w.stalls - w.last_row_stall;
  out->stalls = w.stalls;
  w.wbuf.Finish(out->total_cycles);
  out->of_any = w.of_span.any;
  out->of_first = w.of_span.first;
  out->of_last = w.of_span.last;
  out->dram_writes = w.wbuf.accesses();
  out->dram_first = w.wbuf.first_cycle();
  out->dram_last = w.wbuf.last_cycle();
  return out;
}

// SRAM trace start/stop of an operand whose rows were not visited (CALC,
// analytic DRAM): first/last row holding a valid address, + hit latency 1.
// `ops(f, tau, sink)` lists the operand's addresses, [first(f), last(f)] its rows.
template <class Ops, class First, class Last>
Span ScanSramSpan(const FoldGrid& g, const StallTimeline& timeline, Ops&& ops, First&& first,
                  Last&& last) {
  auto has_data = [&](const Fold& f, int64_t tau) {
    bool any = false;
    ops(f, tau, [&](int64_t) { any = true; });
    return any;
  };
  Span s;
  for (int64_t fc = 0, fidx = 0; fc < g.col_folds && !s.any; ++fc)
    for (int64_t fr = 0; fr < g.row_folds && !s.any; ++fr, ++fidx) {
      const Fold f = g.At(fc, fr);
      for (int64_t tau = first(f); tau <= last(f); ++tau)
        if (has_data(f, tau)) {
          s.Add(timeline.Cycle(fidx * g.L + tau) + 1);
          break;
        }
    }
  bool found = false;
  for (int64_t fc = g.col_folds - 1, fidx = g.folds() - 1; fc >= 0 && !found; --fc)
    for (int64_t fr = g.row_folds - 1; fr >= 0 && !found; --fr, --fidx) {
      const Fold f = g.At(fc, fr);
      for (int64_t tau = last(f); tau >= first(f); --tau)
        if (has_data(f, tau)) {
          s.last = timeline.Cycle(fidx * g.L + tau) + 1;
          found = true;
          break;
        }
    }
  return s;
}

// A mapping whose IFMAP demand in a fold is one skewed stream (ws): port r
// carries window element IfmapStreamK0(f) + r of pixel u = tau - start - r.
template <class Map>
concept IfmapStreamMapping = requires(const Map& m, const Fold& f) {
  { m.IfmapStream(f) } -> std::same_as<Skew>;
  { m.IfmapStreamK0(f) } -> std::same_as<int64_t>;
};

// Can the fold's IFMAP window history skip to its end after the fold's first
// window close (see IfmapWindowHistory)? Yes when the mapping streams the
// IFMAP and the fold's window elements never name the same address twice.
// `distinct` caches the check per row fold.
template <DataflowMapping Map>
bool IfmapStreamBulk(const OperandMatrices& op, const Map& map, const Fold& f,
                     std::vector<int8_t>* distinct) {
  if constexpr (IfmapStreamMapping<Map>) {
    if (!SimBulkWalkEnabled()) return false;
    int8_t& d = (*distinct)[static_cast<size_t>(f.fr)];
    if (d < 0) {
      const int64_t k0 = map.IfmapStreamK0(f);
      d = op.WindowRangeDistinct(k0, k0 + map.IfmapStream(f).used) ? 1 : 0;
    }
    return d == 1;
  } else {
    return false;
  }
}

// Does every fold of the layer take the bulk paths (CALC, bulk on, a ws
// mapping whose row folds all stream pairwise distinct addresses)? Then its
// cost grows with its folds, not its demand rows (FoldGrid::rows_in_bulk).
template <DataflowMapping Map>
bool RowsInBulk(const ArchConfig& cfg, const OperandMatrices& op, const Map& map) {
  if constexpr (IfmapStreamMapping<Map>) {
    if (cfg.bw_mode != BandwidthMode::kCalc || !SimBulkWalkEnabled()) return false;
    const int64_t R = cfg.array_rows, row_folds = CeilDiv(map.Sr(), R);
    if (row_folds > kMaxSimulatedWork / kFoldWork) return false;
    std::vector<int8_t> distinct(static_cast<size_t>(row_folds), -1);
    for (int64_t fr = 0; fr < row_folds; ++fr) {
      Fold f;
      f.fr = fr;
      f.ru = std::min(R, map.Sr() - fr * R);
      f.cu = 1;
      if (!IfmapStreamBulk(op, map, f, &distinct)) return false;
    }
    return true;
  } else {
    return false;
  }
}

// Addresses the bulk replay has counted in the open window but not stored
// yet (IfmapWindowHistory): per piece, the valid addresses of `fold` from
// the (skip+1)-th of row `row` through row `last`. Stored only when a later
// fold needs the window's contents; pieces are pairwise disjoint and
// disjoint from what is stored.
struct PendingPiece {
  Fold fold;
  int64_t row = 0, skip = 0, last = 0, count = 0;
};

// Rows [tau, last] of a bulk fold whose addresses are all new (nothing in
// the window can meet them): the closes they contain in one step; the
// addresses after the last close (or all, without a close) join `pending`.
// Returns nothing; updates `est` (closes, count) exactly as the replay would.
template <DataflowMapping Map>
void BulkStreamRest(const OperandMatrices& op, const Map& map, const Fold& f, int64_t tau,
                    int64_t last, int64_t base, EstimateReadBufferModel* est,
                    std::vector<PendingPiece>* pending, int64_t* pending_count) {
  const Skew s = map.IfmapStream(f);
  const int64_t k0 = map.IfmapStreamK0(f);
  // Valid addresses in the rows before t: port r carries pixels u < t - start - r.
  auto count_before = [&](int64_t t) {
    if (op.all_valid()) return s.count_before(t);
    int64_t sum = 0;
    for (int64_t r = 0; r < s.used; ++r)
      sum += op.ValidPixelsBefore(k0 + r, std::clamp<int64_t>(t - s.start - r, 0, s.len));
    return sum;
  };
  const int64_t window = est->window_elems(), c = est->count();
  const int64_t before = count_before(tau);
  const int64_t rest = count_before(last + 1) - before;
  if (rest <= 0) return;
  const int64_t n = (c + rest) / window;
  if (n == 0) {  // no close: all of them join the window
    pending->push_back({f, tau, 0, last, rest});
    *pending_count += rest;
    est->SetCount(c + rest);
    return;
  }
  // The last close is at the x-th address of the rest (1-based): in row tc,
  // the j-th address of that row.
  const int64_t x = n * window - c;
  int64_t lo = tau, hi = last;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (count_before(mid + 1) - before >= x)
      hi = mid;
    else
      lo = mid + 1;
  }
  const int64_t tc = lo, j = x - (count_before(tc) - before);
  est->CloseWindows(n, base + tc);
  pending->clear();
  const int64_t open = c + rest - n * window;
  *pending_count = open;
  if (open > 0) pending->push_back({f, tc, j, last, open});
  est->SetCount(open);
}

// Mappings whose IFMAP demand in fold (fc, fr) does not depend on fc (ws,
// os): the column folds replay one and the same pass over the row folds.
template <class Map>
concept IfmapSameAcrossColumnFolds = Map::kIfmapSameAcrossColumnFolds;

// The window state after a pass over the row folds, when a window closed in
// its last fold: the close's row in that fold and the open count. The
// window then holds exactly the addresses of that fold after the close
// position, and those sets are nested, so (row, count) determines them.
struct PassSignature {
  bool valid = false;
  int64_t row = 0, count = 0;
  bool operator==(const PassSignature& o) const {
    return valid == o.valid && row == o.row && count == o.count;
  }
};

// IFMAP demand replayed through the CALC-mode window model, in demand order
// as far as it matters: a band of rows whose demand cannot close the window
// (count + ports * rows < window) may be applied in any order, so it is
// applied as contiguous address ranges (one per pixel and filter row, from
// the mapping's IfmapRanges), where runs of 64 addresses already in the
// window cost O(1). Rows that could close the window are replayed address by
// address, in order, exactly as SCALE-Sim does.
//
// Bulk (IfmapStreamBulk folds: the ws mapping, when no two window elements
// of a fold meet at one address). Such a fold's addresses are pairwise
// distinct, so once nothing in the window can meet them -- from the fold's
// start when the window holds only addresses of row folds whose window
// elements never meet this fold's (OperandMatrices::WindowRangesDisjoint),
// else after the fold's first window close, replayed as above -- every
// address of the fold is new: the window closes after every
// window_elems() valid addresses, which the stream's per-row counts
// (Skew::count_before, OperandMatrices::ValidPixelsBefore on ragged edges)
// place in O(ports log rows) (BulkStreamRest). The addresses left in the
// open window are only counted (PendingPiece) and stored when a later fold
// is not provably disjoint from them. A fold then costs O(ports log rows)
// or O(window), not O(fold length): a layer's cost grows with its folds,
// not its cycles.
//
// Periodic passes (IfmapSameAcrossColumnFolds: ws, os; also under bulk):
// each column fold replays the same pass over the row folds, a function of
// the window state it starts from. When two consecutive passes end in the
// same state (PassSignature), every later pass starts from that state too,
// so it closes as many windows, each row_folds * L rows later: the
// remaining passes are added in one step. A layer then costs about two
// passes instead of col_folds.
template <DataflowMapping Map>
std::shared_ptr<const CachedIfmapHistory> IfmapWindowHistory(const OperandMatrices& op,
                                                             const FoldGrid& g, const Map& map,
                                                             const BufferSize& size) {
  EstimateReadBufferModel window_model(size, op.ifmap_space(), op.ifmap_distinct());
  EstimateReadBufferModel* est = &window_model;
  const int64_t ch = op.channels(), fw = op.filter_w(), H = op.ifmap_h(), Wd = op.ifmap_w();
  const int64_t span = fw * ch;  // window elements per filter row: contiguous addresses
  const int64_t window = est->window_elems();
  // Window elements [ka, kb) of output pixel p: one contiguous address range
  // per filter row, clipped at the IFMAP edge (ragged strides).
  // Consecutive calls mostly start at the same window element, so the
  // division that finds its filter row is memoized (a 64-bit divide costs
  // more than the rest of a short range).
  //
  // The ranges of one batch are applied order-free, so consecutive ranges of
  // one filter row that overlap or touch (neighbouring pixels whose windows
  // overlap: stride x channels <= the range) are merged first and applied
  // once (`slots`, one per filter row mod 4); flush() before anything else
  // reads or changes the window.
  struct Slot {
    int64_t crow = -1, lo = 0, hi = 0;
  };
  Slot slots[4];
  auto add_range = [&](int64_t crow, int64_t a0, int64_t a1) {
    Slot& sl = slots[crow & 3];
    if (sl.crow == crow && a0 >= sl.lo && a0 <= sl.hi) {
      sl.hi = std::max(sl.hi, a1);
      return;
    }
    if (sl.crow >= 0) est->TouchRange(sl.lo, sl.hi);
    sl = {crow, a0, a1};
  };
  auto flush = [&] {
    for (Slot& sl : slots)
      if (sl.crow >= 0) {
        est->TouchRange(sl.lo, sl.hi);
        sl.crow = -1;
      }
  };
  int64_t memo_k = 0, memo_row = 0;
  auto pixel_range = [&](int64_t p, int64_t ka, int64_t kb) {
    const int64_t pr = op.pix_row(p), pc = op.pix_col(p);
    const int64_t valid = std::min(span, (Wd - pc) * ch);  // columns past the edge: invalid
    if (ka != memo_k) {
      memo_k = ka;
      memo_row = ka / span;
    }
    int64_t k = ka;
    for (int64_t crow = memo_row; k < kb; ++crow) {  // k >= crow * span from here on
      const int64_t k0 = crow * span, end = std::min(kb, k0 + span);
      const int64_t y = pr + crow;
      if (y >= H) break;  // and every later filter row
      const int64_t lo = k - k0, hi = std::min(end - k0, valid);
      if (lo < hi) {
        const int64_t base = (y * Wd + pc) * ch;
        add_range(crow, base + lo, base + hi);
      }
      k = end;
    }
  };
  // Pixels [pa, pb] with the same window elements [ka, kb) (IfmapRangeRuns):
  // within one OFMAP row, the ranges of one filter row step by stride x
  // channels addresses per pixel, so when that step is at most the range
  // (and no range is clipped at the IFMAP edge) their union is one range.
  const int64_t ow = op.ofmap_w(), step = op.stride_w() * ch;
  auto pixel_run = [&](int64_t pa, int64_t pb, int64_t ka, int64_t kb) {
    for (int64_t p = pa; p <= pb;) {
      const int64_t row_end = std::min(pb, (p / ow + 1) * ow - 1);
      const int64_t pr = op.pix_row(p), pc0 = op.pix_col(p), pc1 = op.pix_col(row_end);
      const int64_t valid_last = std::min(span, (Wd - pc1) * ch);
      bool merged = true;
      for (int64_t k = ka, crow = ka / span; k < kb && merged; ++crow) {
        const int64_t k0 = crow * span, end = std::min(kb, k0 + span);
        if (pr + crow >= H) break;
        merged = end - k0 <= valid_last && step <= end - k;
        k = end;
      }
      if (merged) {
        for (int64_t k = ka, crow = ka / span; k < kb; ++crow) {
          const int64_t k0 = crow * span, end = std::min(kb, k0 + span);
          const int64_t y = pr + crow;
          if (y >= H) break;
          add_range(crow, (y * Wd + pc0) * ch + (k - k0), (y * Wd + pc1) * ch + (end - k0));
          k = end;
        }
      } else {
        for (int64_t q = p; q <= row_end; ++q) pixel_range(q, ka, kb);
      }
      p = row_end + 1;
    }
  };
  // One order-free batch of rows [ta, tb) (cannot close a window).
  auto apply_ranges = [&](const Fold& f, int64_t ta, int64_t tb) {
    if constexpr (IfmapStreamMapping<Map>) {
      if (SimBulkWalkEnabled())
        map.IfmapRangeRuns(f, ta, tb, pixel_range, pixel_run);
      else
        map.IfmapRanges(f, ta, tb, pixel_range);
    } else {
      map.IfmapRanges(f, ta, tb, pixel_range);
    }
    flush();
  };
  const int64_t R = g.R, C = g.C, L = g.L, row_folds = g.row_folds, col_folds = g.col_folds;
  // Bulk state: row folds whose addresses the open window may hold (empty
  // when unknown: more than kMaxWindowFolds), and the pending pieces.
  constexpr size_t kMaxWindowFolds = 8;
  std::vector<int64_t> window_frs;
  bool window_frs_known = true;
  std::vector<PendingPiece> pending;
  int64_t pending_count = 0;
  auto store_pending = [&] {
    if (pending.empty()) return;
    est->SetCount(est->count() - pending_count);
    for (const PendingPiece& pc : pending) {
      int64_t idx = 0;
      map.Ifmap(pc.fold, pc.row, [&](int64_t a) {
        if (++idx > pc.skip) est->Access(a, 0);  // cannot close: fewer than a window
      });
      if (pc.row < pc.last) apply_ranges(pc.fold, pc.row + 1, pc.last + 1);
    }
    pending.clear();
    pending_count = 0;
  };
  // Can anything in the open window meet an address of row fold fr?
  auto window_disjoint = [&](const Fold& f) {
    if (!window_frs_known) return false;
    const int64_t b0 = f.fr * R;
    for (int64_t fr : window_frs) {
      const int64_t a0 = fr * R, a1 = a0 + std::min(R, map.Sr() - a0);
      if (fr == f.fr || !op.WindowRangesDisjoint(a0, a1, b0, b0 + f.ru)) return false;
    }
    return true;
  };
  std::vector<int8_t> distinct(static_cast<size_t>(row_folds), -1);
  // Periodic passes: see the comment above the function.
  bool last_fold_closed = false;
  int64_t last_fold_base = 0;
  PassSignature prev_pass;
  int64_t fidx = 0;
  for (int64_t fc = 0; fc < col_folds; ++fc) {
    const int64_t closed_at_pass_start = est->closed();
    for (int64_t fr = 0; fr < row_folds; ++fr, ++fidx) {
      Fold f;
      f.fr = fr;
      f.fc = fc;
      f.ru = std::min(R, map.Sr() - fr * R);
      f.cu = std::min(C, map.Sc() - fc * C);
      const int64_t ports = map.IfmapPorts(f), base = fidx * L;
      const int64_t first = map.IfmapFirstTau(f), last = map.IfmapLastTau(f);
      const bool bulk = IfmapStreamBulk(op, map, f, &distinct);
      const int64_t closed_before = est->closed();
      int64_t tau = first;
      if (!(bulk && window_disjoint(f))) {
        store_pending();
        for (; tau <= last;) {
          if (bulk && est->closed() != closed_before) break;
          const int64_t chunk = (window - est->count() - 1) / ports;
          if (chunk >= 1) {
            const int64_t tb = std::min(last + 1, tau + chunk);
            apply_ranges(f, tau, tb);
            tau = tb;
          } else {
            map.Ifmap(f, tau, [&](int64_t a) { est->Access(a, base + tau); });
            ++tau;
          }
        }
      }
      if constexpr (IfmapStreamMapping<Map>) {
        if (bulk && tau <= last)
          BulkStreamRest(op, map, f, tau, last, base, est, &pending, &pending_count);
      }
      last_fold_closed = est->closed() != closed_before;
      last_fold_base = base;
      if (last_fold_closed) {
        window_frs.assign(1, fr);
        window_frs_known = true;
      } else if (window_frs_known &&
                 std::find(window_frs.begin(), window_frs.end(), fr) == window_frs.end()) {
        window_frs.push_back(fr);
        if (window_frs.size() > kMaxWindowFolds) window_frs_known = false;
      }
    }
    if constexpr (IfmapSameAcrossColumnFolds<Map>) {
      if (!SimBulkWalkEnabled()) continue;
      PassSignature sig;
      if (last_fold_closed) sig = {true, est->last_close_row() - last_fold_base, est->count()};
      const int64_t remaining = col_folds - 1 - fc;
      if (sig.valid && sig == prev_pass && remaining > 0) {
        est->RepeatCloses(remaining * (est->closed() - closed_at_pass_start),
                          remaining * row_folds * L);
        break;
      }
      prev_pass = sig;
    }
  }
  auto r = std::make_shared<CachedIfmapHistory>();
  r->closed = est->closed();
  r->open = est->count();
  r->last_close_row = est->last_close_row();
  return r;
}

// CALC IFMAP DRAM reads: analytic when the IFMAP fits in one window, else
// the window history (memoized per IFMAP size: it does not depend on the
// stalls, which only map its rows to cycles).
template <DataflowMapping Map>
EstimateReadBufferModel::Result CalcIfmapDram(const ArchConfig& cfg, const LayerSpec& layer,
                                              const OperandMatrices& op, const FoldGrid& g,
                                              const Map& map, const BufferSize& size,
                                              int64_t first_request_cycle,
                                              const StallTimeline& timeline) {
  const EstimateReadBufferModel probe(size, 0, op.ifmap_distinct());  // no per-address state
  if (!probe.needs_simulation()) return probe.FinishAnalytic();
  const auto h = IfmapHistoryMemo(MemoKey(MemoKind::kIfmapHistory, cfg, layer, size.total, 0),
                                  [&] { return IfmapWindowHistory(op, g, map, size); });
  return probe.Finish(h->closed, h->open, first_request_cycle, timeline.Cycle(h->last_close_row));
}

// Demand row of the filter stream's index-th address.
template <DataflowMapping Map>
int64_t FilterRowOfIndex(const FoldGrid& g, const Map& map, int64_t index) {
  int64_t row = -1;
  for (int64_t fc = 0, fidx = 0; fc < g.col_folds && row < 0; ++fc)
    for (int64_t fr = 0; fr < g.row_folds && row < 0; ++fr, ++fidx) {
      const Fold f = g.At(fc, fr);
      const int64_t n = map.filter_reads(f);
      if (index >= n) {
        index -= n;
        continue;
      }
      for (int64_t tau = map.FilterFirstTau(f);; ++tau) {
        int64_t cnt = 0;
        map.Filter(f, tau, [&](int64_t) { ++cnt; });
        if (index < cnt) {
          row = fidx * g.L + tau;
          break;
        }
        index -= cnt;
      }
    }
  return row;
}

// CALC filter DRAM reads: closed form over the mapping's filter blocks.
template <DataflowMapping Map>
EstimateReadBufferModel::Result CalcFilterDram(const OperandMatrices& op, const FoldGrid& g,
                                               const Map& map, const BufferSize& size,
                                               int64_t first_request_cycle,
                                               const StallTimeline& timeline) {
  const EstimateReadBufferModel est(size, 0, op.filter_space());  // no per-address state
  const WindowHistory h =
      BlockWindowHistory(map.FilterBlocks(g.row_folds, g.col_folds), est.window_elems());
  const int64_t close_cycle =
      h.closed > 0 ? timeline.Cycle(FilterRowOfIndex(g, map, h.last_close_index)) : 0;
  return est.Finish(h.closed, h.open, first_request_cycle, close_cycle);
}

// Copies one operand's DRAM figures into the report fields.
template <class Result>
void SetDram(const Result& r, int64_t* reads, int64_t* start, int64_t* stop) {
  *reads = r.reads;
  *start = r.start_cycle;
  *stop = r.stop_cycle;
}

// SRAM spans and DRAM figures of the read operands, after the walk.
template <DataflowMapping Map>
void ReadOperandResults(const ArchConfig& cfg, const LayerSpec& layer, const OperandMatrices& op,
                        const FoldGrid& g, const Map& map, const LayerBuffers& size,
                        UserReadBuffers* rb, Span if_span, Span fi_span,
                        const StallTimeline& timeline, LayerMetrics* m) {
  if (!rb->active()) {
    if_span = ScanSramSpan(
        g, timeline, [&](const Fold& f, int64_t t, auto&& fn) { map.Ifmap(f, t, fn); },
        [&](const Fold& f) { return map.IfmapFirstTau(f); },
        [&](const Fold& f) { return map.IfmapLastTau(f); });
    fi_span = ScanSramSpan(
        g, timeline, [&](const Fold& f, int64_t t, auto&& fn) { map.Filter(f, t, fn); },
        [&](const Fold& f) { return map.FilterFirstTau(f); },
        [&](const Fold& f) { return map.FilterLastTau(f); });
  }
  m->ifmap_sram_start_cycle = if_span.first;
  m->ifmap_sram_stop_cycle = if_span.last;
  m->filter_sram_start_cycle = fi_span.first;
  m->filter_sram_stop_cycle = fi_span.last;
  if (rb->active()) {
    m->ifmap_dram_reads = rb->ifmap->accesses();
    m->ifmap_dram_start_cycle = rb->ifmap->start_cycle();
    m->ifmap_dram_stop_cycle = rb->ifmap->stop_cycle();
    m->filter_dram_reads = rb->filter->accesses();
    m->filter_dram_start_cycle = rb->filter->start_cycle();
    m->filter_dram_stop_cycle = rb->filter->stop_cycle();
    return;
  }
  SetDram(CalcIfmapDram(cfg, layer, op, g, map, size.ifmap, if_span.first - 1, timeline),
          &m->ifmap_dram_reads, &m->ifmap_dram_start_cycle, &m->ifmap_dram_stop_cycle);
  SetDram(CalcFilterDram(op, g, map, size.filter, fi_span.first - 1, timeline),
          &m->filter_dram_reads, &m->filter_dram_start_cycle, &m->filter_dram_stop_cycle);
}

// The simulated work of the layer (limits.h, kMaxSimulatedWork) and, in USER
// mode, the per-address state, checked before anything is allocated or
// replayed: demand rows, plus the addresses and OFMAP elements handled one
// at a time.
template <DataflowMapping Map>
void CheckSimulatedWork(const ArchConfig& cfg, const LayerSpec& layer, const OperandMatrices& op,
                        const FoldGrid& g, const Map& map, const LayerBuffers& size,
                        const LayerMetrics& m) {
  int64_t replayed = 0;
  if (cfg.bw_mode == BandwidthMode::kUser) {
    const std::string what = "layer '" + layer.name + "': USER-mode operand addresses";
    int64_t entries = op.ifmap_space() + op.filter_space();
    for (const PrefetchLayout& pl : {map.IfmapPrefetch(g.row_folds, g.col_folds),
                                     map.FilterPrefetch(g.row_folds, g.col_folds)})
      entries += CheckedProduct(CheckedProduct(pl.folds, pl.len, kMaxUserModeAddresses, what),
                                pl.width, kMaxUserModeAddresses, what);
    if (entries > kMaxUserModeAddresses)
      throw Error(what +
                  " (IFMAP + filter elements + prefetch entries) = " + std::to_string(entries) +
                  " is above the limit " + std::to_string(kMaxUserModeAddresses) +
                  " (docs/simulator.md, Input limits); use CALC bandwidth or split the layer");
    replayed = m.ifmap_sram_reads + m.filter_sram_reads;
  } else if (size.ifmap.total >= kReadBufferSets) {
    // The IFMAP window replay: address by address near each window close
    // (a share ports / window of the reads), elsewhere as ranges of at most
    // one filter row (filter_w x channels addresses) costing one step per
    // 64 addresses.
    const EstimateReadBufferModel probe(size.ifmap, 0, op.ifmap_distinct());
    if (probe.needs_simulation()) {
      const double share = std::min(1.0, static_cast<double>(map.IfmapPorts(g.At(0, 0))) /
                                             static_cast<double>(probe.window_elems()));
      const int64_t range = std::min<int64_t>(64, op.filter_w() * op.channels());
      int64_t reads = m.ifmap_sram_reads;
      // Bulk folds replay at most three windows of addresses each (up to
      // the first close: the window's hits and one window of new addresses;
      // after the last: less than one window).
      if constexpr (IfmapStreamMapping<Map>) {
        std::vector<int8_t> distinct(static_cast<size_t>(g.row_folds), -1);
        bool all = true;
        for (int64_t fr = 0; fr < g.row_folds && all; ++fr)
          all = IfmapStreamBulk(op, map, g.At(0, fr), &distinct);
        if (all) {
          const double bound =
              static_cast<double>(g.folds()) * 3.0 * static_cast<double>(probe.window_elems());
          if (bound < static_cast<double>(reads)) reads = static_cast<int64_t>(bound);
        }
      }
      replayed = static_cast<int64_t>(static_cast<double>(reads) * share) + reads / range;
    }
  }
  // The OFMAP write buffer steps element by element around each drain or
  // stall: about C elements per event, an event per half buffer written.
  const double of_share =
      std::min(1.0, 2.0 * static_cast<double>(g.C) /
                        static_cast<double>(std::max<int64_t>(1, size.ofmap.total)));
  replayed += static_cast<int64_t>(static_cast<double>(m.ofmap_sram_writes) * of_share);
  if (g.work_rows + replayed > kMaxSimulatedWork)
    throw Error("layer '" + layer.name + "': simulated work " + std::to_string(g.work_rows) +
                (g.rows_in_bulk ? " fold steps + " : " demand rows + ") + std::to_string(replayed) +
                " replayed addresses is above the limit " + std::to_string(kMaxSimulatedWork) +
                " (docs/simulator.md, Input limits); use larger SRAMs, a larger array or CALC "
                "bandwidth, or split the layer");
}

// The first stage: the compute side of the report, then the work limit
// (CheckSimulatedWork), before anything is allocated or replayed.
template <DataflowMapping Map>
LayerMetrics CheckedComputeSide(const ArchConfig& cfg, const LayerSpec& layer,
                                const OperandMatrices& op, const FoldGrid& g, const Map& map,
                                const LayerBuffers& size) {
  LayerMetrics m;
  m.name = layer.name;
  m.macs = layer.macs();
  m.word_bytes = cfg.word_bytes;
  m.weight_bits = cfg.weight_bits;
  m.act_bits = cfg.act_bits;
  ComputeSide(g, map, &m);
  CheckSimulatedWork(cfg, layer, op, g, map, size, m);
  return m;
}

// The limits alone, before anything is simulated (the registry's
// check_limits; SimulateNetwork checks every layer first).
template <DataflowMapping Map>
void CheckLimitsWithMapping(const ArchConfig& cfg, const LayerSpec& layer,
                            const OperandMatrices& op) {
  const Map map(op, cfg.array_rows, cfg.array_cols);
  CheckedComputeSide(
      cfg, layer, op,
      FoldGrid::Of(map, cfg.array_rows, cfg.array_cols, layer.name, RowsInBulk(cfg, op, map)), map,
      LayerBuffers::Of(cfg));
}

// The whole layer on one mapping.
template <DataflowMapping Map>
LayerMetrics SimulateWithMappingUncached(const ArchConfig& cfg, const LayerSpec& layer,
                                         const OperandMatrices& op) {
  const Map map(op, cfg.array_rows, cfg.array_cols);
  const FoldGrid g =
      FoldGrid::Of(map, cfg.array_rows, cfg.array_cols, layer.name, RowsInBulk(cfg, op, map));
  const LayerBuffers size = LayerBuffers::Of(cfg);
  LayerMetrics m = CheckedComputeSide(cfg, layer, op, g, map, size);
  UserReadBuffers rb = PrepareReadBuffers(cfg, size, op, g, map);
  Span if_span, fi_span;
  // OFMAP lines are the array width in CALC mode, the bandwidth in USER mode.
  const int64_t drain_bw = rb.active() ? static_cast<int64_t>(cfg.bandwidth_words_per_cycle) : g.C;
  auto walk = [&] { return WalkDemandRows(g, map, size.ofmap, drain_bw, &rb, &if_span, &fi_span); };
  // CALC: the walk sees only the OFMAP buffer (memoized, sim_cache.h).
  const std::shared_ptr<const CachedOfmapWalk> walked =
      rb.active()
          ? walk()
          : OfmapWalkMemo(MemoKey(MemoKind::kOfmapWalk, cfg, layer, size.ofmap.total, g.C), walk);
  m.total_cycles = walked->total_cycles;
  m.stall_cycles = walked->stalls;
  ReadOperandResults(cfg, layer, op, g, map, size, &rb, if_span, fi_span, walked->timeline, &m);
  m.ofmap_sram_start_cycle = walked->of_first;
  m.ofmap_sram_stop_cycle = walked->of_last;
  m.ofmap_dram_writes = walked->dram_writes;
  m.ofmap_dram_start_cycle = walked->dram_first;
  m.ofmap_dram_stop_cycle = walked->dram_last;
  FinishReport(g.R * g.C, &m);
  return m;
}

// The whole layer on one mapping; USER-mode layers through the memo (keyed by
// every input: the three buffer sizes in words and the bandwidth), after
// the limits check, which a memoized layer must still pass.
template <DataflowMapping Map>
LayerMetrics SimulateWithMapping(const ArchConfig& cfg, const LayerSpec& layer,
                                 const OperandMatrices& op) {
  if (cfg.bw_mode != BandwidthMode::kUser) return SimulateWithMappingUncached<Map>(cfg, layer, op);
  CheckLimitsWithMapping<Map>(cfg, layer, op);
  const LayerBuffers size = LayerBuffers::Of(cfg);
  SimCacheKey key = MemoKey(MemoKind::kUserLayer, cfg, layer, size.ifmap.total,
                            static_cast<int64_t>(cfg.bandwidth_words_per_cycle));
  key[14] = size.filter.total;
  key[15] = size.ofmap.total;
  const auto v = UserLayerMemo(key, [&] {
    return std::make_shared<const CachedUserLayer>(
        CachedUserLayer{SimulateWithMappingUncached<Map>(cfg, layer, op)});
  });
  LayerMetrics m = v->metrics;  // what the key leaves out comes from this call
  m.name = layer.name;
  m.word_bytes = cfg.word_bytes;
  m.weight_bits = cfg.weight_bits;
  m.act_bits = cfg.act_bits;
  return m;
}

}  // namespace qaccel::accel::detail
