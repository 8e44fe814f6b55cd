// SimulateLayer: walks the folds of one layer in SCALE-Sim's order (column
// folds outer, row folds inner) and feeds the demand rows that carry data
// through the buffer models, reproducing
// scalesim/memory/double_buffered_scratchpad_mem.py::service_memory_requests
// and scalesim/single_layer_sim.py::calc_report_data.
//
// Speed: rows without any demand cannot stall, so they are skipped; in CALC
// mode the IFMAP/filter buffers cannot stall either, and when an operand fits
// in one prefetch window its DRAM figures are analytic, so only the OFMAP
// rows of each fold are visited (a few per fold instead of T * R addresses),
// run by run where the OFMAP demand is linear (WriteBufferModel::
// AdvanceQuietRows). CALC sub-results that depend on only part of the design
// point (the OFMAP walk, the IFMAP window history, the address tables) are
// memoized across calls (sim_cache.h); docs/simulator.md has the argument.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <type_traits>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"
#include "qaccel/accel/memory_model.h"
#include "qaccel/accel/sim_cache.h"
#include "qaccel/core/error.h"

namespace qaccel::accel {

OperandMatrices::OperandMatrices(const LayerSpec& l)
    : m_(l.ofmap_h() * l.ofmap_w()),
      k_(l.window_size()),
      n_(l.num_filters),
      ifmap_h_(l.ifmap_h),
      ifmap_w_(l.ifmap_w),
      channels_(l.channels),
      filter_w_(l.filter_w) {
  const int64_t ow = l.ofmap_w(), oh = l.ofmap_h(), ch = l.channels;
  ifmap_space_ = l.ifmap_h * l.ifmap_w * ch;
  pix_row_.resize(m_);
  pix_col_.resize(m_);
  pix_base_.resize(m_);
  for (int64_t p = 0; p < m_; ++p) {
    pix_row_[p] = (p / ow) * l.stride_h;
    pix_col_[p] = (p % ow) * l.stride_w;
    pix_base_[p] = (pix_row_[p] * l.ifmap_w + pix_col_[p]) * ch;
  }
  win_row_.resize(k_);
  win_col_.resize(k_);
  win_ofs_.resize(k_);
  for (int64_t k = 0; k < k_; ++k) {
    win_row_[k] = k / (l.filter_w * ch);
    const int64_t rem = k % (l.filter_w * ch);
    win_col_[k] = rem / ch;
    win_ofs_[k] = (win_row_[k] * l.ifmap_w + win_col_[k]) * ch + rem % ch;
  }
  all_valid_ = (oh - 1) * l.stride_h + l.filter_h <= l.ifmap_h &&
               (ow - 1) * l.stride_w + l.filter_w <= l.ifmap_w;
  auto covered = [](int64_t n_out, int64_t stride, int64_t filt, int64_t size) {
    std::vector<char> hit(size, 0);
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t i = o * stride; i < std::min(size, o * stride + filt); ++i) hit[i] = 1;
    int64_t c = 0;
    for (char h : hit) c += h;
    return c;
  };
  ifmap_distinct_ = covered(oh, l.stride_h, l.filter_h, l.ifmap_h) *
                    covered(ow, l.stride_w, l.filter_w, l.ifmap_w) * ch;
}

namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void Validate(const ArchConfig& c, const LayerSpec& l) {
  auto pos = [&](int64_t v, const char* what) {
    if (v < 1)
      throw Error("layer '" + l.name + "': " + what + " must be >= 1 (got " + std::to_string(v) +
                  ")");
  };
  pos(l.ifmap_h, "IFMAP height");
  pos(l.ifmap_w, "IFMAP width");
  pos(l.filter_h, "filter height");
  pos(l.filter_w, "filter width");
  pos(l.channels, "channels");
  pos(l.num_filters, "number of filters");
  pos(l.stride_h, "stride height");
  pos(l.stride_w, "stride width");
  if (l.filter_h > l.ifmap_h)
    throw Error("layer '" + l.name + "': filter height is larger than the IFMAP height");
  if (l.filter_w > l.ifmap_w)
    throw Error("layer '" + l.name + "': filter width is larger than the IFMAP width");
  if (c.array_rows < 1 || c.array_cols < 1) throw Error("array rows and columns must be >= 1");
  if (c.word_bytes < 1) throw Error("word_bytes must be >= 1");
  for (double kb : {c.ifmap_sram_kb, c.filter_sram_kb, c.ofmap_sram_kb})
    if (!(kb > 0)) throw Error("SRAM sizes must be > 0 kB");
  if (c.bw_mode == BandwidthMode::kUser) {
    const double bw = c.bandwidth_words_per_cycle;
    if (!(bw >= 1) || bw != std::floor(bw))
      throw Error("USER bandwidth must be a whole number of words/cycle >= 1");
  }
}

