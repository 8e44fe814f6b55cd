// Deterministic random numbers. All randomness in qaccel flows from an
// explicit seed (recorded in every output) through Rng; std::mt19937_64 is
// specified by the standard, so sequences are identical across platforms.
// (Distributions are written here, not taken from <random>, whose
// distributions are implementation-defined.)
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace qaccel {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t NextU64() { return gen_(); }
  // Uniform in [0, n) without modulo bias.
  uint64_t Below(uint64_t n);
  double Uniform01() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double Normal();  // Box-Muller
  template <typename T>
  void Shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  std::mt19937_64 gen_;
};

}  // namespace qaccel
