// Out-of-line parts of the integer numeric contract (numeric_contract.h):
// multiplier decomposition and value quantization.
#include "qaccel/kernels/reference/numeric_contract.h"

#include <cmath>
#include <sstream>

#include "qaccel/core/error.h"

namespace qaccel::kernels {

int32_t QuantizeValue(double real, double scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const double r = std::round(real / scale);  // std::round: half away from zero
  double v = r + zero_point;
  if (v < qmin) v = qmin;
  if (v > qmax) v = qmax;
  return static_cast<int32_t>(v);
}

double QuantizedMultiplier::Real() const {
  return std::ldexp(static_cast<double>(multiplier), shift - 31);
}

QuantizedMultiplier QuantizeMultiplier(double m) {
  if (!(std::isfinite(m) && m > 0)) {
    std::ostringstream os;
    os << "requantization multiplier " << m << " is not a positive finite number "
       << "(a scale of 0, NaN or Inf upstream: check the calibration data and the weights)";
    throw Error(os.str());
  }
  int exponent = 0;
  const double fraction =
      std::frexp(m, &exponent);  // m = fraction * 2^exponent, fraction in [0.5, 1)
  int64_t q =
      std::llround(fraction * static_cast<double>(int64_t{1} << 31));  // half away from zero
  if (q == (int64_t{1} << 31)) {                                       // fraction rounded up to 1.0
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) return {0, 0};
  if (exponent > 30) {
    std::ostringstream os;
    os << "requantization multiplier " << m << " is too large (>= 2^30); the output scale is "
       << "far too small for its input scales";
    throw Error(os.str());
  }
  return {static_cast<int32_t>(q), exponent};
}

}  // namespace qaccel::kernels