using detail::CachedIfmapHistory;
using detail::CachedOfmapWalk;
using detail::StallTimeline;

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

// Memo key: the layer shape, the array, the dataflow and the given extras.
detail::SimCacheKey MemoKey(int64_t kind, const ArchConfig& c, const LayerSpec& l, int64_t words,
                            int64_t bw) {
  return {kind,         static_cast<int64_t>(c.dataflow),
          c.array_rows, c.array_cols,
          l.ifmap_h,    l.ifmap_w,
          l.filter_h,   l.filter_w,
          l.channels,   l.num_filters,
          l.stride_h,   l.stride_w,
          words,        bw};
}

// Filter streams are blocks of distinct addresses, each repeated m times
// (FilterBlocks); the window history then follows in O(1) per block: a window
// takes one new address per position until it closes at 50 N, or until it has
// seen the whole block (then later repeats are hits).
struct WindowHistory {
  int64_t closed = 0, open = 0, last_close_index = -1;
};
WindowHistory BlockWindowHistory(const std::vector<std::pair<int64_t, int64_t>>& blocks,
                                 int64_t W) {
  WindowHistory h;
  int64_t g0 = 0;
  for (const auto& [lp, m] : blocks) {
    const int64_t g1 = g0 + lp * m - 1;
    if (h.open + lp >= W) {
      int64_t x = g0 + (W - h.open) - 1;
      ++h.closed;
      if (W <= lp) {
        const int64_t more = (g1 - x) / W;
        h.closed += more;
        x += more * W;
        h.open = g1 - x;
      } else {
        h.open = std::min(lp, g1 - x);
      }
      h.last_close_index = x;
    } else {
      h.open += lp;
    }
    g0 = g1 + 1;
  }
  return h;
}

// IFMAP demand replayed through the CALC-mode window model, in demand order
// as far as it matters: a band of rows whose demand cannot close the window
// (count + ports * rows < 50 N) may be applied in any order, so it is applied
// as contiguous address ranges (one per pixel and filter row, from the
// mapping's IfmapRanges), where runs of 64 addresses already in the window
// cost O(1). Rows that could close the window are replayed address by
// address, in order, exactly as SCALE-Sim does.
template <class Map>
void IfmapWindows(const OperandMatrices& op, const Map& map, int64_t R, int64_t C,
                  int64_t row_folds, int64_t col_folds, int64_t L, EstimateReadBufferModel* est) {
  const int64_t ch = op.channels(), fw = op.filter_w(), H = op.ifmap_h(), Wd = op.ifmap_w();
  const int64_t span = fw * ch;  // window elements per filter row: contiguous addresses
  const int64_t window = est->window_elems();
  auto pixel_range = [&](int64_t p, int64_t ka, int64_t kb) {
    const int64_t pr = op.pix_row(p), pc = op.pix_col(p);
    const int64_t valid = std::min(span, (Wd - pc) * ch);  // ragged stride: columns past the edge
    for (int64_t k = ka; k < kb;) {
      const int64_t crow = k / span, k0 = crow * span;
      const int64_t end = std::min(kb, k0 + span);
      const int64_t y = pr + crow;
      if (y < H) {
        const int64_t lo = k - k0, hi = std::min(end - k0, valid);
        if (lo < hi) {
          const int64_t base = (y * Wd + pc) * ch;
          est->TouchRange(base + lo, base + hi);
        }
      }
      k = end;
    }
  };
  int64_t fidx = 0;
  for (int64_t fc = 0; fc < col_folds; ++fc) {
    for (int64_t fr = 0; fr < row_folds; ++fr, ++fidx) {
      Fold f;
      f.fr = fr;
      f.fc = fc;
      f.ru = std::min(R, map.Sr() - fr * R);
      f.cu = std::min(C, map.Sc() - fc * C);
      const int64_t ports = map.IfmapPorts(f), base = fidx * L;
      const int64_t first = map.IfmapFirstTau(f), last = map.IfmapLastTau(f);
      for (int64_t tau = first; tau <= last;) {
        const int64_t chunk = (window - est->count() - 1) / ports;
        if (chunk >= 1) {
          const int64_t tb = std::min(last + 1, tau + chunk);
          map.IfmapRanges(f, tau, tb, pixel_range);
          tau = tb;
        } else {
          map.Ifmap(f, tau, [&](int64_t a) { est->Access(a, base + tau); });
          ++tau;
        }
      }
    }
  }
}

