// Dataflow mappings: how SCALE-Sim v2 lays one layer onto the array, fold by
// fold, and which operand addresses each array edge demands in each cycle.
//
// SCALE-Sim materializes three "demand matrices" (one row per cycle, one
// column per array edge port) and pushes them through its memory model. We
// never build them: each mapping answers, for fold f and local cycle tau,
// which addresses row `f * fold_len + tau` of each demand matrix holds.
// The formulas are derived from scalesim/compute/systolic_compute_{os,ws,is}.py
// (skew, flip, prefix/suffix padding of every fold) and are documented per
// dataflow below. One class per dataflow, all with the same method set; the
// single place that picks one is simulate.cpp (RunWithMapping).
//
// Operand matrices (scalesim/compute/operand_matrix.py), all row-major:
//   ifmap  M x K: ifmap_op(p, k)  = address of input pixel under window
//                  element k of output pixel p (or -1 when it falls outside
//                  the IFMAP: happens when the stride does not divide
//                  IFMAP - filter);
//   filter K x N: filter_op(k, n) = n * K + k;
//   ofmap  M x N: ofmap_op(p, n)  = p * N + n.
// M = ofmap pixels, K = filter_h * filter_w * channels, N = filters.
// Addresses here are "dense indices" (address - operand offset), since the
// memory model only needs identity of addresses, not their values.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"

namespace qaccel::accel {

// a / b for a >= 0, b >= 1, in 32 bits when a fits (a 32-bit division is
// several times faster than a 64-bit one on older x86 cores; the USER-mode
// replay divides per prefetch entry it inverts).
inline int64_t NarrowDiv(int64_t a, int64_t b) {
  if ((static_cast<uint64_t>(a) | static_cast<uint64_t>(b)) <= 0xffffffffu)
    return static_cast<uint32_t>(a) / static_cast<uint32_t>(b);
  return a / b;
}

// Address arithmetic of the three operand matrices of one layer.
class OperandMatrices {
 public:
  explicit OperandMatrices(const LayerSpec& l);

  int64_t M() const { return m_; }
  int64_t K() const { return k_; }
  int64_t N() const { return n_; }
  int64_t ifmap_space() const { return ifmap_space_; }  // dense ifmap index range
  int64_t filter_space() const { return k_ * n_; }
  // Number of distinct valid ifmap addresses the layer touches.
  int64_t ifmap_distinct() const { return ifmap_distinct_; }

  // Dense ifmap index of ifmap_op(p, k), or -1.
  int64_t Ifmap(int64_t p, int64_t k) const {
    const int64_t r = pix_row(p) + win_row_[k];
    const int64_t c = pix_col(p) + win_col_[k];
    if (r >= ifmap_h_ || c >= ifmap_w_) return -1;
    return pix_base(p) + win_ofs_[k];
  }
  int64_t Filter(int64_t k, int64_t n) const { return n * k_ + k; }
  // The inverses: fn(p, k) for every (p, k) with Ifmap(p, k) == a (the
  // windows over IFMAP pixel a / channels: at most ceil(filter / stride)
  // per axis; output row by row, until fn returns true if it returns a
  // bool), and the one (k, n) with Filter(k, n) == a.
  template <class Fn>
  void ForEachIfmapUse(int64_t a, Fn&& fn) const {
    const int64_t pix = NarrowDiv(a, channels_), ch = a - pix * channels_;
    const int64_t y = NarrowDiv(pix, ifmap_w_), x = pix - y * ifmap_w_;
    auto first = [](int64_t pos, int64_t filt, int64_t stride) {  // ceil((pos - filt + 1) / stride)
      const int64_t lo = pos - filt + 1;
      return lo <= 0 ? int64_t{0} : NarrowDiv(lo + stride - 1, stride);
    };
    const int64_t oy0 = first(y, filter_h_, stride_h_),
                  oy1 = std::min(ofmap_h_ - 1, NarrowDiv(y, stride_h_));
    const int64_t ox0 = first(x, filter_w_, stride_w_),
                  ox1 = std::min(ofmap_w_ - 1, NarrowDiv(x, stride_w_));
    for (int64_t oy = oy0; oy <= oy1; ++oy)
      for (int64_t ox = ox0; ox <= ox1; ++ox) {
        const int64_t p = oy * ofmap_w_ + ox;
        const int64_t k = ((y - oy * stride_h_) * filter_w_ + x - ox * stride_w_) * channels_ + ch;
        if constexpr (std::is_same_v<decltype(fn(p, k)), bool>) {
          if (fn(p, k)) return;  // fn returning true ends the enumeration
        } else {
          fn(p, k);
        }
      }
  }
  std::pair<int64_t, int64_t> FilterUse(int64_t a) const { return {a % k_, a / k_}; }

