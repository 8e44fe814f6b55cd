// histogram observer (after PyTorch's HistogramObserver): a 2048-bin
// histogram of the values, then a search over sub-ranges [bin s, bin e] for
// the one whose 8-bit quantization (256 levels over the range widened to
// contain 0) has the least L2 error over the histogram. Clipped values count
// with their distance to the range edge. Search: shrink one bin at a time
// from the side holding less mass, evaluate every step, keep the best.
#include <cmath>

#include "qaccel/quant/histogram.h"
#include "qaccel/quant/observer.h"

namespace qaccel::quant {
namespace {

class HistogramObserver : public Observer {
 public:
  explicit HistogramObserver(int bins) : h_(bins, false) {}
  int passes() const override { return 2; }
  void Observe(const float* x, int64_t n, int pass) override { h_.Observe(x, n, pass); }

  std::pair<float, float> Range() const override {
    if (h_.empty() || h_.max() == h_.min()) return {h_.min(), h_.max()};
    const auto& c = h_.counts();
    const int nb = static_cast<int>(c.size());
    int s = 0, e = nb - 1;
    int best_s = s, best_e = e;
    double best = Error(s, e);
    while (e - s > 8) {
      if (c[static_cast<size_t>(s)] < c[static_cast<size_t>(e)])
        ++s;
      else
        --e;
      const double err = Error(s, e);
      if (err < best) {
        best = err;
        best_s = s;
        best_e = e;
      }
    }
    const double w = h_.bin_width();
    return {static_cast<float>(h_.lo() + best_s * w),
            static_cast<float>(h_.lo() + (best_e + 1) * w)};
  }

 private:
  // L2 error of quantizing the histogram's mass with 256 levels over bins [s, e]
  // (widened to contain 0), each bin's mass sampled at 4 points.
  double Error(int s, int e) const {
    const double w = h_.bin_width();
    const double lo = std::min(0.0, h_.lo() + s * w), hi = std::max(0.0, h_.lo() + (e + 1) * w);
    const double step = (hi - lo) / 255.0;
    const auto& c = h_.counts();
    double err = 0;
    for (size_t b = 0; b < c.size(); ++b) {
      if (c[b] == 0) continue;
      for (int k = 0; k < 4; ++k) {
        const double x = h_.lo() + (static_cast<double>(b) + (k + 0.5) / 4.0) * w;
        const double q = std::clamp(std::round((x - lo) / step), 0.0, 255.0) * step + lo;
        err += c[b] * 0.25 * (x - q) * (x - q);
      }
    }
    return err;
  }

  TwoPassHistogram h_;
};

}  // namespace

std::unique_ptr<Observer> MakeHistogramObserver(const ObserverOptions& o) {
  return std::make_unique<HistogramObserver>(o.histogram_bins);
}

}  // namespace qaccel::quant
