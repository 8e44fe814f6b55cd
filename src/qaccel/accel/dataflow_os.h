// Output stationary (systolic_compute_os.py): each PE keeps one output and
// accumulates it over the whole window. Sr = M (pixels on rows), Sc = N
// (filters on cols), T = K. Fold length T + R + C - 2.
//   ifmap  port r: skew(start 0, len T), element ifmap_op(fr*R + r, u)
//   filter port c: skew(start 0, len T), element filter_op(u, fc*C + c)
//   ofmap  port c: skew(start T-1, len R) over the row-flipped output tile;
//                  flipped row u holds pixel fr*R + R-1-u (valid when u >= R-ru),
//                  so port c writes while tau - (T-1+R-ru) - c is in [0, ru)
//   compute-util cycles per fold: T + R + C - 2
//   SRAM reads per fold: ifmap T*ru, filter T*cu; OFMAP writes ru*cu + R + C
//   (the "+ R + C" is SCALE-Sim's double count of the flipped tile shape, kept).
//   Energy: the accumulator is read and written every MAC (2 psum bytes from
//   the register file); both operands hop one PE per MAC.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

class OutputStationaryMapping : public MappingGeometry {
 public:
  static PerMacTraffic PerMac(int64_t word_bytes, int64_t psum_bytes) {
    return {2 * psum_bytes, 2 * word_bytes};
  }

  OutputStationaryMapping(const OperandMatrices& op, int64_t rows, int64_t cols)
      : MappingGeometry(op, rows, cols, op.M(), op.N(), op.K()) {}
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

  // Fold (fc, fr) demands the same IFMAP addresses in the same rows for
  // every fc (simulate_stages.h, periodic passes).
  static constexpr bool kIfmapSameAcrossColumnFolds = true;

  int64_t IfmapFirstTau(const Fold&) const { return 0; }
  int64_t IfmapLastTau(const Fold& f) const { return IfmapSkew(f).last_tau(); }
  int64_t FilterFirstTau(const Fold&) const { return 0; }
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
  // The operand arguments of the first address Ifmap / Filter name at a row
  // with data (port lo).
  std::pair<int64_t, int64_t> IfmapRowFirst(const Fold& f, int64_t tau) const {
    const int64_t r = IfmapSkew(f).lo(tau);
    return {f.fr * R_ + r, tau - r};
  }
  std::pair<int64_t, int64_t> IfmapRowStep() const { return {1, -1}; }
  std::pair<int64_t, int64_t> FilterRowFirst(const Fold& f, int64_t tau) const {
    const int64_t c = FilterSkew(f).lo(tau);
    return {tau - c, f.fc * C_ + c};
  }
  // USER-mode prefetch stacks (IfmapPrefetch, FilterPrefetch below): the
  // addresses of demand row tau of fold f are entries of one anti-diagonal of
  // the stack, this one (a row of the stack plus a column is constant along
  // the demand skew), so the read buffer may vouch for a whole row at once.
  int64_t IfmapPrefetchDiagonal(const Fold& f, int64_t tau) const { return f.fr * T_ + tau; }
  int64_t FilterPrefetchDiagonal(const Fold& f, int64_t tau) const { return f.fc * T_ + tau; }
  // Does the row demand any IFMAP / filter address?
  bool IfmapRowHasData(const Fold& f, int64_t tau) const {
    const Skew s = IfmapSkew(f);
    for (int64_t r = s.lo(tau), e = s.hi(tau); r <= e; ++r)
      if (op_.Ifmap(f.fr * R_ + r, tau - r) >= 0) return true;
    return false;
  }
  bool FilterRowHasData(const Fold& f, int64_t tau) const {
    const Skew s = FilterSkew(f);
    return s.lo(tau) <= s.hi(tau);
  }
  // Port r reads window elements [ta - r, tb - r) of pixel fr*R + r.
  int64_t IfmapPorts(const Fold& f) const { return f.ru; }
  template <class Fn>
  void IfmapRanges(const Fold& f, int64_t ta, int64_t tb, Fn&& fn) const {
    for (int64_t r = 0; r < f.ru; ++r) {
      const int64_t ka = std::max<int64_t>(0, ta - r), kb = std::min(T_, tb - r);
      if (ka < kb) fn(f.fr * R_ + r, ka, kb);
    }
  }
  Skew OfmapSkew(const Fold& f) const { return {T_ - 1 + R_ - f.ru, f.ru, f.cu}; }

  // Prefetch stacks: per row fold T x R ifmap_op(p, t); per column fold
  // T x C filter_op(t, n); both read along anti-diagonals.
  PrefetchLayout IfmapPrefetch(int64_t row_folds, int64_t) const {
    return {row_folds, T_, R_, Sr_, true, true};
  }
  PrefetchLayout FilterPrefetch(int64_t, int64_t col_folds) const {
    return {col_folds, T_, C_, Sc_, true, false};
  }

 private:
  Skew IfmapSkew(const Fold& f) const { return {0, T_, f.ru}; }
  Skew FilterSkew(const Fold& f) const { return {0, T_, f.cu}; }
};

}  // namespace qaccel::accel
