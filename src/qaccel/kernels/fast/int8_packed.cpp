// Packing and dispatch of the ISA integer kernels (see int8_packed.h).
#include "qaccel/kernels/fast/int8_packed.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "qaccel/core/error.h"
#include "qaccel/kernels/fast/binary_fast.h"
#include "qaccel/kernels/fast/conv_fast.h"
#include "qaccel/kernels/fast/int8_isa.h"
#include "qaccel/kernels/fast/linear_fast.h"

namespace qaccel::kernels::fast {
namespace {

bool SymmetricWeights(const reference::RequantParams& rp, int64_t channels) {
  for (int64_t c = 0; c < (rp.per_channel ? channels : 1); ++c)
    if (rp.weight_zero_point[c] != 0) return false;
  return true;
}

// acc offset of one output channel: bias - (128 + zp_in) * sum_k w, modulo 2^32
// (the kernels' sums wrap the same way; see int8_packed.h).
int32_t Correction(const int32_t* bias, int64_t o, int32_t zp_in, const int8_t* w, int64_t k) {
  int64_t sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += w[i];
  const uint32_t v = static_cast<uint32_t>(bias ? bias[o] : 0) -
                     static_cast<uint32_t>(static_cast<int64_t>(128 + zp_in) * sum);
  return static_cast<int32_t>(v);
}

// dst[0, n) = src[0, n) (^ 0x80 per byte when Flip) in 16- and 8-byte moves;
// the last move overlaps the previous one instead of running past n.
template <bool Flip>
inline void CopyRow(uint8_t* dst, const uint8_t* src, int64_t n) {
  constexpr uint64_t kFlip = Flip ? 0x8080808080808080ull : 0;
  auto move8 = [&](int64_t at) {
    uint64_t v;
    std::memcpy(&v, src + at, 8);
    v ^= kFlip;
    std::memcpy(dst + at, &v, 8);
  };
  if (n < 8) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ (Flip ? 0x80 : 0));
    return;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) move8(i);
  if (i < n) move8(n - 8);
}

#if defined(QACCEL_HAVE_ISA_KERNELS)
constexpr bool kIsaKernels = true;
#else
constexpr bool kIsaKernels = false;
#endif

}  // namespace

