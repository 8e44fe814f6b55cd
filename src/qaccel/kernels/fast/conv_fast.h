// Fast convolution kernels: im2col into caller-provided scratch, then a
// row-by-row multiply-accumulate whose inner loop runs over output positions
// (contiguous, vectorizable). Bit-identical to the reference kernels:
//   int8  - exact integer arithmetic, same requantization (numeric_contract.h);
//   float - every output is summed in the reference's order (bias, then
//           input channel, ky, kx); padded taps add 0 * w (value-equal to
//           skipping them). No reassociation, no FMA contraction (ISO C++).
// tests/kernels/test_fast_kernels.cpp runs both on random shapes with tolerance 0.
#pragma once

#include <cstdint>

#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::fast {

// Scratch bytes the kernels below need for shape s.
int64_t ConvScratchBytesFloat(const ConvShape& s);
int64_t ConvScratchBytesInt8(const ConvShape& s);

void ConvFloat(const ConvShape& s, const float* in, const float* weight, const float* bias,
               float* out, void* scratch);
void ConvInt8(const ConvShape& s, const reference::RequantParams& p, const int8_t* in,
              const int8_t* weight, const int32_t* bias, int8_t* out, void* scratch);

}  // namespace qaccel::kernels::fast