  // Geometry for the location-level IFMAP walk (simulate.cpp).
  int64_t channels() const { return channels_; }
  int64_t filter_w() const { return filter_w_; }
  int64_t ifmap_h() const { return ifmap_h_; }
  int64_t ifmap_w() const { return ifmap_w_; }
  int64_t ofmap_w() const { return ofmap_w_; }
  int64_t stride_w() const { return stride_w_; }
  // Per output pixel: top-left IFMAP row / column of its window and the dense
  // index there. Tabled for up to kPixelTableMax pixels; computed (one
  // division) above, so a 4-megapixel layer does not hold 100 MB of tables.
  int64_t pix_row(int64_t p) const {
    return pix_row_.empty() ? p / ofmap_w_ * stride_h_ : pix_row_[p];
  }
  int64_t pix_col(int64_t p) const {
    return pix_col_.empty() ? p % ofmap_w_ * stride_w_ : pix_col_[p];
  }
  int64_t pix_base(int64_t p) const {
    return pix_base_.empty() ? (pix_row(p) * ifmap_w_ + pix_col(p)) * channels_ : pix_base_[p];
  }
  static constexpr int64_t kPixelTableMax = int64_t{1} << 20;
  // No window element of any output pixel falls outside the IFMAP (the
  // strides divide IFMAP - filter): every ifmap_op(p, k) is a valid address.
  bool all_valid() const { return all_valid_; }
  // Pixels p in [0, P) whose window element k is a valid address (the
  // invalid ones are the last OFMAP rows / columns, whose window leaves a
  // ragged IFMAP edge).
  int64_t ValidPixelsBefore(int64_t k, int64_t P) const {
    if (all_valid_) return P;
    const int64_t rows = std::min(ofmap_h_, (ifmap_h_ - 1 - win_row_[k]) / stride_h_ + 1);
    const int64_t cols = std::min(ofmap_w_, (ifmap_w_ - 1 - win_col_[k]) / stride_w_ + 1);
    const int64_t full = P / ofmap_w_, rem = P % ofmap_w_;
    return std::min(full, rows) * cols + (full < rows ? std::min(rem, cols) : 0);
  }
  // Do the window elements [k0, k1) of all output pixels name pairwise
  // different addresses? (Two elements of one channel at tap offsets that
  // differ by a difference of two pixel positions would meet.) Conservative:
  // false when the check would take more than ~10^6 steps.
  bool WindowRangeDistinct(int64_t k0, int64_t k1) const;
  // Do window elements [a0, a1) and [b0, b1) of any pixels never name the
  // same address? Conservative (false) beyond ~10^6 steps, and for
  // overlapping ranges.
  bool WindowRangesDisjoint(int64_t a0, int64_t a1, int64_t b0, int64_t b1) const;
  std::size_t bytes() const {
    return sizeof(*this) + 8 * (3 * pix_row_.size() + 3 * win_row_.size());
  }

