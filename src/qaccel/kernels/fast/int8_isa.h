// Internal: the entry points of the ISA translation units (int8_avx512vnni.cpp,
// int8_avx2.cpp), called by int8_packed.cpp / pool_fast.cpp only after
// SelectedIsa() said the CPU runs them. Built only where CMake compiles those
// files with their flags (QACCEL_HAVE_ISA_KERNELS).
#pragma once

#include <cstdint>
#include <cstring>

#include "qaccel/kernels/fast/int8_packed.h"

namespace qaccel::kernels::fast::detail {

// Four bytes as one int32 (unaligned; the broadcast operand of vpdpbusd /
// vpmaddwd).
inline int32_t Load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// u: the padded u8 input planes; col: 64 * k4 bytes (+ 256 for the column sums of
// asymmetric weights); wide: [O][blocks * block] int8 (ConvAvx512Vnni with stride 1:
// the [O][out_h][out_w] output itself, written row by row with masked stores).
// pooled (ConvPoolApplies): instead of the conv output, its 2x2 stride-2
// average pool (clamp [pool_lo, pool_hi]) goes to pooled, [O][out_h/2][out_w/2].
void ConvAvx512Vnni(const PackedConvInt8& p, const uint8_t* u, uint8_t* col, int8_t* wide,
                    int8_t* pooled = nullptr, int32_t pool_lo = 0, int32_t pool_hi = 0);
// Channel lanes (p.channel_lanes): col holds all blocks; writes out (CHW) directly.
void ConvAvx512VnniChannelLanes(const PackedConvInt8& p, const uint8_t* u, uint8_t* col,
                                int8_t* out);
// rows rows of n bytes: dst + r * dst_stride = (src + r * src_stride) XOR 0x80.
void CopyFlipAvx512(uint8_t* dst, int64_t dst_stride, const uint8_t* src, int64_t src_stride,
                    int64_t n, int64_t rows);
// p.patch2x2: reads the int8 input `in` ([in_c][in_h][in_w]) directly; writes out (CHW).
void ConvAvx512VnniPatch2x2(const PackedConvInt8& p, const int8_t* in, int8_t* out);
void ConvAvx2(const PackedConvInt8& p, const uint8_t* u, uint8_t* col, int8_t* wide);
// u: n rows of i4 u8 values (avx512vnni) / int16 values (avx2).
// cs: per sample sum_i (q_i - zp_in), read when p.asymmetric.
void LinearAvx512Vnni(const PackedLinearInt8& p, const uint8_t* u, const int32_t* cs, int64_t n,
                      int8_t* out, int64_t out_stride);
void LinearAvx2(const PackedLinearInt8& p, const int16_t* u, int64_t n, int8_t* out,
                int64_t out_stride);
void RequantizeRowAvx512(const int32_t* acc, int64_t n, const int32_t* mult, const int32_t* shift,
                         int32_t zp, int32_t lo, int32_t hi, int8_t* out);
void RequantizeRowAvx2(const int32_t* acc, int64_t n, const int32_t* mult, const int32_t* shift,
                       int32_t zp, int32_t lo, int32_t hi, int8_t* out);
// 2x2 stride-2 unpadded average pool (numeric_contract.h RoundingDivide by 4).
void AvgPool2x2Avx512(const PoolShape& s, int32_t lo, int32_t hi, const int8_t* in, int8_t* out);
void AvgPool2x2Avx2(const PoolShape& s, int32_t lo, int32_t hi, const int8_t* in, int8_t* out);

}  // namespace qaccel::kernels::fast::detail
