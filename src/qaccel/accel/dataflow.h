// Dataflow mappings: how SCALE-Sim v2 lays one layer onto the array, fold by
// fold, and which operand addresses each array edge demands in each cycle.
//
// SCALE-Sim materializes three "demand matrices" (one row per cycle, one
// column per array edge port) and pushes them through its memory model. We
// never build them: each mapping below answers, for fold f and local cycle
// tau, which addresses row `f * fold_len + tau` of each demand matrix holds.
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
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "qaccel/accel/cost_model.h"

namespace qaccel::accel {

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
  bool ifmap_all_valid() const { return all_valid_; }

  // Dense ifmap index of ifmap_op(p, k), or -1.
  int64_t Ifmap(int64_t p, int64_t k) const {
    const int64_t r = pix_row_[p] + win_row_[k];
    const int64_t c = pix_col_[p] + win_col_[k];
    if (r >= ifmap_h_ || c >= ifmap_w_) return -1;
    return pix_base_[p] + win_ofs_[k];
  }
  int64_t Filter(int64_t k, int64_t n) const { return n * k_ + k; }

  // Geometry for the location-level IFMAP walk (simulate.cpp).
  int64_t channels() const { return channels_; }
  int64_t filter_w() const { return filter_w_; }
  int64_t ifmap_h() const { return ifmap_h_; }
  int64_t ifmap_w() const { return ifmap_w_; }
  int64_t pix_row(int64_t p) const { return pix_row_[p]; }
  int64_t pix_col(int64_t p) const { return pix_col_[p]; }
  std::size_t bytes() const {
    return sizeof(*this) + 8 * (3 * pix_row_.size() + 3 * win_row_.size());
  }

 private:
  int64_t m_, k_, n_;
  int64_t ifmap_h_, ifmap_w_, channels_, filter_w_;
  int64_t ifmap_space_, ifmap_distinct_;
  bool all_valid_;
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
  int64_t first_tau() const { return start; }
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
};

// Prefetch order of one operand (USER bandwidth mode): SCALE-Sim stacks the
// per-fold operand tiles into a (blocks * rows) x width matrix and reads it
// either along anti-diagonals (ISSUE #15 fix) or row-major.
struct PrefetchLayout {
  int64_t rows = 0, width = 0;
  bool diagonal = false;
};

// ---------------------------------------------------------------- OS ----
// Output stationary (systolic_compute_os.py). Sr = M (pixels on rows),
// Sc = N (filters on cols), T = K. Fold length T + R + C - 2.
//   ifmap  port r: skew(start 0, len T), element ifmap_op(fr*R + r, u)
//   filter port c: skew(start 0, len T), element filter_op(u, fc*C + c)
//   ofmap  port c: skew(start T-1, len R) over the row-flipped output tile;
//                  flipped row u holds pixel fr*R + R-1-u (valid when u >= R-ru)
//   compute-util cycles per fold: T + R + C - 2
//   SRAM reads per fold: ifmap T*ru, filter T*cu; OFMAP writes ru*cu + R + C
//   (the "+ R + C" is SCALE-Sim's double count of the flipped tile shape, kept).
class OutputStationaryMapping {
 public:
  OutputStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : op_(op), R_(rows), C_(cols), Sr_(op.M()), Sc_(op.N()), T_(op.K()) {}
  int64_t Sr() const { return Sr_; }
  int64_t Sc() const { return Sc_; }
  int64_t T() const { return T_; }
  int64_t fold_len() const { return T_ + R_ + C_ - 2; }
  int64_t util_cycles() const { return T_ + R_ + C_ - 2; }
  int64_t ifmap_reads(const Fold& f) const { return T_ * f.ru; }
  int64_t filter_reads(const Fold& f) const { return T_ * f.cu; }
  int64_t ofmap_writes(const Fold& f) const { return f.ru * f.cu + R_ + C_; }

  // Filter demand = per column fold, one sequence of T*cu distinct
  // addresses repeated for each of the row_folds row folds.
  std::vector<std::pair<int64_t, int64_t>> FilterBlocks(int64_t row_folds,
                                                        int64_t col_folds) const {
    std::vector<std::pair<int64_t, int64_t>> b;
    for (int64_t fc = 0; fc < col_folds; ++fc)
      b.emplace_back(T_ * std::min(C_, Sc_ - fc * C_), row_folds);
    return b;
  }

