// Integer reference kernels: int8 activations and weights, int32
// accumulators, requantization exactly as numeric_contract.h says. Plain
// loops, one sample at a time; any fast kernel must match these bit for bit.
#pragma once

#include <cstdint>

#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::reference {

// Throws Error("<op>: accumulation depth ... exceeds the int32 accumulator
// bound ...") for depth > kMaxAccumulationDepth (numeric_contract.h); every
// integer conv / linear kernel, reference or fast, calls it first.
void CheckAccumulationDepth(int64_t depth, const char* op);

// Output pipeline of conv / linear. Per-channel arrays have `channels`
// entries (one per output channel) or 1 entry (per-tensor), as per_channel says.
struct RequantParams {
  int32_t input_zero_point = 0;
  const int32_t* weight_zero_point = nullptr;  // per channel or 1 entry
  const int32_t* multiplier = nullptr;         // Q31, per channel or 1 entry
  const int32_t* shift = nullptr;              // per channel or 1 entry
  bool per_channel = false;
  int32_t output_zero_point = 0;
  int32_t act_min = kInt8Min, act_max = kInt8Max;
};

// acc = bias[o] + sum (q_in - zp_in) * (q_w - zp_w[o]); padded inputs are
// real 0 (q = zp_in) and so contribute nothing. Then the output pipeline.
// bias (int32, scale s_in * s_w[o]) may be null. Asserts depth <= kMaxAccumulationDepth.
void ConvInt8(const ConvShape& s, const RequantParams& p, const int8_t* in, const int8_t* weight,
              const int32_t* bias, int8_t* out);
void LinearInt8(const LinearShape& s, const RequantParams& p, const int8_t* in,
                const int8_t* weight, const int32_t* bias, int8_t* out);
// The int32 accumulators only (before requantization), for tests and export checks.
void LinearAccumulateInt8(const LinearShape& s, const RequantParams& p, const int8_t* in,
                          const int8_t* weight, const int32_t* bias, int32_t* acc);

// Average pool in the input's scale and zero point: sum of q over the window
// (padded positions count as zp, i.e. real 0), RoundingDivide by the window
// size (half away from zero), clamp to [act_min, act_max].
void AvgPoolInt8(const PoolShape& s, int32_t zero_point, int32_t act_min, int32_t act_max,
                 const int8_t* in, int8_t* out);
// Max over the window (padding ignored); same scale and zero point.
void MaxPoolInt8(const PoolShape& s, const int8_t* in, int8_t* out);
// [C, H*W] -> [C]: RoundingDivide(sum of q, H*W); same scale and zero point.
void GlobalAvgPoolInt8(int64_t channels, int64_t hw, const int8_t* in, int8_t* out);
// ReLU in the quantized domain: max(q, zp) (real max(x, 0)); same scale/zp.
void ReluInt8(int64_t n, int32_t zero_point, const int8_t* in, int8_t* out);

// tflite-style add of two int8 tensors with different scales (numeric_contract.h).
struct AddParams {
  int32_t a_zero_point = 0, b_zero_point = 0, output_zero_point = 0;
  int32_t a_multiplier = 0, a_shift = 0, b_multiplier = 0, b_shift = 0;
  int32_t output_multiplier = 0, output_shift = 0;
  int left_shift = kAddLeftShift;
  int32_t act_min = kInt8Min, act_max = kInt8Max;
};
void AddInt8(int64_t n, const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out);

}  // namespace qaccel::kernels::reference