PackedConvInt8 PackConvInt8(const ConvShape& s, const reference::RequantParams& rp,
                            const int8_t* weight, const int32_t* bias, bool binary, Isa isa) {
  reference::CheckAccumulationDepth(s.depth(), "fast::ConvInt8");
  PackedConvInt8 p;
  p.s = s;
  p.rp = rp;
  p.weight = weight;
  p.bias = bias;
  p.binary = binary;
  // Strided convolutions run as stride 1 and keep every stride-th output
  // (output (y, x) is the stride-1 output (y * stride_h, x * stride_w)):
  // stride_h * stride_w times the work, still far cheaper than the portable path.
  const bool symmetric = SymmetricWeights(rp, s.out_c);
  if (!kIsaKernels || isa == Isa::kPortable || s.stride_h > 3 || s.stride_w > 3 ||
      (!symmetric && isa != Isa::kAvx512Vnni))
    return p;
  p.asymmetric = !symmetric;
  p.isa = isa;
  const int64_t ipg = s.in_c / s.groups, K = s.depth();
  p.wp = s.in_w + 2 * s.pad_w;
  p.hp = s.in_h + 2 * s.pad_h;
  const int64_t out_h1 = p.hp - s.kernel_h + 1;  // stride-1 output rows
  p.positions = out_h1 * p.wp;
  p.block = isa == Isa::kAvx512Vnni ? 64 : 16;
  p.blocks = (p.positions + p.block - 1) / p.block;
  p.k4 = (K + 3) / 4 * 4;
  p.plane = p.hp * p.wp;
  // The last block of the last plane reads up to this far (dropped positions).
  const int64_t max_tap = (ipg - 1) * p.plane + (s.kernel_h - 1) * p.wp + s.kernel_w - 1;
  p.in_bytes = std::max(s.in_c * p.plane, (s.in_c - ipg) * p.plane + max_tap + p.blocks * p.block);
  p.in_bytes = (p.in_bytes + 63) / 64 * 64;
  p.pad_value = static_cast<uint8_t>(rp.input_zero_point + 128);
  p.tap.assign(static_cast<size_t>(p.k4), 0);
  int64_t k = 0;
  for (int64_t i = 0; i < ipg; ++i)
    for (int64_t ky = 0; ky < s.kernel_h; ++ky)
      for (int64_t kx = 0; kx < s.kernel_w; ++kx, ++k)
        p.tap[static_cast<size_t>(k)] = static_cast<int32_t>(i * p.plane + ky * p.wp + kx);
  const int64_t O = s.out_c;
  p.w8.assign(static_cast<size_t>(O * p.k4), 0);
  p.w16.assign(static_cast<size_t>(O * p.k4), 0);
  p.corr.resize(static_cast<size_t>(O));
  p.mult.resize(static_cast<size_t>(O));
  p.shift.resize(static_cast<size_t>(O));
  p.wzp.resize(static_cast<size_t>(O));
  p.ones.assign(static_cast<size_t>(p.k4), 0);
  for (int64_t j = 0; j < K; ++j) p.ones[static_cast<size_t>(j)] = 1;
  for (int64_t o = 0; o < O; ++o) {
    p.wzp[static_cast<size_t>(o)] = rp.weight_zero_point[rp.per_channel ? o : 0];
    const int8_t* w = weight + o * K;
    for (int64_t j = 0; j < K; ++j) {
      p.w8[static_cast<size_t>(o * p.k4 + j)] = w[j];
      p.w16[static_cast<size_t>(o * p.k4 + j)] = w[j];
    }
    p.corr[static_cast<size_t>(o)] = Correction(bias, o, rp.input_zero_point, w, K);
    const int64_t c = rp.per_channel ? o : 0;
    p.mult[static_cast<size_t>(o)] = rp.multiplier[c];
    p.shift[static_cast<size_t>(o)] = rp.shift[c];
  }
  const int64_t opg = O / s.groups;
  // Channel lanes: a multiple of 16 channels per group, or (one group) fewer
  // channels padded to 16 lanes when that wastes less than a strided conv run
  // as stride 1 in position lanes (16 / opg < stride_h * stride_w).
  const int64_t opg16 = (opg + 15) / 16 * 16;
  p.channel_lanes = isa == Isa::kAvx512Vnni &&
                    (opg % 16 == 0 || (s.groups == 1 && opg16 < opg * s.stride_h * s.stride_w));
  if (p.channel_lanes) {
    p.opg16 = opg16;
    p.w8c.assign(static_cast<size_t>(s.groups * opg16 * p.k4), 0);
    for (int64_t o = 0; o < O; ++o) {
      const int64_t g = o / opg;
      for (int64_t j = 0; j < K; ++j)
        p.w8c[static_cast<size_t>(((g * (p.k4 / 4) + j / 4) * opg16 + (o - g * opg)) * 4 + j % 4)] =
            weight[o * K + j];
    }
    // Where output position q's 4 taps of tap group 0 sit in the columns (then
    // + 256 bytes per tap group), and its column sum: dword j of 128-bit lane
    // L of column vector r is block position 16 L + 4 r + j (BuildColumns).
    const int64_t P = s.out_h * s.out_w;
    p.lane_col.resize(static_cast<size_t>(P));
    p.lane_cs.resize(static_cast<size_t>(P));
    for (int64_t q = 0; q < P; ++q) {
      const int64_t pw = (q / s.out_w) * s.stride_h * p.wp + (q % s.out_w) * s.stride_w;
      const int64_t in_block = pw % 64;
      const int64_t lane = ((in_block % 16) / 4) * 16 + (in_block / 16) * 4 + in_block % 4;
      p.lane_col[static_cast<size_t>(q)] =
          static_cast<int32_t>((pw / 64) * (p.k4 / 4) * 256 + lane * 4);
      p.lane_cs[static_cast<size_t>(q)] = static_cast<int32_t>((pw / 64) * 64 + lane);
    }
    // The padding lanes (one group only): multiplier 0, shift 0, never stored.
    for (auto* v : {&p.corr, &p.mult, &p.shift, &p.wzp})
      v->resize(static_cast<size_t>(s.groups * opg16), 0);
  }
  // 2x2 stride-2 patches (int8_packed.h): output (oy, ox) reads words
  // A = oy * in_w + ox (row 2 oy, columns 2 ox and 2 ox + 1; in_w even, so
  // rows start on words) and A + in_w / 2 (row 2 oy + 1) of its channel's
  // plane. A vector of 16 positions takes the 64-word window from the first
  // position's A; shapes whose 16 positions span more (in_w > ~20) keep the
  // wide grid. Preferred over both grid layouts where it applies: it computes
  // each real output once, with no padded copy, column build or transpose.
  if (isa == Isa::kAvx512Vnni && symmetric && s.groups == 1 && s.kernel_h == 2 &&
      s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
      s.in_w % 2 == 0 && s.out_h >= 1 && s.out_w >= 1) {
    const int64_t P = s.out_h * s.out_w, vectors = (P + 15) / 16;
    std::vector<int32_t> base(static_cast<size_t>(vectors));
    std::vector<int16_t> idx(static_cast<size_t>(vectors * 32), 0);
    bool fits = true;
    for (int64_t v = 0; v < vectors && fits; ++v) {
      const int64_t b = (16 * v / s.out_w) * s.in_w + (16 * v) % s.out_w;
      base[static_cast<size_t>(v)] = static_cast<int32_t>(b);
      for (int64_t i = 0; i < 16 && 16 * v + i < P; ++i) {
        const int64_t q = 16 * v + i, a = (q / s.out_w) * s.in_w + q % s.out_w - b;
        fits = fits && a + s.in_w / 2 < 64;
        idx[static_cast<size_t>(v * 32 + 2 * i)] = static_cast<int16_t>(a);
        idx[static_cast<size_t>(v * 32 + 2 * i + 1)] = static_cast<int16_t>(a + s.in_w / 2);
      }
    }
    if (fits) {
      p.patch2x2 = true;
      p.channel_lanes = false;
      p.patch_base = std::move(base);
      p.patch_idx = std::move(idx);
    }
  }
  p.zp_out = rp.output_zero_point;
  p.act_min = rp.act_min;
  p.act_max = rp.act_max;
  return p;
}