  Skew IfmapSkew(const Fold& f) const { return {0, T_, f.ru}; }
  Skew FilterSkew(const Fold& f) const { return {0, T_, f.cu}; }
  int64_t IfmapFirstTau(const Fold& f) const { return 0; }
  int64_t IfmapLastTau(const Fold& f) const { return IfmapSkew(f).last_tau(); }
  int64_t FilterFirstTau(const Fold& f) const { return 0; }
  int64_t FilterLastTau(const Fold& f) const { return FilterSkew(f).last_tau(); }
  template <class Fn>
  void Ifmap(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = IfmapSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r) {
      const int64_t a = op_.Ifmap(f.fr * R_ + r, tau - r);
      if (a >= 0) fn(a);
    }
  }
  template <class Fn>
  void Filter(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = FilterSkew(f);
    for (int64_t c = s.lo(tau), e = s.hi(tau); c <= e; ++c) fn(op_.Filter(tau - c, f.fc * C_ + c));
  }
  // IFMAP demand of rows [ta, tb) as (pixel, window range [ka, kb)) pieces.
  int64_t IfmapPorts(const Fold& f) const { return f.ru; }
  template <class Fn>
  void IfmapRanges(const Fold& f, int64_t ta, int64_t tb, Fn&& fn) const {
    for (int64_t r = 0; r < f.ru; ++r) {
      const int64_t ka = std::max<int64_t>(0, ta - r), kb = std::min(T_, tb - r);
      if (ka < kb) fn(f.fr * R_ + r, ka, kb);
    }
  }
  // OFMAP elements written at tau: ports c < cu with u = tau-(T-1)-c in [R-ru, R).
  int64_t OfmapFirstTau(const Fold& f) const { return T_ - 1 + (R_ - f.ru); }
  int64_t OfmapLastTau(const Fold& f) const { return T_ - 1 + R_ - 1 + f.cu - 1; }
  // The same count as a skew (for the bulk walk): port c carries data while
  // tau - (T-1+R-ru) - c is in [0, ru).
  Skew OfmapSkew(const Fold& f) const { return {T_ - 1 + R_ - f.ru, f.ru, f.cu}; }
  int64_t OfmapCount(const Fold& f, int64_t tau) const {
    const int64_t x = tau - (T_ - 1);
    const int64_t lo = std::max<int64_t>(0, x - (R_ - 1));
    const int64_t hi = std::min<int64_t>(f.cu - 1, x - (R_ - f.ru));
    return hi >= lo ? hi - lo + 1 : 0;
  }

  PrefetchLayout IfmapPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds * T_, R_, true};
  }
  int64_t IfmapPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fr = row / T_, t = row % T_, p = fr * R_ + col;
    return p < Sr_ ? op_.Ifmap(p, t) : -1;
  }
  PrefetchLayout FilterPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds * T_, C_, true};
  }
  int64_t FilterPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fc = row / T_, t = row % T_, n = fc * C_ + col;
    return n < Sc_ ? op_.Filter(t, n) : -1;
  }

 private:
  const OperandMatrices& op_;
  int64_t R_, C_, Sr_, Sc_, T_;
};

// ---------------------------------------------------------------- WS ----
// Weight stationary (systolic_compute_ws.py). Sr = K (window on rows),
// Sc = N (filters on cols), T = M. Fold length T + 2R + C - 2.
//   ifmap  port r: skew(start R, len T), element ifmap_op(u, fr*R + r)
//   filter: no skew; at tau < R all ports c < cu load filter_op(fr*R + R-1-tau,
//           fc*C + c) when R-1-tau < ru (the tile is row-flipped)
//   ofmap  port c: skew(start 2R-1, len T)
//   compute-util cycles per fold: T + 2R + 2C - 3
//   SRAM reads per fold: ifmap T*ru, filter ru*cu; OFMAP writes T*cu.
class WeightStationaryMapping {
 public:
  WeightStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : op_(op), R_(rows), C_(cols), Sr_(op.K()), Sc_(op.N()), T_(op.M()) {}
  int64_t Sr() const { return Sr_; }
  int64_t Sc() const { return Sc_; }
  int64_t T() const { return T_; }
  int64_t fold_len() const { return T_ + 2 * R_ + C_ - 2; }
  int64_t util_cycles() const { return T_ + 2 * R_ + 2 * C_ - 3; }
  int64_t ifmap_reads(const Fold& f) const { return T_ * f.ru; }
  int64_t filter_reads(const Fold& f) const { return f.ru * f.cu; }
  int64_t ofmap_writes(const Fold& f) const { return T_ * f.cu; }

