// The network input transform, an attribute of the Graph: how the stored
// image values become the real-valued input of layer 0,
//   real = (pixel * scale - mean[c]) / std[c]
// with pixel in `dtype` (uint8, the only one today) and c the channel (mean
// and std have one entry for every channel, or one per channel). The default,
// scale 1/255, mean 0, std 1, is "pixel/255": real in [0, 1], and int8 input
// quantization at scale 1/255, zero point -128 is exactly q = pixel - 128.
// The engine, the quantizer, the exporter and the trainer all read it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "qaccel/core/dtype.h"

namespace qaccel {

struct InputTransform {
  DType dtype = DType::kU8;
  double scale = 1.0 / 255.0;
  std::vector<double> mean = {0.0};
  std::vector<double> std = {1.0};

  bool IsDefault() const;
  // (pixel * scale - mean[c]) / std[c], in double.
  double Real(int pixel, int64_t channel) const;
  // The real input of every uint8 value: [channels][256] floats, row c for channel c.
  std::vector<float> FloatTable(int64_t channels) const;
  // [min, max] of the real input over all pixel values and channels.
  std::pair<double, double> Range(int64_t channels) const;
  // "pixel/255" for the default, else the formula with its numbers.
  std::string Describe() const;
  // Throws Error (prefixed by `where`) unless dtype is u8, scale and every
  // std are finite and non-zero, and mean / std have 1 or `channels` entries.
  void Validate(int64_t channels, const std::string& where) const;
};

nlohmann::json InputTransformToJson(const InputTransform& t);
InputTransform InputTransformFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace qaccel