 private:
  int64_t m_, k_, n_;
  int64_t ifmap_h_, ifmap_w_, channels_, filter_h_, filter_w_;
  int64_t ofmap_h_ = 1, ofmap_w_ = 1, stride_h_ = 1, stride_w_ = 1;
  bool all_valid_ = true;
  // Window elements a != b (same channel) meet at one address for some pair
  // of pixels.
  bool TapsMeet(int64_t a, int64_t b) const;
  int64_t NextMeetingTap(int64_t ta) const;
  int64_t ifmap_space_, ifmap_distinct_;
  std::vector<int64_t> pix_row_, pix_col_, pix_base_;  // per output pixel
  std::vector<int64_t> win_row_, win_col_, win_ofs_;   // per window element
};

// One fold: rows [fr*R, fr*R + ru) and cols [fc*C, fc*C + cu) of the mapping.
struct Fold {
  int64_t fr = 0, fc = 0;
  int64_t ru = 0, cu = 0;  // rows / cols of the array actually mapped
};

// A "skewed stream" inside a fold: at local cycle tau, port j (j < used)
// carries element u = tau - start - j of its column when 0 <= u < len
// (SCALE-Sim's skew_matrix applied after `start` rows of null prefix).
struct Skew {
  int64_t start, len, used;
  // ports carrying data at tau: [lo, hi] (empty when lo > hi)
  int64_t lo(int64_t tau) const { return std::max<int64_t>(0, tau - start - (len - 1)); }
  int64_t hi(int64_t tau) const { return std::min<int64_t>(used - 1, tau - start); }
  int64_t last_tau() const { return start + len - 1 + used - 1; }
  // The number of ports carrying data, hi - lo + 1, is piecewise linear in
  // tau: from tau to tau + 1 it changes by slope(tau) = [hi still rises] -
  // [lo already rises], i.e. +1, 0 or -1. hi rises up to tau = start + used - 1,
  // lo from tau = start + len on. linear_run_end(tau) is the last row t (up
  // to last_tau) such that every step in [tau, t) has slope(tau): rows tau..t
  // carry count(tau) + slope(tau) * (t' - tau) elements.
  int64_t slope(int64_t tau) const {
    return (tau + 1 <= start + used - 1 ? 1 : 0) - (tau + 1 >= start + len ? 1 : 0);
  }
  int64_t linear_run_end(int64_t tau) const {
    int64_t end = last_tau();
    for (int64_t b :
         {start + used - 1, start + len - 1})  // the steps after these rows change slope
      if (b > tau) end = std::min(end, b);
    return std::max(end, tau);
  }
  // Elements carried by the rows before tau: sum of count(t), t < tau. With
  // x = t - start, count = min(used, x + 1) - max(0, x - len + 1) for
  // 0 <= x < len + used - 1, zero elsewhere.
  int64_t count_before(int64_t tau) const {
    const int64_t n = std::clamp<int64_t>(tau - start, 0, len + used - 1);
    const int64_t rise = n <= used ? n * (n + 1) / 2 : used * (used + 1) / 2 + (n - used) * used;
    const int64_t m = n - len;
    return rise - (m > 0 ? m * (m + 1) / 2 : 0);
  }
  // Ports carrying data at tau.
  int64_t count(int64_t tau) const {
    const int64_t l = lo(tau), h = hi(tau);
    return h >= l ? h - l + 1 : 0;
  }
};

// Prefetch order of one operand (USER bandwidth mode): SCALE-Sim stacks the
// per-fold operand tiles, `len` rows each, into a (folds * len) x width
// matrix and reads it either along anti-diagonals (ISSUE #15 fix) or
// row-major. Row r of the stack is element t = r % len of fold r / len; its
// column c is index i = (r / len) * width + c of the mapped dimension
// (padding when i >= bound); the operand address is op(i, t) when
// index_first, else op(t, i).
struct PrefetchLayout {
  int64_t folds = 0, len = 0, width = 0, bound = 0;
  bool diagonal = false, index_first = false;
  int64_t rows() const { return folds * len; }
};

// Positions in a prefetch order (the dense one PrefetchOrder lists) in closed
// form, for a stack whose only invalid entries are the padding (i >= bound:
// the last fold's columns from wlast = bound - (folds - 1) width on). Its
// valid index (the count of valid entries before it) of entry (i, t):
//   row-major: (folds before) len width + t w(q) + c, w(q) = width or, in the
//              last fold, wlast;
//   diagonal:  valid entries before its anti-diagonal d = r + c (tabled,
//              rows + width values) + the valid entries of d below it in the
//              order (d is read from its bottom row up: the rows (r, r1] of
//              d, less those of the last fold whose column d - r' >= wlast).
class StackPositions {
 public:
  explicit StackPositions(const PrefetchLayout& pl)
      : pl_(pl), last_row0_((pl.folds - 1) * pl.len), wlast_(pl.bound - (pl.folds - 1) * pl.width) {
    if (!pl.diagonal) return;
    const int64_t rows = pl.rows();
    starts_.reserve(static_cast<size_t>(rows + pl.width));
    int64_t valid = 0;
    for (int64_t d = 0; d < rows + pl.width - 1; ++d) {
      starts_.push_back(valid);
      const int64_t r1 = std::min(d, rows - 1), r0 = std::max<int64_t>(0, d - pl.width + 1);
      valid += r1 - r0 + 1 - Padding(d, r0, r1);
    }
    starts_.push_back(valid);
  }
  int64_t valid() const { return pl_.len * pl_.bound; }
  int64_t entries() const { return pl_.rows() * pl_.width; }
  // Valid entries before each anti-diagonal and the total (diagonal layouts):
  // PrefetchOrder's diag_starts.
  const std::vector<int64_t>& diagonal_starts() const { return starts_; }
  // The valid index of valid entry (i, t).
  int64_t Of(int64_t i, int64_t t) const {
    const int64_t q = NarrowDiv(i, pl_.width), c = i - q * pl_.width, r = q * pl_.len + t;
    if (!pl_.diagonal)
      return q * pl_.len * pl_.width + t * (r >= last_row0_ ? wlast_ : pl_.width) + c;
    const int64_t d = r + c, r1 = std::min(d, pl_.rows() - 1);
    return starts_[static_cast<size_t>(d)] + (r1 - r) - Padding(d, r + 1, r1);
  }

