// Integer conv / linear with weights packed once (at Prepare) for the ISA
// kernels (isa.h). Bit-identical to reference::ConvInt8 / LinearInt8
// (tests/kernels/test_isa_kernels.cpp, tolerance 0); the argument:
//
// u8 x s8 form. vpdpbusd multiplies unsigned bytes by signed bytes. With
// u = q_in + 128 (= q_in XOR 0x80, in [0, 255]) and symmetric weights
// (zp_w = 0: per-channel, n-bit and binary weights),
//   sum_k (q_in - zp_in) * w = sum_k u * w - (128 + zp_in) * sum_k w,
// so acc = corr[o] + sum_k u * w with corr[o] = bias[o] - (128 + zp_in) * sum_k w[o, k]
// computed once at packing. Padding taps hold u = zp_in + 128 (q - zp_in = 0,
// as the reference skips them); taps added to round K up to a multiple of 4
// have weight 0. Every partial sum is exact in int32: |sum_k u * w| <= K * 255 * 128
// < 2^31 for K <= kMaxAccumulationDepth, and the sum is computed modulo 2^32
// (vector adds wrap) while the true accumulator fits int32 by the contract
// (numeric_contract.h), so the wrapped result equals it. AVX2 uses vpmaddwd
// on int16 (u zero-extended, w sign-extended): products and pair sums are
// exact (no vpmaddubsw, which saturates). Asymmetric weights (zp_w != 0,
// per-tensor) on avx512vnni also subtract zp_w * sum_k (q_in - zp_in), the
// column sum (sum_k u over the real taps, by vpdpbusd with ones, minus
// K * (128 + zp_in)); on avx2 they keep the portable kernels.
//
// Convolution ("wide grid", stride 1): the input is copied, as u, into a
// zero-point-padded plane per channel of width Wp = in_w + 2 pad_w; output
// position p = y * Wp + x then reads tap (c, ky, kx) at c * plane + ky * Wp + kx + p,
// so every tap row is a contiguous load. Positions with x >= out_w are
// computed and dropped (position lanes: 16 positions x one channel per vector).
// AVX-512 with a multiple of 16 channels per group instead puts 16 channels
// in the lanes and broadcasts one position's 4 taps (channel lanes): only the
// real positions are computed, and 16 x 16 byte tiles are transposed back to
// CHW. A strided convolution (stride <= 3) runs as stride 1 on the same grid
// and keeps output (y * stride_h, x * stride_w).
//
// Requantization runs vectorized (RequantizeRow): the three stages of
// MultiplyByQuantizedMultiplier with the same tie rules, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "qaccel/kernels/fast/isa.h"
#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::kernels::fast {

struct PackedConvInt8 {
  Isa isa = Isa::kPortable;  // kPortable: fast::ConvInt8 / ConvBinary on the originals
  bool binary = false;       // portable path: the add-only kernel
  ConvShape s;
  reference::RequantParams rp;  // points into the layer's tensors (live as long as the graph)
  const int8_t* weight = nullptr;
  const int32_t* bias = nullptr;
  // The wide-grid kernels (isa != kPortable).
  int64_t wp = 0, hp = 0, plane = 0;  // padded plane width, height, bytes between planes
  int64_t positions = 0, block = 0, blocks = 0;  // out_h * wp; positions per block; blocks
  int64_t k4 = 0;                                // taps of one group, rounded up to 4
  int64_t in_bytes = 0;                          // the padded input buffer
  uint8_t pad_value = 0;                         // zp_in + 128
  std::vector<int32_t> tap;                      // [k4] offset of each tap in its group's planes
  std::vector<int8_t> w8;                        // [O][k4] (avx512vnni, position lanes)
  bool channel_lanes = false;  // avx512vnni, O / groups % 16 == 0 (or padded, see PackConvInt8)
  int64_t opg16 = 0;           // channel lanes: O / groups rounded up to 16
  std::vector<int8_t> w8c;     // [groups][k4 / 4][opg16][4] (channel lanes)
  std::vector<int32_t> lane_col, lane_cs;  // channel lanes, [out_h * out_w]: column offsets
  // 2x2 stride-2 unpadded convolutions, one group (ConvAvx512VnniPatch2x2):
  // the four taps of input channel c under an output position are two 16-bit
  // words of the unpadded input (kx 0-1 of row 2 oy, of row 2 oy + 1), so tap
  // group c of 16 positions is one vpermt2w of 128 input bytes; positions in
  // the lanes, no padded copy, no column build, no transpose.
  bool patch2x2 = false;
  std::vector<int32_t> patch_base;  // [vectors] first word of each 16-position vector's window
  std::vector<int16_t> patch_idx;   // [vectors][32] word of the window for each word lane
  std::vector<int16_t> w16;                      // [O][k4] (avx2)
  std::vector<int32_t> corr, mult, shift;        // [O] (padded to opg16 with channel lanes)
  bool asymmetric = false;                       // some zp_w != 0 (avx512vnni only)
  std::vector<int32_t> wzp;                      // [O] zp_w per output channel
  std::vector<int8_t> ones;                      // [k4] 1 for the real taps, 0 for the padding
  int32_t zp_out = 0, act_min = kInt8Min, act_max = kInt8Max;
};

