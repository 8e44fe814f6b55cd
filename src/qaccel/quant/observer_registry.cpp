// The observer registry: one line per observer.
#include "qaccel/core/error.h"
#include "qaccel/core/join_names.h"
#include "qaccel/quant/observer.h"

namespace qaccel::quant {

const std::vector<ObserverInfo>& ObserverRegistry() {
  static const std::vector<ObserverInfo> r = {
      {"minmax", "running min and max over all calibration images", &MakeMinMaxObserver},
      {"moving-average",
       "exponential moving average of per-batch min/max (PyTorch's, constant 0.01)",
       &MakeMovingAverageObserver},
      {"histogram",
       "histogram + search for the range with the least L2 quantization error (PyTorch's)",
       &MakeHistogramObserver},
      {"entropy",
       "histogram + threshold with the least KL divergence (TensorRT's entropy calibration)",
       &MakeEntropyObserver},
      {"percentile", "range holding the given percentile of the values (--percentile)",
       &MakePercentileObserver},
  };
  return r;
}

std::string ObserverNames() { return JoinNames(ObserverRegistry(), &ObserverInfo::name); }

std::unique_ptr<Observer> MakeObserver(const std::string& name, const ObserverOptions& options) {
  for (auto& o : ObserverRegistry())
    if (o.name == name) return o.make(options);
  throw Error("unknown observer '" + name + "' (choose one of: " + ObserverNames() + ")");
}

}  // namespace qaccel::quant