 private:
  // Padding entries among rows [a, b] of anti-diagonal d.
  int64_t Padding(int64_t d, int64_t a, int64_t b) const {
    return std::max<int64_t>(0, std::min(b, d - wlast_) - std::max(a, last_row0_) + 1);
  }
  PrefetchLayout pl_;
  int64_t last_row0_, wlast_;  // the last fold's first row, its valid columns
  std::vector<int64_t> starts_;
};

// Bytes each useful MAC moves inside the PE array (energy.h): from the PE's
// register file, and over inter-PE links.
struct PerMacTraffic {
  int64_t rf_bytes = 0, link_bytes = 0;
};

// Address sinks used to state the interface (any callable of the same shape
// works).
using AddressSink = void (*)(int64_t address);
using IfmapRangeSink = void (*)(int64_t pixel, int64_t k_begin, int64_t k_end);

// What a dataflow mapping provides. Sr x Sc is the mapped matrix (rows on the
// array rows, columns on the array columns) and T its temporal length; a
// fold is one R x C tile of it; tau is the local cycle (demand row) inside a
// fold of fold_len() rows.
template <class M>
concept DataflowMapping = requires(const M& m, const Fold& f, int64_t tau, int64_t n, int64_t wb,
                                   AddressSink sink, IfmapRangeSink ranges) {
  // The per-MAC traffic for the energy model (word and partial-sum bytes in).
  { M::PerMac(wb, wb) } -> std::same_as<PerMacTraffic>;
  requires std::constructible_from<M, const OperandMatrices&, int64_t, int64_t>;
  // Shape and per-fold counts.
  { m.Sr() } -> std::same_as<int64_t>;
  { m.Sc() } -> std::same_as<int64_t>;
  { m.T() } -> std::same_as<int64_t>;
  { m.fold_len() } -> std::same_as<int64_t>;
  { m.util_cycles() } -> std::same_as<int64_t>;   // compute-util cycles per fold
  { m.ifmap_reads(f) } -> std::same_as<int64_t>;  // SRAM reads / writes per fold
  { m.filter_reads(f) } -> std::same_as<int64_t>;
  { m.ofmap_writes(f) } -> std::same_as<int64_t>;
  // Operand demand: the rows [first, last] that may carry data, and the
  // dense addresses row tau carries (in port order).
  { m.IfmapFirstTau(f) } -> std::same_as<int64_t>;
  { m.IfmapLastTau(f) } -> std::same_as<int64_t>;
  { m.FilterFirstTau(f) } -> std::same_as<int64_t>;
  { m.FilterLastTau(f) } -> std::same_as<int64_t>;
  m.Ifmap(f, tau, sink);
  m.Filter(f, tau, sink);
  // The operand arguments (op(x, y)) of the first address each names at a
  // row with data; the row's addresses are consecutive entries of the
  // operand's prefetch order from there (USER mode, ServiceReadRow).
  { m.IfmapRowFirst(f, tau) } -> std::same_as<std::pair<int64_t, int64_t>>;
  // ... and the step of the IFMAP's arguments from one address of a row to the next.
  { m.IfmapRowStep() } -> std::same_as<std::pair<int64_t, int64_t>>;
  { m.FilterRowFirst(f, tau) } -> std::same_as<std::pair<int64_t, int64_t>>;
  // IFMAP demand of rows [ta, tb) as (pixel, window range) pieces, and the
  // number of ports that carry it (order-free replay, simulate_stages.h).
  { m.IfmapPorts(f) } -> std::same_as<int64_t>;
  m.IfmapRanges(f, tau, tau, ranges);
  // Filter demand as blocks of (distinct addresses, repeats), in order.
  { m.FilterBlocks(n, n) } -> std::same_as<std::vector<std::pair<int64_t, int64_t>>>;
  // OFMAP elements written per row: a skew.
  { m.OfmapSkew(f) } -> std::same_as<Skew>;
  // USER-mode prefetch order of each operand (row_folds, col_folds in).
  { m.IfmapPrefetch(n, n) } -> std::same_as<PrefetchLayout>;
  { m.FilterPrefetch(n, n) } -> std::same_as<PrefetchLayout>;
};

// A dataflow modelled in closed form instead of a demand-matrix replay
// (dataflow_rs.h): its per-MAC fallback traffic, the whole layer's metrics
// (filling LayerMetrics' counted array traffic), and its limits check.
template <class M>
concept AnalyticalDataflow = requires(const ArchConfig& c, const LayerSpec& l,
                                      const OperandMatrices& op, int64_t wb) {
  { M::PerMac(wb, wb) } -> std::same_as<PerMacTraffic>;
  { M::Simulate(c, l, op) } -> std::same_as<LayerMetrics>;
  M::CheckLimits(c, l, op);
};

// Geometry every mapping carries: the operand tables, the array, and the
// mapped matrix Sr x Sc with temporal length T.
class MappingGeometry {
 public:
  MappingGeometry(const OperandMatrices& op, int64_t rows, int64_t cols, int64_t sr, int64_t sc,
                  int64_t t)
      : op_(op), R_(rows), C_(cols), Sr_(sr), Sc_(sc), T_(t) {}
  int64_t Sr() const { return Sr_; }
  int64_t Sc() const { return Sc_; }
  int64_t T() const { return T_; }