// isa: the path to pack for (SelectedIsa() normally); shapes it does not
// cover fall back to kPortable.
PackedConvInt8 PackConvInt8(const ConvShape& s, const reference::RequantParams& rp,
                            const int8_t* weight, const int32_t* bias, bool binary, Isa isa);
int64_t ScratchBytes(const PackedConvInt8& p);
void RunConvInt8(const PackedConvInt8& p, const int8_t* in, int8_t* out, void* scratch);
// Conv then a 2x2 stride-2 unpadded average pool of its int8 output, fused
// (the pool runs in the conv's epilogue on the requantized bytes, with the
// same arithmetic as AvgPoolInt8: sum of 4, RoundingDivide by 4, clamp to
// [pool_lo, pool_hi]). pooled: [O][out_h / 2][out_w / 2]. Only where
// ConvPoolApplies (avx512vnni position lanes, stride 1, padded width 32 --
// a 64-position block is then two output rows --, even out_h and out_w);
// scratch: ScratchBytes(p).
bool ConvPoolApplies(const PackedConvInt8& p);
void RunConvInt8Pool2x2(const PackedConvInt8& p, const int8_t* in, int32_t pool_lo,
                        int32_t pool_hi, int8_t* pooled, void* scratch);

struct PackedLinearInt8 {
  Isa isa = Isa::kPortable;
  LinearShape s;
  reference::RequantParams rp;
  const int8_t* weight = nullptr;
  const int32_t* bias = nullptr;
  std::vector<int16_t> wt16;  // portable: TransposeLinearWeightInt8
  int64_t i4 = 0, o16 = 0;    // inputs rounded up to 4, outputs to 16
  std::vector<int8_t> w8;     // [i4/4][o16][4] (avx512vnni)
  std::vector<int16_t> w16;   // [i4/2][o16][2] (avx2)
  std::vector<int32_t> corr, mult, shift;  // [o16] (zero multiplier in the padding)
  bool asymmetric = false;                 // some zp_w != 0 (avx512vnni only)
  std::vector<int32_t> wzp;                // [o16]
  int32_t zp_out = 0, act_min = kInt8Min, act_max = kInt8Max;
};

PackedLinearInt8 PackLinearInt8(const LinearShape& s, const reference::RequantParams& rp,
                                const int8_t* weight, const int32_t* bias, Isa isa);
int64_t ScratchBytes(const PackedLinearInt8& p);
// n samples: sample j reads in + j * in_stride and writes out + j * out_stride.
// The ISA kernels run several samples per pass over the weights.
void RunLinearInt8(const PackedLinearInt8& p, const int8_t* in, int64_t in_stride, int64_t n,
                   int8_t* out, int64_t out_stride, void* scratch);

// out[i] = AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(acc[i], mult[i], shift[i]),
// zp, lo, hi) with the ISA's vector code (for tests; the kernels fuse it).
void RequantizeRow(Isa isa, const int32_t* acc, int64_t n, const int32_t* mult,
                   const int32_t* shift, int32_t zp, int32_t lo, int32_t hi, int8_t* out);

}  // namespace qaccel::kernels::fast