template <class Map>
LayerMetrics RunWithMapping(const ArchConfig& cfg, const LayerSpec& layer,
                            const OperandMatrices& op, const Map& map) {
  const int64_t R = cfg.array_rows, C = cfg.array_cols;
  const int64_t row_folds = CeilDiv(map.Sr(), R), col_folds = CeilDiv(map.Sc(), C);
  const int64_t L = map.fold_len();
  const int64_t num_rows = row_folds * col_folds * L;
  auto fold_at = [&](int64_t fc, int64_t fr) {
    Fold f;
    f.fr = fr;
    f.fc = fc;
    f.ru = std::min(R, map.Sr() - fr * R);
    f.cu = std::min(C, map.Sc() - fc * C);
    return f;
  };

  LayerMetrics m;
  m.name = layer.name;
  m.macs = layer.macs();
  m.word_bytes = cfg.word_bytes;

  // ---- compute side: per-fold averages, SRAM request counts ----
  double map_eff_sum = 0, util_sum = 0;
  const double pes = static_cast<double>(R * C);
  for (int64_t fc = 0; fc < col_folds; ++fc) {
    for (int64_t fr = 0; fr < row_folds; ++fr) {
      const Fold f = fold_at(fc, fr);
      const int64_t mac_used = f.ru * f.cu;
      map_eff_sum += static_cast<double>(mac_used) / pes;
      util_sum +=
          static_cast<double>(mac_used * map.T()) / static_cast<double>(R * C * map.util_cycles());
      m.ifmap_sram_reads += map.ifmap_reads(f);
      m.filter_sram_reads += map.filter_reads(f);
      m.ofmap_sram_writes += map.ofmap_writes(f);
    }
  }
  const double num_folds = static_cast<double>(row_folds * col_folds);
  m.mapping_efficiency_pct = map_eff_sum / num_folds * 100;
  m.compute_util_pct = util_sum / num_folds * 100;

  // ---- memory side ----
  const bool user = cfg.bw_mode == BandwidthMode::kUser;
  const BufferSize if_size = BufferSize::FromBytes(1024.0 * cfg.ifmap_sram_kb, cfg.word_bytes);
  const BufferSize fi_size = BufferSize::FromBytes(1024.0 * cfg.filter_sram_kb, cfg.word_bytes);
  const BufferSize of_size = BufferSize::FromBytes(1024.0 * cfg.ofmap_sram_kb, cfg.word_bytes);
  const int64_t user_bw = static_cast<int64_t>(cfg.bandwidth_words_per_cycle);

  std::optional<UserReadBufferModel> if_user, fi_user;
  if (user) {
    auto order_of = [](const PrefetchLayout& pl, auto at) {
      std::vector<int64_t> order;
      order.reserve(static_cast<size_t>(pl.rows * pl.width));
      if (pl.diagonal) {
        // Anti-diagonals, each from the bottom row up (create_*_prefetch_mat).
        for (int64_t d = 0; d < pl.rows + pl.width - 1; ++d)
          for (int64_t r = std::min(d, pl.rows - 1), r0 = std::max<int64_t>(0, d - pl.width + 1);
               r >= r0; --r)
            order.push_back(at(r, d - r));
      } else {
        for (int64_t r = 0; r < pl.rows; ++r)
          for (int64_t c = 0; c < pl.width; ++c) order.push_back(at(r, c));
      }
      return order;
    };
    if (if_size.total < 1 || fi_size.total < 1) throw Error("SRAM holds no words");
    if_user.emplace(if_size, user_bw, op.ifmap_space(),
                    order_of(map.IfmapPrefetch(row_folds, col_folds),
                             [&](int64_t r, int64_t c) { return map.IfmapPrefetchAt(r, c); }));
    fi_user.emplace(fi_size, user_bw, op.filter_space(),
                    order_of(map.FilterPrefetch(row_folds, col_folds),
                             [&](int64_t r, int64_t c) { return map.FilterPrefetchAt(r, c); }));
  } else {
    // The CALC read buffers' size check (EstimateReadBufferModel), done
    // before the walk so that errors come in the same order as before.
    if (if_size.total / 100 <= 0 || fi_size.total / 100 <= 0)
      throw Error("SRAM holds fewer than 100 words; SCALE-Sim's read buffer needs at least 100");
  }
  // In CALC mode the read buffers never stall, so they are replayed after the
  // walk (below); the walk then only visits OFMAP rows.
  const bool sim_if = user;
  const bool sim_fi = user;

  // ---- walk the demand rows ----
  Span if_span, fi_span;
  auto walk = [&]() {
    auto w = std::make_shared<CachedOfmapWalk>();
    WriteBufferModel wbuf(of_size, user ? user_bw : C);
    int64_t stalls = 0;
    StallTimeline& timeline = w->timeline;
    Span of_span;
    int64_t last_row_ofmap_out = -1, last_row_stall = 0;
    bool last_row_seen = false;
    // Only OFMAP rows are walked (CALC): runs of rows may be advanced in bulk.
    const bool bulk = !sim_if && !sim_fi && SimBulkWalkEnabled();

    int64_t fold_index = 0;
    for (int64_t fc = 0; fc < col_folds; ++fc) {
      for (int64_t fr = 0; fr < row_folds; ++fr, ++fold_index) {
        const Fold f = fold_at(fc, fr);
        const int64_t base = fold_index * L;
        int64_t lo = map.OfmapFirstTau(f), hi = map.OfmapLastTau(f);
        if (sim_if) lo = std::min(lo, map.IfmapFirstTau(f)), hi = std::max(hi, map.IfmapLastTau(f));
        if (sim_fi)
          lo = std::min(lo, map.FilterFirstTau(f)), hi = std::max(hi, map.FilterLastTau(f));
        const Skew oskew = map.OfmapSkew(f);
        for (int64_t tau = lo; tau <= hi; ++tau) {
          const int64_t row = base + tau;
          const int64_t cycle = row + stalls;
          if (bulk) {
            // A run of rows whose OFMAP demand is linear in tau (ramp or
            // plateau of the skew), none of them the last row: skip the
            // leading rows that cannot stall or start a drain.
            const int64_t k = map.OfmapCount(f, tau), slope = oskew.slope(tau);
            const int64_t end = std::min({oskew.linear_run_end(tau), hi, num_rows - 2 - base});
            if (k > 0 && end > tau && map.OfmapCount(f, end) == k + slope * (end - tau)) {
              const int64_t done = wbuf.AdvanceQuietRows(k, slope, cycle, end - tau + 1);
              if (done > 0) {
                of_span.Add(cycle);
                of_span.Add(cycle + done - 1);
                tau += done - 1;
                continue;
              }
            }
          }
          int64_t stall = 0;
          if (sim_if) {
            bool any = false;
            int64_t out = cycle + 1;
            map.Ifmap(f, tau, [&](int64_t a) {
              any = true;
              out = if_user->Access(a, out);
            });
            if (any) if_span.Add(out);
            stall = std::max(stall, out - cycle - 1);
          }
          if (sim_fi) {
            bool any = false;
            int64_t out = cycle + 1;
            map.Filter(f, tau, [&](int64_t a) {
              any = true;
              out = fi_user->Access(a, out);
            });
            if (any) fi_span.Add(out);
            stall = std::max(stall, out - cycle - 1);
          }
          int64_t of_out = cycle;
          const int64_t k = map.OfmapCount(f, tau);
          if (k > 0) {
            of_out = wbuf.Service(k, cycle);
            of_span.Add(of_out);
            stall = std::max(stall, of_out - cycle);
          }
          if (row == num_rows - 1) {
            last_row_seen = true;
            last_row_ofmap_out = of_out;
            last_row_stall = stall;
          }
          if (stall > 0) {
            stalls += stall;
            timeline.Add(row, stall);
          }
        }
      }
    }

    // Total cycles = completion cycle of the OFMAP port in the last demand row.
    if (last_row_seen) {
      w->total_cycles = last_row_ofmap_out;
    } else {
      w->total_cycles = num_rows - 1 + stalls - last_row_stall;
    }
    w->stalls = stalls;
    wbuf.Finish(w->total_cycles);
    w->of_any = of_span.any;
    w->of_first = of_span.first;
    w->of_last = of_span.last;
    w->dram_writes = wbuf.accesses();
    w->dram_first = wbuf.first_cycle();
    w->dram_last = wbuf.last_cycle();
    return std::shared_ptr<const CachedOfmapWalk>(std::move(w));
  };
  // CALC: the walk sees only the OFMAP buffer (memoized, sim_cache.h).
  const std::shared_ptr<const CachedOfmapWalk> walked =
      user ? walk() : detail::OfmapWalkMemo(MemoKey(1, cfg, layer, of_size.total, C), walk);
  const StallTimeline& timeline = walked->timeline;
  m.total_cycles = walked->total_cycles;
  m.stall_cycles = walked->stalls;

  // SRAM trace start/stop for operands whose rows were not visited (CALC,
  // analytic DRAM): first/last row holding a valid address, + hit latency 1.
  auto scan_span = [&](auto row_has_data, auto first_tau, auto last_tau) {
    Span s;
    int64_t fidx = 0;
    for (int64_t fc = 0; fc < col_folds && !s.any; ++fc)
      for (int64_t fr = 0; fr < row_folds && !s.any; ++fr, ++fidx) {
        const Fold f = fold_at(fc, fr);
        for (int64_t tau = first_tau(f); tau <= last_tau(f); ++tau)
          if (row_has_data(f, tau)) {
            const int64_t row = fidx * L + tau;
            s.Add(timeline.Cycle(row) + 1);
            break;
          }
      }
    bool found = false;
    fidx = row_folds * col_folds - 1;
    for (int64_t fc = col_folds - 1; fc >= 0 && !found; --fc)
      for (int64_t fr = row_folds - 1; fr >= 0 && !found; --fr, --fidx) {
        const Fold f = fold_at(fc, fr);
        for (int64_t tau = last_tau(f); tau >= first_tau(f); --tau)
          if (row_has_data(f, tau)) {
            const int64_t row = fidx * L + tau;
            s.last = timeline.Cycle(row) + 1;
            found = true;
            break;
          }
      }
    return s;
  };
  if (!sim_if) {
    if_span = scan_span(
        [&](const Fold& f, int64_t tau) {
          bool any = false;
          map.Ifmap(f, tau, [&](int64_t) { any = true; });
          return any;
        },
        [&](const Fold& f) { return map.IfmapFirstTau(f); },
        [&](const Fold& f) { return map.IfmapLastTau(f); });
  }
  if (!sim_fi) {
    fi_span = scan_span(
        [&](const Fold& f, int64_t tau) {
          bool any = false;
          map.Filter(f, tau, [&](int64_t) { any = true; });
          return any;
        },
        [&](const Fold& f) { return map.FilterFirstTau(f); },
        [&](const Fold& f) { return map.FilterLastTau(f); });
  }
  m.ifmap_sram_start_cycle = if_span.first;
  m.ifmap_sram_stop_cycle = if_span.last;
  m.filter_sram_start_cycle = fi_span.first;
  m.filter_sram_stop_cycle = fi_span.last;
  m.ofmap_sram_start_cycle = walked->of_first;
  m.ofmap_sram_stop_cycle = walked->of_last;

  if (user) {
    m.ifmap_dram_reads = if_user->accesses();
    m.ifmap_dram_start_cycle = if_user->start_cycle();
    m.ifmap_dram_stop_cycle = if_user->stop_cycle();
    m.filter_dram_reads = fi_user->accesses();
    m.filter_dram_start_cycle = fi_user->start_cycle();
    m.filter_dram_stop_cycle = fi_user->stop_cycle();
  } else {
    // IFMAP: replay the demand in order through the window model, unless it
    // fits in one window. The window history does not depend on the stalls
    // (they only map its rows to cycles), so it is memoized per IFMAP size.
    const EstimateReadBufferModel if_probe(if_size, 0,
                                           op.ifmap_distinct());  // no per-address state
    EstimateReadBufferModel::Result ri;
    if (!if_probe.needs_simulation()) {
      ri = if_probe.FinishAnalytic();
    } else {
      const auto h = detail::IfmapHistoryMemo(MemoKey(2, cfg, layer, if_size.total, 0), [&]() {
        EstimateReadBufferModel est(if_size, op.ifmap_space(), op.ifmap_distinct());
        IfmapWindows(op, map, R, C, row_folds, col_folds, L, &est);
        auto r = std::make_shared<CachedIfmapHistory>();
        r->closed = est.closed();
        r->open = est.count();
        r->last_close_row = est.last_close_row();
        return std::shared_ptr<const CachedIfmapHistory>(std::move(r));
      });
      ri =
          if_probe.Finish(h->closed, h->open, if_span.first - 1, timeline.Cycle(h->last_close_row));
    }
    // Filter: closed form over its block structure.
    EstimateReadBufferModel::Result rf;
    {
      const EstimateReadBufferModel fi_est(fi_size, 0,
                                           op.filter_space());  // closed form, no per-address state
      const WindowHistory h =
          BlockWindowHistory(map.FilterBlocks(row_folds, col_folds), fi_est.window_elems());
      int64_t close_cycle = 0;
      if (h.closed > 0) {
        // Demand row of the last closing address: find its fold, then its row.
        int64_t g = h.last_close_index, fidx = 0, row = -1;
        for (int64_t fc = 0; fc < col_folds && row < 0; ++fc)
          for (int64_t fr = 0; fr < row_folds && row < 0; ++fr, ++fidx) {
            const Fold f = fold_at(fc, fr);
            const int64_t n = map.filter_reads(f);
            if (g >= n) {
              g -= n;
              continue;
            }
            for (int64_t tau = map.FilterFirstTau(f);; ++tau) {
              int64_t cnt = 0;
              map.Filter(f, tau, [&](int64_t) { ++cnt; });
              if (g < cnt) {
                row = fidx * L + tau;
                break;
              }
              g -= cnt;
            }
          }
        close_cycle = timeline.Cycle(row);
      }
      rf = fi_est.Finish(h.closed, h.open, fi_span.first - 1, close_cycle);
    }
    m.ifmap_dram_reads = ri.reads;
    m.ifmap_dram_start_cycle = ri.start_cycle;
    m.ifmap_dram_stop_cycle = ri.stop_cycle;
    m.filter_dram_reads = rf.reads;
    m.filter_dram_start_cycle = rf.start_cycle;
    m.filter_dram_stop_cycle = rf.stop_cycle;
  }
  m.ofmap_dram_writes = walked->dram_writes;
  m.ofmap_dram_start_cycle = walked->dram_first;
  m.ofmap_dram_stop_cycle = walked->dram_last;

  // ---- report arithmetic (single_layer_sim.calc_report_data) ----
  const double tc = static_cast<double>(m.total_cycles);
  if (m.total_cycles > 0) {
    m.overall_util_pct = static_cast<double>(m.macs * 100) / (tc * pes);
    m.avg_ifmap_sram_bw = static_cast<double>(m.ifmap_sram_reads) / tc;
    m.avg_filter_sram_bw = static_cast<double>(m.filter_sram_reads) / tc;
    m.avg_ofmap_sram_bw = static_cast<double>(m.ofmap_sram_writes) / tc;
  }
  auto dram_bw = [](int64_t n, int64_t start, int64_t stop) {
    return static_cast<double>(n) / static_cast<double>(stop - start + 1);
  };
  m.avg_ifmap_dram_bw =
      dram_bw(m.ifmap_dram_reads, m.ifmap_dram_start_cycle, m.ifmap_dram_stop_cycle);
  m.avg_filter_dram_bw =
      dram_bw(m.filter_dram_reads, m.filter_dram_start_cycle, m.filter_dram_stop_cycle);
  m.avg_ofmap_dram_bw =
      dram_bw(m.ofmap_dram_writes, m.ofmap_dram_start_cycle, m.ofmap_dram_stop_cycle);
  return m;
}

}  // namespace

LayerMetrics SimulateLayer(const ArchConfig& config, const LayerSpec& layer) {
  Validate(config, layer);
  // The layer's address tables depend on its shape only (memoized, sim_cache.h).
  const auto op_ptr = detail::OperandMatricesMemo(MemoKey(3, ArchConfig{}, layer, 0, 0), [&] {
    return std::make_shared<const OperandMatrices>(layer);
  });
  const OperandMatrices& op = *op_ptr;
  // The dataflow registry: the one place a mapping is chosen.
  switch (config.dataflow) {
    case Dataflow::kOutputStationary:
      return RunWithMapping(config, layer, op,
                            OutputStationaryMapping(op, config.array_rows, config.array_cols));
    case Dataflow::kWeightStationary:
      return RunWithMapping(config, layer, op,
                            WeightStationaryMapping(op, config.array_rows, config.array_cols));
    case Dataflow::kInputStationary:
      return RunWithMapping(config, layer, op,
                            InputStationaryMapping(op, config.array_rows, config.array_cols));
  }
  throw Error("unknown dataflow");
}

}  // namespace qaccel::accel
