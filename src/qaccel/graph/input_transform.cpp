// The network input transform (see input_transform.h).
#include "qaccel/graph/input_transform.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "qaccel/core/error.h"
#include "qaccel/graph/json_field.h"

namespace qaccel {
namespace {

double Entry(const std::vector<double>& v, int64_t c) {
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
}

std::string Numbers(const std::vector<double>& v) {
  std::string s;
  char b[32];
  for (double x : v) {
    std::snprintf(b, sizeof b, "%.9g", x);
    s += (s.empty() ? "" : ", ") + std::string(b);
  }
  return "[" + s + "]";
}

}  // namespace

bool InputTransform::IsDefault() const {
  const InputTransform d;
  return dtype == d.dtype && scale == d.scale && mean == d.mean && std == d.std;
}

double InputTransform::Real(int pixel, int64_t channel) const {
  return (pixel * scale - Entry(mean, channel)) / Entry(std, channel);
}

std::vector<float> InputTransform::FloatTable(int64_t channels) const {
  std::vector<float> t(static_cast<size_t>(channels) * 256);
  for (int64_t c = 0; c < channels; ++c)
    for (int p = 0; p < 256; ++p)
      t[static_cast<size_t>(c * 256 + p)] = static_cast<float>(Real(p, c));
  return t;
}

std::pair<double, double> InputTransform::Range(int64_t channels) const {
  double lo = Real(0, 0), hi = lo;
  for (int64_t c = 0; c < channels; ++c)
    for (int p : {0, 255}) {
      lo = std::min(lo, Real(p, c));
      hi = std::max(hi, Real(p, c));
    }
  return {lo, hi};
}

std::string InputTransform::Describe() const {
  if (IsDefault()) return "pixel/255";
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", scale);
  return "(pixel * " + std::string(b) + " - mean[c]) / std[c], mean " + Numbers(mean) + ", std " +
         Numbers(std);
}

void InputTransform::Validate(int64_t channels, const std::string& where) const {
  Check(dtype == DType::kU8, where + ": input dtype must be u8 (the engine reads uint8 images)");
  Check(std::isfinite(scale) && scale != 0, where + ": input scale must be finite and non-zero");
  for (const auto* v : {&mean, &std})
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != channels)
      throw Error(where + ": input mean and std need 1 or " + std::to_string(channels) +
                  " entries (one per channel)");
  for (double s : std)
    Check(std::isfinite(s) && s != 0, where + ": input std must be finite and non-zero");
  for (double m : mean) Check(std::isfinite(m), where + ": input mean must be finite");
  // Finite parameters can still overflow (pixel * 1e308 / 1e-308): every real
  // input value must be finite for the float engine and the input quantization.
  const auto [lo, hi] = Range(channels);
  // The engines compute in f32: the values must be finite there too.
  constexpr double kMaxF32 = std::numeric_limits<float>::max();
  Check(std::isfinite(lo) && std::isfinite(hi) && std::abs(lo) <= kMaxF32 && std::abs(hi) <= kMaxF32,
        where + ": input transform gives real inputs beyond float range (scale, mean and std too extreme)");
}

nlohmann::json InputTransformToJson(const InputTransform& t) {
  return {{"dtype", DTypeName(t.dtype)},
          {"scale", t.scale},
          {"mean", t.mean},
          {"std", t.std},
          {"formula", "real = (pixel * scale - mean[c]) / std[c]"}};
}

InputTransform InputTransformFromJson(const nlohmann::json& j, const std::string& where) {
  InputTransform t;
  const std::string dtype = Field<std::string>(j, "dtype", where);
  try {
    t.dtype = ParseDType(dtype);
  } catch (const Error& e) {
    throw Error(where + ".dtype: " + e.what());
  }
  t.scale = Field<double>(j, "scale", where);
  t.mean = Field<std::vector<double>>(j, "mean", where);
  t.std = Field<std::vector<double>>(j, "std", where);
  return t;
}

}  // namespace qaccel