namespace {
// Scratch of the wide-grid kernels: padded input | tap columns (of one block,
// or of all blocks for channel lanes) | wide output.
// (+ 256 bytes of column sums per block, for asymmetric weights).
int64_t ColBytes(const PackedConvInt8& p) {
  return (p.k4 * 64 + 256) * (p.channel_lanes ? p.blocks : 1);
}
int64_t WideBytes(const PackedConvInt8& p) { return p.s.out_c * p.blocks * p.block; }

// The scratch of the wide-grid kernels laid out (u | col | wide) and the
// padded u planes filled: border and tail = zp_in + 128, inside q XOR 0x80.
[[maybe_unused]] void FillPaddedInput(const PackedConvInt8& p, const int8_t* in, void* scratch,
                                      uint8_t*& u, uint8_t*& col, int8_t*& wide) {
  const ConvShape& s = p.s;
  auto* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch) + 63) / 64 * 64);
  u = base;
  col = u + p.in_bytes;
  wide = reinterpret_cast<int8_t*>(col + ColBytes(p));
  // The padded u planes: border and tail = zp_in + 128, inside q XOR 0x80.
  const int64_t used = s.in_c * p.plane;
  if (s.pad_h || s.pad_w) std::memset(u, p.pad_value, static_cast<size_t>(used));
  std::memset(u + used, p.pad_value, static_cast<size_t>(p.in_bytes - used));
  const auto* src = reinterpret_cast<const uint8_t*>(in);
  // rows rows of n bytes, flipped: masked 64-byte moves on AVX-512 (CopyRow's
  // 8-byte moves were ~3% of an early-exit LeNet run), else CopyRow.
  auto copy = [&](uint8_t* dst, int64_t dst_stride, const uint8_t* from, int64_t from_stride,
                  int64_t n, int64_t rows) {
#if defined(QACCEL_HAVE_ISA_KERNELS)
    if (p.isa == Isa::kAvx512Vnni)
      return detail::CopyFlipAvx512(dst, dst_stride, from, from_stride, n, rows);
#endif
    for (int64_t r = 0; r < rows; ++r) CopyRow<true>(dst + r * dst_stride, from + r * from_stride, n);
  };
  const int64_t in_plane = s.in_h * s.in_w;
  if (s.pad_w == 0)  // whole planes are contiguous rows
    copy(u + s.pad_h * p.wp, p.plane, src, in_plane, in_plane, s.in_c);
  else
    for (int64_t c = 0; c < s.in_c; ++c)
      copy(u + c * p.plane + s.pad_h * p.wp + s.pad_w, p.wp, src + c * in_plane, s.in_w, s.in_w,
           s.in_h);
}
}  // namespace

int64_t ScratchBytes(const PackedConvInt8& p) {
  if (p.isa == Isa::kPortable)
    return p.binary ? ConvScratchBytesBinary(p.s) : ConvScratchBytesInt8(p.s);
  return p.in_bytes + ColBytes(p) + WideBytes(p) + 64;
}