 protected:
  const OperandMatrices& op_;
  int64_t R_, C_, Sr_, Sc_, T_;
};

// What weight and input stationary share (systolic_compute_{ws,is}.py): the
// stationary operand's R x C tile is preloaded, row-flipped, in the first R
// rows of each fold (row tau < R loads tile row R-1-tau, when that row is
// mapped); the moving operand streams in as a skew from row R; the OFMAP
// leaves as a skew from row 2R-1. Fold length T + 2R + C - 2, compute-util
// cycles T + 2R + 2C - 3, OFMAP writes T * cu per fold.
class PreloadedStationaryMapping : public MappingGeometry {
 public:
  using MappingGeometry::MappingGeometry;
  // The stationary operand is read from the PE's register every MAC; the
  // moving operand and the partial sum hop one PE per MAC.
  static PerMacTraffic PerMac(int64_t word_bytes, int64_t psum_bytes) {
    return {word_bytes, word_bytes + psum_bytes};
  }
  int64_t fold_len() const { return T_ + 2 * R_ + C_ - 2; }
  int64_t util_cycles() const { return T_ + 2 * R_ + 2 * C_ - 3; }
  int64_t ofmap_writes(const Fold& f) const { return T_ * f.cu; }
  Skew OfmapSkew(const Fold& f) const { return {2 * R_ - 1, T_, f.cu}; }

 protected:
  // The preload rows [R - ru, R - 1] and, at row tau, the mapped row index
  // (into Sr) it loads; false outside the preload.
  int64_t PreloadFirstTau(const Fold& f) const { return R_ - f.ru; }
  int64_t PreloadLastTau(const Fold&) const { return R_ - 1; }
  bool PreloadRow(const Fold& f, int64_t tau, int64_t* row) const {
    if (tau < R_ - f.ru || tau >= R_) return false;
    *row = f.fr * R_ + R_ - 1 - tau;
    return true;
  }
  // The moving operand: port r carries element u = tau - R - r.
  Skew StreamSkew(const Fold& f) const { return {R_, T_, f.ru}; }
  // Preload rows [ta, tb) as the mapped row range [first, end) they load.
  bool PreloadRange(const Fold& f, int64_t ta, int64_t tb, int64_t* first, int64_t* end) const {
    const int64_t t0 = std::max(ta, R_ - f.ru), t1 = std::min(tb, R_);
    if (t0 >= t1) return false;
    *first = f.fr * R_ + R_ - t1;
    *end = f.fr * R_ + R_ - t0;
    return true;
  }
};

}  // namespace qaccel::accel
