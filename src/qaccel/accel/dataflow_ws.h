// Weight stationary (systolic_compute_ws.py): each PE keeps one weight.
// Sr = K (window on rows), Sc = N (filters on cols), T = M; the shared
// preload / stream / drain timing is PreloadedStationaryMapping's.
//   filter: preloaded; row tau < R loads filter_op(fr*R + R-1-tau, fc*C + c)
//           on every port c < cu (when R-1-tau < ru)
//   ifmap  port r: skew(start R, len T), element ifmap_op(u, fr*R + r)
//   SRAM reads per fold: ifmap T*ru, filter ru*cu.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

class WeightStationaryMapping : public PreloadedStationaryMapping {
 public:
  WeightStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : PreloadedStationaryMapping(op, rows, cols, op.K(), op.N(), op.M()) {}
  int64_t ifmap_reads(const Fold& f) const { return T_ * f.ru; }
  int64_t filter_reads(const Fold& f) const { return f.ru * f.cu; }

  // Filter demand = every fold loads its own ru*cu distinct weights once.
  std::vector<std::pair<int64_t, int64_t>> FilterBlocks(int64_t row_folds,
                                                        int64_t col_folds) const {
    std::vector<std::pair<int64_t, int64_t>> b;
    for (int64_t fc = 0; fc < col_folds; ++fc)
      for (int64_t fr = 0; fr < row_folds; ++fr)
        b.emplace_back(std::min(R_, Sr_ - fr * R_) * std::min(C_, Sc_ - fc * C_), 1);
    return b;
  }

  // Fold (fc, fr) demands the same IFMAP addresses in the same rows for
  // every fc (simulate_stages.h, periodic passes).
  static constexpr bool kIfmapSameAcrossColumnFolds = true;

  int64_t IfmapFirstTau(const Fold&) const { return R_; }
  int64_t IfmapLastTau(const Fold& f) const { return StreamSkew(f).last_tau(); }
  int64_t FilterFirstTau(const Fold& f) const { return PreloadFirstTau(f); }
  int64_t FilterLastTau(const Fold& f) const { return PreloadLastTau(f); }
  template <class Fn>
  void Ifmap(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = StreamSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r) {
      const int64_t a = op_.Ifmap(tau - R_ - r, f.fr * R_ + r);
      if (a >= 0) fn(a);
    }
  }
  template <class Fn>
  void Filter(const Fold& f, int64_t tau, Fn&& fn) const {
    int64_t k = 0;
    if (!PreloadRow(f, tau, &k)) return;
    for (int64_t c = 0; c < f.cu; ++c) fn(op_.Filter(k, f.fc * C_ + c));
  }
  // The operand arguments of the first address Ifmap / Filter name at a row
  // with data.
  std::pair<int64_t, int64_t> IfmapRowFirst(const Fold& f, int64_t tau) const {
    const int64_t r = StreamSkew(f).lo(tau);
    return {tau - R_ - r, f.fr * R_ + r};
  }
  std::pair<int64_t, int64_t> IfmapRowStep() const { return {-1, 1}; }
  std::pair<int64_t, int64_t> FilterRowFirst(const Fold& f, int64_t tau) const {
    int64_t k = 0;
    PreloadRow(f, tau, &k);
    return {k, f.fc * C_};
  }
  // USER mode: demand row tau of fold f reads entries of anti-diagonal
  // fr*T + tau - R of the IFMAP prefetch stack (IfmapPrefetch below; row
  // fr*T + t, column r, t = tau - R - r), see DiagonalInWindow.
  int64_t IfmapPrefetchDiagonal(const Fold& f, int64_t tau) const { return f.fr * T_ + tau - R_; }
  bool IfmapRowHasData(const Fold& f, int64_t tau) const {
    const Skew s = StreamSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r)
      if (op_.Ifmap(tau - R_ - r, f.fr * R_ + r) >= 0) return true;
    return false;
  }
  // The IFMAP as one skewed stream (simulate_stages.h's bulk window replay):
  // port r carries window element IfmapStreamK0(f) + r of pixel u.
  Skew IfmapStream(const Fold& f) const { return StreamSkew(f); }
  int64_t IfmapStreamK0(const Fold& f) const { return f.fr * R_; }
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

  // IfmapRanges with the interior pixels (those carrying all ru window
  // elements in [ta, tb)) as one run(p_first, p_last, k_begin, k_end).
  template <class Fn, class Run>
  void IfmapRangeRuns(const Fold& f, int64_t ta, int64_t tb, Fn&& fn, Run&& run) const {
    const int64_t p0 = std::max<int64_t>(0, ta - R_ - (f.ru - 1)),
                  p1 = std::min(T_ - 1, tb - 1 - R_);
    const int64_t ia = std::max(p0, ta - R_), ib = std::min(p1, tb - R_ - f.ru);
    if (ia > ib) return IfmapRanges(f, ta, tb, fn);
    auto one = [&](int64_t p) {
      const int64_t r0 = std::max<int64_t>(0, ta - R_ - p), r1 = std::min(f.ru, tb - R_ - p);
      if (r0 < r1) fn(p, f.fr * R_ + r0, f.fr * R_ + r1);
    };
    for (int64_t p = p0; p < ia; ++p) one(p);
    run(ia, ib, f.fr * R_, f.fr * R_ + f.ru);
    for (int64_t p = ib + 1; p <= p1; ++p) one(p);
  }

  // Prefetch stacks: per row fold T x R ifmap_op(t, k), anti-diagonals;
  // per column fold K x C filter_op(k, n), row-major.
  PrefetchLayout IfmapPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds, T_, R_, Sr_, true, false};
  }
  PrefetchLayout FilterPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds, Sr_, C_, Sc_, false, false};
  }
};

}  // namespace qaccel::accel