void RunConvInt8(const PackedConvInt8& p, const int8_t* in, int8_t* out, void* scratch) {
  if (p.isa == Isa::kPortable) {
    if (p.binary)
      ConvBinary(p.s, p.rp, in, p.weight, p.bias, out, scratch);
    else
      ConvInt8(p.s, p.rp, in, p.weight, p.bias, out, scratch);
    return;
  }
#if defined(QACCEL_HAVE_ISA_KERNELS)
  if (p.patch2x2) {  // reads `in` itself: no padded copy
    detail::ConvAvx512VnniPatch2x2(p, in, out);
    return;
  }
  const ConvShape& s = p.s;
  uint8_t *u, *col;
  int8_t* wide;
  FillPaddedInput(p, in, scratch, u, col, wide);
  if (p.channel_lanes) {
    detail::ConvAvx512VnniChannelLanes(p, u, col, out);
    return;
  }
  if (p.isa == Isa::kAvx512Vnni && s.stride_h == 1 && s.stride_w == 1) {
    detail::ConvAvx512Vnni(p, u, col, out);  // stores the output rows directly
    return;
  }
  if (p.isa == Isa::kAvx512Vnni)
    detail::ConvAvx512Vnni(p, u, col, wide);
  else
    detail::ConvAvx2(p, u, col, wide);
  // Drop the wide grid's extra columns.
  const int64_t stride = p.blocks * p.block;
  auto* dst = reinterpret_cast<uint8_t*>(out);
  const auto* w = reinterpret_cast<const uint8_t*>(wide);
  if (s.stride_h == 1 && s.stride_w == 1) {
    for (int64_t o = 0; o < s.out_c; ++o)
      for (int64_t y = 0; y < s.out_h; ++y)
        CopyRow<false>(dst + (o * s.out_h + y) * s.out_w, w + o * stride + y * p.wp, s.out_w);
  } else {
    for (int64_t o = 0; o < s.out_c; ++o)
      for (int64_t y = 0; y < s.out_h; ++y) {
        const uint8_t* row = w + o * stride + y * s.stride_h * p.wp;
        uint8_t* d = dst + (o * s.out_h + y) * s.out_w;
        for (int64_t x = 0; x < s.out_w; ++x) d[x] = row[x * s.stride_w];
      }
  }
#else
  (void)in, (void)out, (void)scratch;
#endif
}

bool ConvPoolApplies(const PackedConvInt8& p) {
  const ConvShape& s = p.s;
  return p.isa == Isa::kAvx512Vnni && !p.channel_lanes && s.stride_h == 1 && s.stride_w == 1 &&
         p.block == 64 && p.wp == 32 && s.out_h % 2 == 0 && s.out_w % 2 == 0 && s.out_w <= 32 &&
         p.blocks * 64 == s.out_h * p.wp;
}

void RunConvInt8Pool2x2(const PackedConvInt8& p, const int8_t* in, int32_t pool_lo, int32_t pool_hi,
                        int8_t* pooled, void* scratch) {
  Check(ConvPoolApplies(p), "RunConvInt8Pool2x2: this convolution has no fused pool kernel");
#if defined(QACCEL_HAVE_ISA_KERNELS)
  uint8_t *u, *col;
  int8_t* wide;
  FillPaddedInput(p, in, scratch, u, col, wide);
  detail::ConvAvx512Vnni(p, u, col, wide, pooled, pool_lo, pool_hi);
#else
  (void)in, (void)pool_lo, (void)pool_hi, (void)pooled, (void)scratch;
#endif
}

PackedLinearInt8 PackLinearInt8(const LinearShape& s, const reference::RequantParams& rp,
                                const int8_t* weight, const int32_t* bias, Isa isa) {
  reference::CheckAccumulationDepth(s.in_features, "fast::LinearInt8");
  PackedLinearInt8 p;
  p.s = s;
  p.rp = rp;
  p.weight = weight;
  p.bias = bias;
  const bool symmetric = SymmetricWeights(rp, s.out_features);
  if (!kIsaKernels || isa == Isa::kPortable || (!symmetric && isa != Isa::kAvx512Vnni)) {
    p.wt16 = TransposeLinearWeightInt8(s, weight, rp);
    return p;
  }
  p.isa = isa;
  p.asymmetric = !symmetric;
  const int64_t I = s.in_features, O = s.out_features;
  p.i4 = (I + 3) / 4 * 4;
  p.o16 = (O + 15) / 16 * 16;
  p.w8.assign(static_cast<size_t>(p.i4 * p.o16), 0);
  p.w16.assign(static_cast<size_t>(p.i4 * p.o16), 0);
  p.corr.assign(static_cast<size_t>(p.o16), 0);
  p.mult.assign(static_cast<size_t>(p.o16), 0);
  p.shift.assign(static_cast<size_t>(p.o16), 0);
  p.wzp.assign(static_cast<size_t>(p.o16), 0);
  for (int64_t o = 0; o < O; ++o) {
    p.wzp[static_cast<size_t>(o)] = rp.weight_zero_point[rp.per_channel ? o : 0];
    const int8_t* w = weight + o * I;
    for (int64_t i = 0; i < I; ++i) {
      p.w8[static_cast<size_t>(((i / 4) * p.o16 + o) * 4 + i % 4)] = w[i];
      p.w16[static_cast<size_t>(((i / 2) * p.o16 + o) * 2 + i % 2)] = w[i];
    }
    p.corr[static_cast<size_t>(o)] = Correction(bias, o, rp.input_zero_point, w, I);
    const int64_t c = rp.per_channel ? o : 0;
    p.mult[static_cast<size_t>(o)] = rp.multiplier[c];
    p.shift[static_cast<size_t>(o)] = rp.shift[c];
  }
  p.zp_out = rp.output_zero_point;
  p.act_min = rp.act_min;
  p.act_max = rp.act_max;
  return p;
}

