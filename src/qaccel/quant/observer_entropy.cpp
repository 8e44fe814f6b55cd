// entropy observer (TensorRT's entropy calibration): a 2048-bin histogram of
// |x| over [0, max|x|]; for every threshold bin i >= L (L = 256 target levels
// for one-sided data such as post-ReLU activations, else 128 per side), the
// reference distribution P = bins [0, i) with the clipped outliers added to
// bin i-1, and Q = P's bins merged into L groups and spread back uniformly
// over each group's non-empty bins; pick the i with the least KL(P || Q).
// Range: [0, T] for one-sided data, else [max(min, -T), min(max, T)], T = i * bin width.
// Exact zeros are left out of the histogram: after a ReLU they are most of the
// values, always exactly representable, and their spike in bin 0 would pull
// the threshold far down (clipping useful activations).
#include <cmath>
#include <limits>

#include "qaccel/quant/histogram.h"
#include "qaccel/quant/observer.h"

namespace qaccel::quant {
namespace {

class EntropyObserver : public Observer {
 public:
  explicit EntropyObserver(int bins) : h_(bins, true, true) {}
  int passes() const override { return 2; }
  void Observe(const float* x, int64_t n, int pass) override { h_.Observe(x, n, pass); }

  std::pair<float, float> Range() const override {
    if (h_.empty() || h_.hi() == 0) return {h_.min(), h_.max()};
    const bool one_sided = h_.min() >= 0;
    const int levels = one_sided ? 256 : 128;
    const auto& c = h_.counts();
    const int nb = static_cast<int>(c.size());
    int best_i = nb;
    double best_kl = std::numeric_limits<double>::infinity();
    std::vector<double> p, q;
    for (int i = levels; i <= nb; ++i) {
      p.assign(c.begin(), c.begin() + i);
      double outliers = 0;
      for (int k = i; k < nb; ++k) outliers += c[static_cast<size_t>(k)];
      p[static_cast<size_t>(i - 1)] += outliers;
      // Q: merge the i (unclipped) bins into `levels` groups, spread uniformly over non-empty bins.
      q.assign(static_cast<size_t>(i), 0.0);
      for (int g = 0; g < levels; ++g) {
        const int b0 = static_cast<int>(static_cast<int64_t>(g) * i / levels);
        const int b1 = static_cast<int>(static_cast<int64_t>(g + 1) * i / levels);
        double sum = 0;
        int nonzero = 0;
        for (int k = b0; k < b1; ++k) {
          sum += c[static_cast<size_t>(k)];
          nonzero += c[static_cast<size_t>(k)] > 0;
        }
        if (nonzero == 0) continue;
        for (int k = b0; k < b1; ++k)
          if (c[static_cast<size_t>(k)] > 0) q[static_cast<size_t>(k)] = sum / nonzero;
      }
      double sp = 0, sq = 0;
      for (int k = 0; k < i; ++k) {
        sp += p[static_cast<size_t>(k)];
        sq += q[static_cast<size_t>(k)];
      }
      if (sp <= 0 || sq <= 0) continue;
      double kl = 0;
      for (int k = 0; k < i; ++k) {
        const double pk = p[static_cast<size_t>(k)] / sp;
        if (pk <= 0) continue;
        // Bins of P with no Q mass (only the outlier bin can be one) get a small floor.
        const double qk = std::max(q[static_cast<size_t>(k)] / sq, 1e-12);
        kl += pk * std::log(pk / qk);
      }
      if (kl < best_kl) {
        best_kl = kl;
        best_i = i;
      }
    }
    const float t = static_cast<float>(best_i * h_.bin_width());
    if (one_sided) return {0.0f, std::min(t, h_.max())};
    return {std::max(h_.min(), -t), std::min(h_.max(), t)};
  }

 private:
  TwoPassHistogram h_;
};

}  // namespace

std::unique_ptr<Observer> MakeEntropyObserver(const ObserverOptions& o) {
  return std::make_unique<EntropyObserver>(o.histogram_bins);
}

}  // namespace qaccel::quant
