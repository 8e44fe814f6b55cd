// Shapes the reference kernels take (tflite-micro style: a kernel is a pure
// function over raw pointers + one of these + a small params struct). All
// tensors are one sample, row-major: feature maps CHW, vectors [F], conv
// weights OIHW (O, I/groups, KH, KW), linear weights [O, I].
#pragma once

#include <cstdint>

namespace qaccel::kernels {

struct ConvShape {
  int64_t in_c = 0, in_h = 0, in_w = 0;
  int64_t out_c = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t groups = 1;
  int64_t depth() const { return in_c / groups * kernel_h * kernel_w; }  // K of one output
};

struct PoolShape {
  int64_t channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

struct LinearShape {
  int64_t in_features = 0, out_features = 0;
};

}  // namespace qaccel::kernels