namespace {
constexpr int64_t kLinearRows = 64;  // samples converted to u per pass
}

int64_t ScratchBytes(const PackedLinearInt8& p) {
  if (p.isa == Isa::kPortable) return p.s.out_features * 4;
  return kLinearRows * p.i4 * 2 + kLinearRows * 4 + 64;
}

void RunLinearInt8(const PackedLinearInt8& p, const int8_t* in, int64_t in_stride, int64_t n,
                   int8_t* out, int64_t out_stride, void* scratch) {
  if (p.isa == Isa::kPortable) {
    for (int64_t j = 0; j < n; ++j)
      LinearInt8(p.s, p.rp, in + j * in_stride, p.wt16.data(), p.bias, out + j * out_stride,
                 scratch);
    return;
  }
#if defined(QACCEL_HAVE_ISA_KERNELS)
  const int64_t I = p.s.in_features;
  auto* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch) + 63) / 64 * 64);
  const uint8_t pad = static_cast<uint8_t>(p.rp.input_zero_point + 128);
  for (int64_t j0 = 0; j0 < n; j0 += kLinearRows) {
    const int64_t nb = std::min(kLinearRows, n - j0);
    if (p.isa == Isa::kAvx512Vnni) {
      uint8_t* u = base;
      // Column sums sum_i (q_i - zp_in) per sample, for asymmetric weights.
      int32_t* cs = reinterpret_cast<int32_t*>(base + kLinearRows * p.i4 * 2);
      for (int64_t j = 0; j < nb; ++j) {
        const int8_t* src = in + (j0 + j) * in_stride;
        uint8_t* dst = u + j * p.i4;
        for (int64_t i = 0; i < I; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
        for (int64_t i = I; i < p.i4; ++i) dst[i] = pad;
        if (p.asymmetric) {
          int32_t sum = 0;
          for (int64_t i = 0; i < I; ++i) sum += src[i] - p.rp.input_zero_point;
          cs[j] = sum;
        }
      }
      detail::LinearAvx512Vnni(p, u, cs, nb, out + j0 * out_stride, out_stride);
    } else {
      int16_t* u = reinterpret_cast<int16_t*>(base);
      for (int64_t j = 0; j < nb; ++j) {
        const int8_t* src = in + (j0 + j) * in_stride;
        int16_t* dst = u + j * p.i4;
        for (int64_t i = 0; i < I; ++i) dst[i] = static_cast<int16_t>(src[i] + 128);
        for (int64_t i = I; i < p.i4; ++i) dst[i] = pad;
      }
      detail::LinearAvx2(p, u, nb, out + j0 * out_stride, out_stride);
    }
  }
#endif
}

void RequantizeRow(Isa isa, const int32_t* acc, int64_t n, const int32_t* mult,
                   const int32_t* shift, int32_t zp, int32_t lo, int32_t hi, int8_t* out) {
#if defined(QACCEL_HAVE_ISA_KERNELS)
  if (isa == Isa::kAvx512Vnni)
    return detail::RequantizeRowAvx512(acc, n, mult, shift, zp, lo, hi, out);
  if (isa == Isa::kAvx2) return detail::RequantizeRowAvx2(acc, n, mult, shift, zp, lo, hi, out);
#endif
  (void)isa;
  for (int64_t i = 0; i < n; ++i)
    out[i] =
        AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(acc[i], mult[i], shift[i]), zp, lo, hi);
}

}  // namespace qaccel::kernels::fast
