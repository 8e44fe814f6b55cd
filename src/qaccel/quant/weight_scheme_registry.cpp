// The weight-scheme registry: one line per scheme.
#include "qaccel/core/error.h"
#include "qaccel/core/join_names.h"
#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {

const std::vector<WeightSchemeInfo>& WeightSchemeRegistry() {
  static const std::vector<WeightSchemeInfo> r = {
      {"per-tensor-asymmetric", "per-tensor",
       "int8 [-128, 127], one scale and zero point per tensor (the source's)", 8, 8, 8,
       &QuantizePerTensorAsymmetric},
      {"per-channel-symmetric", "per-channel",
       "n-bit (2..8, default 8) [-(2^(n-1)-1), 2^(n-1)-1], zero point 0, one scale per output "
       "channel (TFLite's at 8 bits)",
       8, 2, 8, &QuantizePerChannelSymmetric},
      {"binary", "binary",
       "1-bit {-1, +1} (sign, 0 -> +1), scale alpha = mean |w| per output channel", 1, 1, 1,
       &QuantizeBinary},
  };
  return r;
}

std::string WeightSchemeNames() {
  return JoinNames(WeightSchemeRegistry(), &WeightSchemeInfo::alias);
}

void CheckWeightBits(const WeightSchemeInfo& s, int bits, const std::string& flag) {
  Check(bits >= s.min_bits && bits <= s.max_bits,
        flag + " " + std::to_string(bits) + ": weight scheme '" + s.alias + "' takes " +
            (s.min_bits == s.max_bits
                 ? std::to_string(s.min_bits)
                 : std::to_string(s.min_bits) + ".." + std::to_string(s.max_bits)) +
            " bits");
}

const WeightSchemeInfo& FindWeightScheme(const std::string& name) {
  for (auto& w : WeightSchemeRegistry())
    if (w.name == name || w.alias == name) return w;
  throw Error("unknown weight scheme '" + name + "' (choose one of: " + WeightSchemeNames() + ")");
}

}  // namespace qaccel::quant
