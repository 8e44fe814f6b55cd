// Activation observers: watch a layer's float outputs during calibration and
// choose the real range [lo, hi] that the int8 asymmetric quantization of
// that edge covers. A narrow registry: an observer is one file plus one line
// in observer_registry.cpp.
//
// Calibration calls, for every observed edge:
//   for pass in [0, passes()):  for each batch: Observe(values, n, pass)... then EndBatch(pass)
// Observers that need a histogram use pass 0 for the min/max and pass 1 to
// fill bins over that fixed range (deterministic, no re-binning).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qaccel::quant {

struct ObserverOptions {
  double percentile = 99.99;  // percentile observer: keep this percentage of the mass
  double averaging = 0.01;    // moving-average minmax: weight of each new batch (as PyTorch)
  int histogram_bins = 2048;  // histogram / entropy / percentile
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual int passes() const { return 1; }
  virtual void Observe(const float* x, int64_t n, int pass) = 0;
  virtual void EndBatch(int pass) {}
  // The chosen real range; always lo <= 0 <= hi is NOT required here (the
  // quantizer widens it to contain 0).
  virtual std::pair<float, float> Range() const = 0;
};

using ObserverFactory = std::function<std::unique_ptr<Observer>(const ObserverOptions&)>;

struct ObserverInfo {
  std::string name, description;
  ObserverFactory make;
};

const std::vector<ObserverInfo>& ObserverRegistry();
// Throws Error listing the known names for an unknown one.
std::unique_ptr<Observer> MakeObserver(const std::string& name,
                                       const ObserverOptions& options = {});
std::string ObserverNames();  // "minmax, moving-average, ..."

// Factories (one per file).
std::unique_ptr<Observer> MakeMinMaxObserver(const ObserverOptions&);
std::unique_ptr<Observer> MakeMovingAverageObserver(const ObserverOptions&);
std::unique_ptr<Observer> MakeHistogramObserver(const ObserverOptions&);
std::unique_ptr<Observer> MakeEntropyObserver(const ObserverOptions&);
std::unique_ptr<Observer> MakePercentileObserver(const ObserverOptions&);

}  // namespace qaccel::quant
