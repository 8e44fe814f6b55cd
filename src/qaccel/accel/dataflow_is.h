// Input stationary (systolic_compute_is.py): each PE keeps one input
// element. Sr = K (window on rows), Sc = M (pixels on cols), T = N; the
// shared preload / stream / drain timing is PreloadedStationaryMapping's.
//   ifmap: preloaded; row tau < R loads ifmap_op(fc*C + c, fr*R + R-1-tau)
//          on every port c < cu (when R-1-tau < ru)
//   filter port r: skew(start R, len T), element filter_op(fr*R + r, u)
//   SRAM reads per fold: ifmap ru*cu, filter T*ru.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

class InputStationaryMapping : public PreloadedStationaryMapping {
 public:
  InputStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : PreloadedStationaryMapping(op, rows, cols, op.K(), op.M(), op.N()) {}
  int64_t ifmap_reads(const Fold& f) const { return f.ru * f.cu; }
  int64_t filter_reads(const Fold& f) const { return T_ * f.ru; }

  // Filter demand = one sweep over the row folds (all K*N weights, each
  // once), repeated for each column fold.
  std::vector<std::pair<int64_t, int64_t>> FilterBlocks(int64_t, int64_t col_folds) const {
    return {{Sr_ * T_, col_folds}};
  }

  int64_t IfmapFirstTau(const Fold& f) const { return PreloadFirstTau(f); }
  int64_t IfmapLastTau(const Fold& f) const { return PreloadLastTau(f); }
  int64_t FilterFirstTau(const Fold&) const { return R_; }
  int64_t FilterLastTau(const Fold& f) const { return StreamSkew(f).last_tau(); }
  template <class Fn>
  void Ifmap(const Fold& f, int64_t tau, Fn&& fn) const {
    int64_t k = 0;
    if (!PreloadRow(f, tau, &k)) return;
    for (int64_t c = 0; c < f.cu; ++c) {
      const int64_t a = op_.Ifmap(f.fc * C_ + c, k);
      if (a >= 0) fn(a);
    }
  }
  template <class Fn>
  void Filter(const Fold& f, int64_t tau, Fn&& fn) const {
    const Skew s = StreamSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r)
      fn(op_.Filter(f.fr * R_ + r, tau - R_ - r));
  }
  // The operand arguments of the first address Ifmap / Filter name at a row
  // with data.
  std::pair<int64_t, int64_t> IfmapRowFirst(const Fold& f, int64_t tau) const {
    int64_t k = 0;
    PreloadRow(f, tau, &k);
    return {f.fc * C_, k};
  }
  std::pair<int64_t, int64_t> IfmapRowStep() const { return {1, 0}; }
  std::pair<int64_t, int64_t> FilterRowFirst(const Fold& f, int64_t tau) const {
    const int64_t r = StreamSkew(f).lo(tau);
    return {f.fr * R_ + r, tau - R_ - r};
  }
  // USER mode: demand row tau of fold f reads entries of anti-diagonal
  // fr*T + tau - R of the filter prefetch stack (FilterPrefetch below; row
  // fr*T + t, column r, t = tau - R - r), see DiagonalInWindow.
  int64_t FilterPrefetchDiagonal(const Fold& f, int64_t tau) const { return f.fr * T_ + tau - R_; }
  bool FilterRowHasData(const Fold& f, int64_t tau) const {
    const Skew s = StreamSkew(f);
    return s.lo(tau) <= s.hi(tau);
  }
  // IFMAP element (fc*C + c, fr*R + R-1-tau) is read at row tau < R.
  int64_t IfmapPorts(const Fold& f) const { return f.cu; }
  template <class Fn>
  void IfmapRanges(const Fold& f, int64_t ta, int64_t tb, Fn&& fn) const {
    int64_t ka = 0, kb = 0;
    if (!PreloadRange(f, ta, tb, &ka, &kb)) return;
    for (int64_t c = 0; c < f.cu; ++c) fn(f.fc * C_ + c, ka, kb);
  }

  // Prefetch stacks: per column fold K x C ifmap_op(p, k), row-major; per
  // row fold N x R filter_op(k, n), anti-diagonals.
  PrefetchLayout IfmapPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds, Sr_, C_, Sc_, false, true};
  }
  PrefetchLayout FilterPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds, T_, R_, Sr_, true, true};
  }
};

}  // namespace qaccel::accel
