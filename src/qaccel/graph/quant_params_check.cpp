// Range checks of QuantParams on load (see quant_params_check.h).
#include "qaccel/graph/quant_params_check.h"

#include <cmath>
#include <utility>

#include "qaccel/core/error.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/kernels/reference/numeric_contract.h"

namespace qaccel {
namespace {

namespace k = kernels;

void CheckRange(int64_t v, int64_t lo, int64_t hi, const std::string& field) {
  if (v < lo || v > hi)
    throw Error(field + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "] (the numeric contract)");
}

void CheckScale(float s, const std::string& field) {
  Check(std::isfinite(s) && s > 0, field + " must be finite and > 0");
}

// "<where>.<field>[c]" (appended piecewise: GCC 12 warns, wrongly, on "[" + s).
std::string Element(const std::string& where, const char* field, size_t c) {
  std::string s = where;
  s += '.';
  s += field;
  s += '[';
  s += std::to_string(c);
  s += ']';
  return s;
}

bool HasWeight(const Layer& l) {
  const OpDef& def = FindOp(l.kind);
  if (!def.params) return false;
  for (const ParamSpec& p : def.params(l))
    if (p.name == "weight") return true;
  return false;
}

void CheckLengths(const Layer& l, const std::string& where) {
  const QuantParams& q = l.quant;
  const std::string sizes = " (weight_scale " + std::to_string(q.weight_scale.size()) +
                            ", weight_zero_point " + std::to_string(q.weight_zero_point.size()) +
                            ", multiplier " + std::to_string(q.multiplier.size()) + ", shift " +
                            std::to_string(q.shift.size()) + ")";
  Check(q.shift.size() == q.multiplier.size(),
        where + ": multiplier and shift lengths differ" + sizes);
  Check(q.weight_zero_point.size() == q.weight_scale.size(),
        where + ": weight_scale and weight_zero_point lengths differ" + sizes);
  if (!HasWeight(l)) {
    Check(q.weight_scale.empty(),
          where + ": weight_scale / weight_zero_point on a layer without weights" + sizes);
    return;
  }
  // The engine insists on all four at run time (ops/op_helpers.cpp); a file
  // may hold fewer, but never a length that matches no channel count.
  for (size_t n : {q.weight_scale.size(), q.multiplier.size()})
    if (n > 1 && !std::cmp_equal(n, l.out_channels))  // the message is built only on failure
      throw Error(where + ": per-channel vectors need 1 or out_channels (" +
                  std::to_string(l.out_channels) + ") entries" + sizes);
}

// An int32 bias must leave the accumulator its headroom: |bias[c]| <=
// MaxBiasMagnitude(K), K = the accumulation depth (weights per output channel).
void CheckBias(const Layer& l, const std::string& where) {
  auto w = l.params.find("weight"), b = l.params.find("bias");
  if (w == l.params.end() || b == l.params.end() || b->second.dtype() != DType::kI32 ||
      l.out_channels <= 0)
    return;
  const int64_t depth = w->second.numel() / l.out_channels;
  CheckRange(depth, 0, k::kMaxAccumulationDepth, where + " accumulation depth");
  const auto bias = b->second.data<int32_t>();
  for (size_t c = 0; c < bias.size(); ++c)
    CheckRange(bias[c], -k::MaxBiasMagnitude(depth), k::MaxBiasMagnitude(depth),
               Element(where, "bias", c));
}

}  // namespace

void CheckQuantParams(const Layer& l, const std::string& where) {
  const QuantParams& q = l.quant;
  CheckRange(q.act_bits, 2, 8, where + ".act_bits");
  CheckRange(q.weight_bits, 1, 8, where + ".weight_bits");
  const int64_t act_top = k::kInt8Min + (int64_t{1} << q.act_bits) - 1;
  CheckRange(q.out_zero_point, k::kInt8Min, act_top, where + ".out_zero_point");
  CheckRange(q.act_min, k::kInt8Min, act_top, where + ".act_min");
  CheckRange(q.act_max, q.act_min, act_top, where + ".act_max");
  if (q.weight_bits < 8) {
    Check(q.weight_scheme == (q.weight_bits == 1 ? "binary" : "per-channel-symmetric"),
          where + ".weight_scheme: '" + q.weight_scheme + "' with weight_bits " +
              std::to_string(q.weight_bits) + " (1 bit: binary; 2..7 bits: per-channel-symmetric)");
    for (size_t c = 0; c < q.weight_zero_point.size(); ++c)
      CheckRange(q.weight_zero_point[c], 0, 0, Element(where, "weight_zero_point", c));
    auto w = l.params.find("weight");
    if (w != l.params.end() && w->second.dtype() == DType::kI8) {
      const int64_t qmax = q.weight_bits == 1 ? 1 : (int64_t{1} << (q.weight_bits - 1)) - 1;
      const auto v = w->second.data<int8_t>();
      for (size_t i = 0; i < v.size(); ++i) {
        CheckRange(v[i], -qmax, qmax, Element(where, "weight", i));
        Check(q.weight_bits != 1 || v[i] != 0,
              Element(where, "weight", i) + " is 0 (binary weights are -1 or +1)");
      }
    }
  }
  CheckScale(q.out_scale, where + ".out_scale");
  CheckLengths(l, where);
  for (size_t c = 0; c < q.weight_scale.size(); ++c) {
    CheckScale(q.weight_scale[c], Element(where, "weight_scale", c));
    CheckRange(q.weight_zero_point[c], k::kInt8Min, k::kInt8Max,
               Element(where, "weight_zero_point", c));
  }
  for (size_t c = 0; c < q.multiplier.size(); ++c) {
    if (q.multiplier[c] == 0 && q.shift[c] == 0) continue;  // a multiplier that rounds to 0
    CheckRange(q.multiplier[c], k::kMinQ31Multiplier, INT32_MAX, Element(where, "multiplier", c));
    CheckRange(q.shift[c], k::kMinShift, k::kMaxShift, Element(where, "shift", c));
  }
  CheckBias(l, where);
}

}  // namespace qaccel
