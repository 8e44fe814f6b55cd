// Two-pass histogram shared by the histogram, entropy and percentile
// observers: pass 0 finds the exact min/max, pass 1 counts values in `bins`
// equal bins over [min, max] (or over [0, max|x|] when `absolute`).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace qaccel::quant {

class TwoPassHistogram {
 public:
  // skip_zeros: exact zeros (e.g. post-ReLU) are not counted in pass 1; they
  // are represented exactly by the zero point whatever the range.
  TwoPassHistogram(int bins, bool absolute, bool skip_zeros = false)
      : absolute_(absolute), skip_zeros_(skip_zeros), counts_(static_cast<size_t>(bins), 0.0) {}

  void Observe(const float* x, int64_t n, int pass) {
    if (pass == 0) {
      for (int64_t i = 0; i < n; ++i) {
        min_ = std::min(min_, x[i]);
        max_ = std::max(max_, x[i]);
      }
      return;
    }
    const double lo = this->lo(), width = bin_width();
    const int last = static_cast<int>(counts_.size()) - 1;
    for (int64_t i = 0; i < n; ++i) {
      if (skip_zeros_ && x[i] == 0.0f) continue;
      const double v = absolute_ ? std::fabs(x[i]) : x[i];
      int b = width > 0 ? static_cast<int>((v - lo) / width) : 0;
      counts_[static_cast<size_t>(std::clamp(b, 0, last))] += 1;
    }
  }

  bool empty() const { return min_ > max_; }
  float min() const { return empty() ? 0.0f : min_; }
  float max() const { return empty() ? 0.0f : max_; }
  double lo() const { return absolute_ ? 0.0 : min(); }
  double hi() const { return absolute_ ? std::max(std::fabs(min()), std::fabs(max())) : max(); }
  double bin_width() const { return (hi() - lo()) / static_cast<double>(counts_.size()); }
  const std::vector<double>& counts() const { return counts_; }

 private:
  bool absolute_, skip_zeros_;
  float min_ = std::numeric_limits<float>::infinity(),
        max_ = -std::numeric_limits<float>::infinity();
  std::vector<double> counts_;
};

}  // namespace qaccel::quant