  // Filter demand = every fold loads its own ru*cu distinct weights once.
  std::vector<std::pair<int64_t, int64_t>> FilterBlocks(int64_t row_folds,
                                                        int64_t col_folds) const {
    std::vector<std::pair<int64_t, int64_t>> b;
    for (int64_t fc = 0; fc < col_folds; ++fc)
      for (int64_t fr = 0; fr < row_folds; ++fr)
        b.emplace_back(std::min(R_, Sr_ - fr * R_) * std::min(C_, Sc_ - fc * C_), 1);
    return b;
  }

  Skew IfmapSkew(const Fold& f) const { return {R_, T_, f.ru}; }
  int64_t IfmapFirstTau(const Fold& f) const { return R_; }
  int64_t IfmapLastTau(const Fold& f) const { return IfmapSkew(f).last_tau(); }
  int64_t FilterFirstTau(const Fold& f) const { return R_ - f.ru; }
  int64_t FilterLastTau(const Fold& f) const { return R_ - 1; }
  template <class Fn>
  void Ifmap(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = IfmapSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r) {
      const int64_t a = op_.Ifmap(tau - R_ - r, f.fr * R_ + r);
      if (a >= 0) fn(a);
    }
  }
  template <class Fn>
  void Filter(const Fold& f, int64_t tau, Fn&& fn) const {
    if (tau < R_ - f.ru || tau >= R_) return;
    const int64_t k = f.fr * R_ + R_ - 1 - tau;
    for (int64_t c = 0; c < f.cu; ++c) fn(op_.Filter(k, f.fc * C_ + c));
  }
  // IFMAP element (p, fr*R + r) is read at row R + p + r.
  int64_t IfmapPorts(const Fold& f) const { return f.ru; }
  template <class Fn>
  void IfmapRanges(const Fold& f, int64_t ta, int64_t tb, Fn&& fn) const {
    const int64_t p0 = std::max<int64_t>(0, ta - R_ - (f.ru - 1)),
                  p1 = std::min(T_ - 1, tb - 1 - R_);
    for (int64_t p = p0; p <= p1; ++p) {
      const int64_t r0 = std::max<int64_t>(0, ta - R_ - p), r1 = std::min(f.ru, tb - R_ - p);
      if (r0 < r1) fn(p, f.fr * R_ + r0, f.fr * R_ + r1);
    }
  }
  int64_t OfmapFirstTau(const Fold& f) const { return 2 * R_ - 1; }
  int64_t OfmapLastTau(const Fold& f) const { return 2 * R_ - 1 + T_ - 1 + f.cu - 1; }
  Skew OfmapSkew(const Fold& f) const { return {2 * R_ - 1, T_, f.cu}; }
  int64_t OfmapCount(const Fold& f, int64_t tau) const {
    const Skew s{2 * R_ - 1, T_, f.cu};
    const int64_t lo = s.lo(tau), hi = s.hi(tau);
    return hi >= lo ? hi - lo + 1 : 0;
  }

  PrefetchLayout IfmapPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds * T_, R_, true};
  }
  int64_t IfmapPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fr = row / T_, t = row % T_, k = fr * R_ + col;
    return k < Sr_ ? op_.Ifmap(t, k) : -1;
  }
  PrefetchLayout FilterPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds * Sr_, C_, false};
  }
  int64_t FilterPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fc = row / Sr_, k = row % Sr_, n = fc * C_ + col;
    return n < Sc_ ? op_.Filter(k, n) : -1;
  }

 private:
  const OperandMatrices& op_;
  int64_t R_, C_, Sr_, Sc_, T_;
};

