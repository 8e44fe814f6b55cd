// Fast kernels for binary weights (weight_bits 1: q_w in {-1, +1}, zero point
// 0): no multiplies. With x = q_in - zp_in,
//   sum_k w[k] * x[k] = 2 * sum_{k: w[k] = +1} x[k] - sum_k x[k]
// (numeric_contract.h), exact in int32, then the usual output pipeline, so
// the results are bit-identical to reference::ConvInt8 / LinearInt8 on the
// same int8 weights (tests/kernels/test_binary_kernels.cpp, tolerance 0).
// Portable C++ (the inner loops are adds over contiguous int16/int32 rows,
// which compilers vectorize at -O2 -ftree-vectorize / -O3).
#pragma once

#include <cstdint>
#include <vector>

#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::fast {

// Scratch bytes ConvBinary needs for shape s.
int64_t ConvScratchBytesBinary(const ConvShape& s);
// weight: int8 in {-1, +1} (checked at model load / quantization).
void ConvBinary(const ConvShape& s, const reference::RequantParams& p, const int8_t* in,
                const int8_t* weight, const int32_t* bias, int8_t* out, void* scratch);

// Per output o, the input indices whose weight is +1 (prepared once).
struct BinaryLinearWeights {
  std::vector<int32_t> plus_begin;  // O + 1 offsets into plus
  std::vector<int32_t> plus;        // input indices
};
BinaryLinearWeights PrepareBinaryLinear(const LinearShape& s, const int8_t* weight);
// scratch: I int32.
void LinearBinary(const LinearShape& s, const reference::RequantParams& p, const int8_t* in,
                  const BinaryLinearWeights& w, const int32_t* bias, int8_t* out, void* scratch);

}  // namespace qaccel::kernels::fast
