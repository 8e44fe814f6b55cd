#include "qaccel/core/rng.h"

#include <cmath>

namespace qaccel {

uint64_t Rng::Below(uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = gen_();
  while (x >= limit);
  return x % n;
}

double Rng::Normal() {
  double u1 = Uniform01(), u2 = Uniform01();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace qaccel
