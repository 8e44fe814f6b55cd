// percentile observer: a 2048-bin histogram over [min, max]; the range runs
// from the (100 - p)-th to the p-th percentile of the values (p = --percentile,
// default 99.99), located within a bin by linear interpolation.
#include <cmath>

#include "qaccel/core/error.h"
#include "qaccel/quant/histogram.h"
#include "qaccel/quant/observer.h"

namespace qaccel::quant {
namespace {

class PercentileObserver : public Observer {
 public:
  PercentileObserver(int bins, double p) : h_(bins, false), p_(p) {
    Check(p > 50 && p <= 100, "--percentile must be in (50, 100], got " + std::to_string(p));
  }
  int passes() const override { return 2; }
  void Observe(const float* x, int64_t n, int pass) override { h_.Observe(x, n, pass); }

  std::pair<float, float> Range() const override {
    if (h_.empty() || h_.max() == h_.min()) return {h_.min(), h_.max()};
    return {static_cast<float>(Quantile(1.0 - p_ / 100.0)),
            static_cast<float>(Quantile(p_ / 100.0))};
  }

 private:
  double Quantile(double f) const {
    const auto& c = h_.counts();
    double total = 0;
    for (double v : c) total += v;
    const double target = f * total;
    double cum = 0;
    for (size_t b = 0; b < c.size(); ++b) {
      if (cum + c[b] >= target && c[b] > 0) {
        const double frac = (target - cum) / c[b];
        return h_.lo() + (static_cast<double>(b) + frac) * h_.bin_width();
      }
      cum += c[b];
    }
    return h_.hi();
  }

  TwoPassHistogram h_;
  double p_;
};

}  // namespace

std::unique_ptr<Observer> MakePercentileObserver(const ObserverOptions& o) {
  return std::make_unique<PercentileObserver>(o.histogram_bins, o.percentile);
}

}  // namespace qaccel::quant
