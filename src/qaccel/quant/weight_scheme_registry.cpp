// The weight-scheme registry: one line per scheme.
#include "qaccel/core/error.h"
#include "qaccel/core/join_names.h"
#include "qaccel/quant/weight_scheme.h"

namespace qaccel::quant {

const std::vector<WeightSchemeInfo>& WeightSchemeRegistry() {
  static const std::vector<WeightSchemeInfo> r = {
      {"per-tensor-asymmetric", "per-tensor",
       "int8 [-128, 127], one scale and zero point per tensor (the source's)", 8,
       &QuantizePerTensorAsymmetric},
      {"per-channel-symmetric", "per-channel",
       "int8 [-127, 127], zero point 0, one scale per output channel (TFLite's)", 8,
       &QuantizePerChannelSymmetric},
  };
  return r;
}

std::string WeightSchemeNames() {
  return JoinNames(WeightSchemeRegistry(), &WeightSchemeInfo::alias);
}

const WeightSchemeInfo& FindWeightScheme(const std::string& name) {
  for (auto& w : WeightSchemeRegistry())
    if (w.name == name || w.alias == name) return w;
  throw Error("unknown weight scheme '" + name + "' (choose one of: " + WeightSchemeNames() + ")");
}

}  // namespace qaccel::quant
