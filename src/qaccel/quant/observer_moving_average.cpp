// moving-average observer (PyTorch's MovingAverageMinMaxObserver): per batch
// min/max, then lo += c * (batch_lo - lo) (same for hi), c = averaging
// constant (0.01); the first batch initializes lo/hi.
#include <algorithm>
#include <limits>

#include "qaccel/quant/observer.h"

namespace qaccel::quant {
namespace {

class MovingAverageObserver : public Observer {
 public:
  explicit MovingAverageObserver(double c) : c_(c) {}
  void Observe(const float* x, int64_t n, int) override {
    for (int64_t i = 0; i < n; ++i) {
      blo_ = std::min(blo_, x[i]);
      bhi_ = std::max(bhi_, x[i]);
    }
  }
  void EndBatch(int) override {
    if (blo_ > bhi_) return;  // empty batch
    if (!init_) {
      lo_ = blo_;
      hi_ = bhi_;
      init_ = true;
    } else {
      lo_ += c_ * (blo_ - lo_);
      hi_ += c_ * (bhi_ - hi_);
    }
    blo_ = std::numeric_limits<float>::infinity();
    bhi_ = -std::numeric_limits<float>::infinity();
  }
  std::pair<float, float> Range() const override {
    return {static_cast<float>(lo_), static_cast<float>(hi_)};
  }

 private:
  double c_;
  bool init_ = false;
  double lo_ = 0, hi_ = 0;
  float blo_ = std::numeric_limits<float>::infinity(),
        bhi_ = -std::numeric_limits<float>::infinity();
};

}  // namespace

std::unique_ptr<Observer> MakeMovingAverageObserver(const ObserverOptions& o) {
  return std::make_unique<MovingAverageObserver>(o.averaging);
}

}  // namespace qaccel::quant
