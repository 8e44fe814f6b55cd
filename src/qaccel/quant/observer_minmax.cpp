// minmax observer: the exact min and max over every calibration value.
#include <algorithm>
#include <limits>

#include "qaccel/quant/observer.h"

namespace qaccel::quant {
namespace {

class MinMaxObserver : public Observer {
 public:
  void Observe(const float* x, int64_t n, int) override {
    for (int64_t i = 0; i < n; ++i) {
      lo_ = std::min(lo_, x[i]);
      hi_ = std::max(hi_, x[i]);
    }
  }
  std::pair<float, float> Range() const override {
    return lo_ <= hi_ ? std::pair{lo_, hi_} : std::pair{0.0f, 0.0f};
  }

 private:
  float lo_ = std::numeric_limits<float>::infinity(), hi_ = -std::numeric_limits<float>::infinity();
};

}  // namespace

std::unique_ptr<Observer> MakeMinMaxObserver(const ObserverOptions&) {
  return std::make_unique<MinMaxObserver>();
}

}  // namespace qaccel::quant