// ---------------------------------------------------------------- IS ----
// Input stationary (systolic_compute_is.py). Sr = K (window on rows),
// Sc = M (pixels on cols), T = N. Fold length T + 2R + C - 2.
//   ifmap: no skew; at tau < R all ports c < cu load ifmap_op(fc*C + c,
//          fr*R + R-1-tau) when R-1-tau < ru (row-flipped tile)
//   filter port r: skew(start R, len T), element filter_op(fr*R + r, u)
//   ofmap  port c: skew(start 2R-1, len T)
//   compute-util cycles per fold: T + 2R + 2C - 3
//   SRAM reads per fold: ifmap ru*cu, filter T*ru; OFMAP writes T*cu.
class InputStationaryMapping {
 public:
  InputStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : op_(op), R_(rows), C_(cols), Sr_(op.K()), Sc_(op.M()), T_(op.N()) {}
  int64_t Sr() const { return Sr_; }
  int64_t Sc() const { return Sc_; }
  int64_t T() const { return T_; }
  int64_t fold_len() const { return T_ + 2 * R_ + C_ - 2; }
  int64_t util_cycles() const { return T_ + 2 * R_ + 2 * C_ - 3; }
  int64_t ifmap_reads(const Fold& f) const { return f.ru * f.cu; }
  int64_t filter_reads(const Fold& f) const { return T_ * f.ru; }
  int64_t ofmap_writes(const Fold& f) const { return T_ * f.cu; }

  // Filter demand = one sweep over the row folds (all K*N weights, each
  // once), repeated for each column fold.
  std::vector<std::pair<int64_t, int64_t>> FilterBlocks(int64_t, int64_t col_folds) const {
    return {{Sr_ * T_, col_folds}};
  }

  Skew FilterSkew(const Fold& f) const { return {R_, T_, f.ru}; }
  int64_t IfmapFirstTau(const Fold& f) const { return R_ - f.ru; }
  int64_t IfmapLastTau(const Fold& f) const { return R_ - 1; }
  int64_t FilterFirstTau(const Fold& f) const { return R_; }
  int64_t FilterLastTau(const Fold& f) const { return FilterSkew(f).last_tau(); }
  template <class Fn>
  void Ifmap(const Fold& f, int64_t tau, Fn&& fn) const {
    if (tau < R_ - f.ru || tau >= R_) return;
    const int64_t k = f.fr * R_ + R_ - 1 - tau;
    for (int64_t c = 0; c < f.cu; ++c) {
      const int64_t a = op_.Ifmap(f.fc * C_ + c, k);
      if (a >= 0) fn(a);
    }
  }
  template <class Fn>
  void Filter(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = FilterSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r)
      fn(op_.Filter(f.fr * R_ + r, tau - R_ - r));
  }
  // IFMAP element (fc*C + c, fr*R + R-1-tau) is read at row tau < R.
  int64_t IfmapPorts(const Fold& f) const { return f.cu; }
  template <class Fn>
  void IfmapRanges(const Fold& f, int64_t ta, int64_t tb, Fn&& fn) const {
    const int64_t t0 = std::max(ta, R_ - f.ru), t1 = std::min(tb, R_);
    if (t0 >= t1) return;
    const int64_t ka = f.fr * R_ + R_ - t1, kb = f.fr * R_ + R_ - t0;
    for (int64_t c = 0; c < f.cu; ++c) fn(f.fc * C_ + c, ka, kb);
  }
  int64_t OfmapFirstTau(const Fold& f) const { return 2 * R_ - 1; }
  int64_t OfmapLastTau(const Fold& f) const { return 2 * R_ - 1 + T_ - 1 + f.cu - 1; }
  Skew OfmapSkew(const Fold& f) const { return {2 * R_ - 1, T_, f.cu}; }
  int64_t OfmapCount(const Fold& f, int64_t tau) const {
    const Skew s{2 * R_ - 1, T_, f.cu};
    const int64_t lo = s.lo(tau), hi = s.hi(tau);
    return hi >= lo ? hi - lo + 1 : 0;
  }

  PrefetchLayout IfmapPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds * Sr_, C_, false};
  }
  int64_t IfmapPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fc = row / Sr_, k = row % Sr_, p = fc * C_ + col;
    return p < Sc_ ? op_.Ifmap(p, k) : -1;
  }
  PrefetchLayout FilterPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds * T_, R_, true};
  }
  int64_t FilterPrefetchAt(int64_t row, int64_t col) const {
    const int64_t fr = row / T_, n = row % T_, k = fr * R_ + col;
    return k < Sr_ ? op_.Filter(k, n) : -1;
  }

 private:
  const OperandMatrices& op_;
  int64_t R_, C_, Sr_, Sc_, T_;
};

}  // namespace qaccel::accel
