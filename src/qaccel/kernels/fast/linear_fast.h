// Fast fully connected kernels over a TRANSPOSED weight ([I, O], prepared
// once by the engine): the inner loop runs over outputs (contiguous,
// vectorizable) while every output still accumulates its inputs in the
// reference order (bias, then i = 0, 1, ...), so results are bit-identical
// to reference::LinearFloat / LinearInt8 (integer: exact arithmetic; float:
// same operation sequence per output, no reassociation).
#pragma once

#include <cstdint>
#include <vector>

#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::fast {

// [O, I] -> [I, O].
std::vector<float> TransposeLinearWeight(const LinearShape& s, const float* weight);
// [O, I] int8 -> pair-interleaved transpose, int16 (w - weight_zero_point[o]):
// element (o, i) at ((i / 2) * O + o) * 2 + i % 2 (a zero pads odd I), so two
// consecutive inputs of one output are adjacent (SSE2 pmaddwd).
std::vector<int16_t> TransposeLinearWeightInt8(const LinearShape& s, const int8_t* weight,
                                               const reference::RequantParams& p);

// scratch: O floats / O int32.
void LinearFloat(const LinearShape& s, const float* in, const float* weight_t, const float* bias,
                 float* out, void* scratch);
void LinearInt8(const LinearShape& s, const reference::RequantParams& p, const int8_t* in,
                const int16_t* weight_t, const int32_t* bias, int8_t* out, void* scratch);

}  // namespace qaccel::kernels::fast
