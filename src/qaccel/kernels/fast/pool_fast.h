// Fast integer average pool for unpadded windows (the LeNet / ResNet case):
// no bounds checks, the same sum and RoundingDivide as the reference, so the
// result is bit-identical (exact integer arithmetic). Padded pools use
// reference::AvgPoolInt8.
#pragma once

#include <cstdint>

#include "qaccel/kernels/fast/isa.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::fast {

// Requires s.pad_h == s.pad_w == 0.
void AvgPoolInt8(const PoolShape& s, int32_t act_min, int32_t act_max, const int8_t* in,
                 int8_t* out);
// The same with the ISA kernels for 2x2 stride-2 windows (LeNet), else as above.
void AvgPoolInt8(Isa isa, const PoolShape& s, int32_t act_min, int32_t act_max, const int8_t* in,
                 int8_t* out);

}  // namespace qaccel::kernels::fast
