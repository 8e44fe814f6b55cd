// AVX-512 VNNI integer kernels (vpdpbusd: 64 u8 x s8 products per
// instruction). Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni
// for this file only (CMakeLists.txt) and called only when the CPU has them
// (isa.h). Bit-exactness argument: int8_packed.h.
#if defined(__AVX512VNNI__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "qaccel/kernels/fast/int8_isa.h"

namespace qaccel::kernels::fast::detail {
namespace {

// The three stages of MultiplyByQuantizedMultiplier (numeric_contract.h) on
// 16 lanes with per-lane multiplier m and shift, then + zp and the clamp.
// lo_zp / hi_zp are act_min - zp / act_max - zp: clamping r there and then
// adding zp equals clamping r + zp (no int32 overflow).
inline __m512i Requant(__m512i x, __m512i m, __m512i shift, __m512i zp, __m512i lo_zp,
                       __m512i hi_zp) {
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  const __m512i imin = _mm512_set1_epi32(INT32_MIN), imax = _mm512_set1_epi32(INT32_MAX);
  const __m512i left = _mm512_max_epi32(shift, zero);
  const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
  // 1. saturating left shift
  const __m512i sh = _mm512_sllv_epi32(x, left);
  const __mmask16 ovf = _mm512_cmpneq_epi32_mask(_mm512_srav_epi32(sh, left), x);
  const __m512i sat = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(x, zero), imax, imin);
  x = _mm512_mask_blend_epi32(ovf, sh, sat);
  // 2. (x * m + 2^30) >> 31 in 64 bits (= round to nearest, ties up); only the low
  //    32 bits are kept, which a logical shift gives as well as an arithmetic one.
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, m), nudge), 31);
  const __m512i odd = _mm512_slli_epi64(
      _mm512_add_epi64(
          _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32)), nudge),
      1);
  __m512i y = _mm512_mask_blend_epi32(0xAAAA, even, odd);
  const __mmask16 both_min =
      _mm512_cmpeq_epi32_mask(x, imin) & _mm512_cmpeq_epi32_mask(m, imin);
  y = _mm512_mask_mov_epi32(y, both_min, imax);
  // 3. rounding divide by 2^right, ties away from zero
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
  const __m512i rem = _mm512_and_si512(y, mask);
  const __m512i thr = _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(y, 31));
  __m512i r = _mm512_srav_epi32(y, right);
  r = _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(rem, thr), r, one);
  // 4. zero point and clamp
  r = _mm512_min_epi32(_mm512_max_epi32(r, lo_zp), hi_zp);
  return _mm512_add_epi32(r, zp);
}

// Requant for lanes whose shift is <= 0 (the usual case: multipliers below 1):
// stage 1 is the identity, and since a stored multiplier is never INT32_MIN
// (it is 0 or in [2^30, 2^31)) the high multiply cannot overflow. The same
// arithmetic as Requant otherwise; right = -shift, mask = 2^right - 1.
inline __m512i RequantNoLeft(__m512i x, __m512i m, __m512i m_odd, __m512i right, __m512i mask,
                             __m512i half, __m512i zp, __m512i lo_zp, __m512i hi_zp) {
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, m), nudge), 31);
  const __m512i odd = _mm512_slli_epi64(
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m_odd), nudge), 1);
  const __m512i y = _mm512_mask_blend_epi32(0xAAAA, even, odd);
  const __m512i thr = _mm512_sub_epi32(half, _mm512_srai_epi32(y, 31));
  __m512i r = _mm512_srav_epi32(y, right);
  r = _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(_mm512_and_si512(y, mask), thr), r,
                            _mm512_set1_epi32(1));
  r = _mm512_min_epi32(_mm512_max_epi32(r, lo_zp), hi_zp);
  return _mm512_add_epi32(r, zp);
}

// True when every lane has shift <= 0 and a multiplier other than INT32_MIN.
inline bool NoLeftApplies(__m512i m, __m512i shift) {
  return _mm512_cmpgt_epi32_mask(shift, _mm512_setzero_si512()) == 0 &&
         _mm512_cmpeq_epi32_mask(m, _mm512_set1_epi32(INT32_MIN)) == 0;
}

// The per-lane constants of RequantNoLeft.
struct NoLeftParams {
  __m512i m, m_odd, right, mask, half;
  NoLeftParams() = default;
  NoLeftParams(__m512i mult, __m512i shift) {
    m = mult;
    m_odd = _mm512_srli_epi64(mult, 32);
    right = _mm512_sub_epi32(_mm512_setzero_si512(), shift);
    const __m512i one = _mm512_set1_epi32(1);
    mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    half = _mm512_srli_epi32(mask, 1);
  }
  // One channel's constants from its scalars (shift <= 0, mult != INT32_MIN):
  // every lane holds the same values, so the odd-lane multiplier is m itself.
  NoLeftParams(int32_t mult, int32_t shift) {
    const auto r = static_cast<uint32_t>(-shift);
    const uint32_t msk = r >= 32 ? ~uint32_t{0} : (uint32_t{1} << r) - 1u;  // as vpsllvd
    m = _mm512_set1_epi32(mult);
    m_odd = m;
    right = _mm512_set1_epi32(static_cast<int32_t>(r));
    mask = _mm512_set1_epi32(static_cast<int32_t>(msk));
    half = _mm512_set1_epi32(static_cast<int32_t>(msk >> 1));
  }
  __m512i operator()(__m512i x, __m512i zp, __m512i lo, __m512i hi) const {
    return RequantNoLeft(x, m, m_odd, right, mask, half, zp, lo, hi);
  }
};

// RequantNoLeft without the zero point and the clamp (the caller applies them
// on the packed bytes): the rounded, shifted value r.
inline __m512i RequantNoClamp(__m512i x, const NoLeftParams& p) {
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, p.m), nudge), 31);
  const __m512i odd = _mm512_slli_epi64(
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), p.m_odd), nudge), 1);
  const __m512i y = _mm512_mask_blend_epi32(0xAAAA, even, odd);
  const __m512i thr = _mm512_sub_epi32(p.half, _mm512_srai_epi32(y, 31));
  const __m512i r = _mm512_srav_epi32(y, p.right);
  return _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(_mm512_and_si512(y, p.mask), thr), r,
                               _mm512_set1_epi32(1));
}

// RequantNoClamp with its two roundings done as one, for one channel with
// shift <= 0, right = -shift <= 31, multiplier in (0, 2^31) or 0. With
// t = x * m (exact in 64 bits), y = floor((t + 2^30) / 2^31) and, for
// right >= 1, r = floor((y + 2^(right-1) - [y < 0]) / 2^right) (the mask /
// threshold test of RequantNoLeft: ties up for y >= 0, down for y < 0).
// Since floor(floor(a) / n) = floor(a / n) for a natural n,
//   r = floor((t + 2^30 + 2^(right+30) - [y < 0] 2^31) / 2^(31+right)),
// one add and one arithmetic 64-bit shift. [y < 0] may be replaced by [t < 0]:
// they differ only for -2^30 <= t < 0, where y = 0 and both forms give 0.
// right = 0: r = y, no sign term. |t| < 2^62, so the sum fits int64.
struct FusedRequant {
  __m512i m, bias, neg;
  __m128i count;
  static bool Applies(int32_t mult, int32_t shift) {
    return shift <= 0 && shift >= -31 && mult >= 0;
  }
  FusedRequant(int32_t mult, int32_t shift) {
    const int right = -shift;
    m = _mm512_set1_epi32(mult);
    bias = _mm512_set1_epi64((int64_t{1} << 30) + (right ? int64_t{1} << (right + 30) : 0));
    neg = _mm512_set1_epi64(right ? int64_t{1} << 31 : 0);
    count = _mm_cvtsi32_si128(31 + right);
  }
  // t: 8 exact 64-bit products. kSign false: the sign term left out (NoSign).
  template <bool kSign>
  __m512i Half(__m512i t) const {
    __m512i sum = _mm512_add_epi64(t, bias);
    if constexpr (kSign)
      sum = _mm512_mask_sub_epi64(sum, _mm512_cmplt_epi64_mask(t, _mm512_setzero_si512()), sum,
                                  neg);
    return _mm512_sra_epi64(sum, count);
  }
  template <bool kSign>
  __m512i Apply(__m512i x) const {
    // The odd dwords moved down by a shuffle (port 5), not a 64-bit shift:
    // the multiplies and arithmetic shifts already load port 0 with vpdpbusd.
    const __m512i xo = _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0xF5));
    const __m512i even = Half<kSign>(_mm512_mul_epi32(x, m));
    const __m512i odd = Half<kSign>(_mm512_mul_epi32(xo, m));
    // dword 0 of each odd result's qword moves to the odd dword.
    return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, static_cast<_MM_PERM_ENUM>(0xA0));
  }
  __m512i operator()(__m512i x) const { return Apply<true>(x); }
  // The same value wherever it is >= 0, and <= 0 wherever the exact one is
  // (x < 0): without the sign term, for a caller that clamps at or above 0
  // (a folded ReLU: act_min >= zp_out) -- 8 operations per 16 lanes, not 12.
  // For t = x * m < 0 both forms are <= 0: the sum is below 2^30 + 2^(right+30)
  // <= 2^(31+right) (right >= 1; right = 0 has no sign term), and for t >= 0
  // the sign term is 0.
  static bool SignFree(int32_t zp_out, int32_t act_min) { return act_min >= zp_out; }
  __m512i NoSign(__m512i x) const { return Apply<false>(x); }
};

// FusedRequant with per-lane multipliers and shifts (channel lanes): the
// even qwords use the even lanes' constants, the odd qwords the odd lanes'.
struct FusedRequantLanes {
  __m512i m, m_odd, bias_e, bias_o, neg_e, neg_o, count_e, count_o;
  FusedRequantLanes() = default;
  // False (nothing set) unless every lane satisfies FusedRequant::Applies.
  bool Set(const int32_t* mult, const int32_t* shift) {
    alignas(64) int64_t be[8], bo[8], ne[8], no[8], ce[8], co[8];
    for (int i = 0; i < 16; ++i) {
      if (!FusedRequant::Applies(mult[i], shift[i])) return false;
      const int right = -shift[i];
      const int64_t b = (int64_t{1} << 30) + (right ? int64_t{1} << (right + 30) : 0);
      const int64_t n = right ? int64_t{1} << 31 : 0;
      // Plain stores (GCC's bounds sanitizer misreads `(c ? a : b)[k]` on arrays).
      int64_t* bias = i % 2 ? bo : be;
      int64_t* neg = i % 2 ? no : ne;
      int64_t* count = i % 2 ? co : ce;
      bias[i / 2] = b;
      neg[i / 2] = n;
      count[i / 2] = 31 + right;
    }
    m = _mm512_loadu_si512(mult);
    m_odd = _mm512_srli_epi64(m, 32);
    bias_e = _mm512_load_si512(be), bias_o = _mm512_load_si512(bo);
    neg_e = _mm512_load_si512(ne), neg_o = _mm512_load_si512(no);
    count_e = _mm512_load_si512(ce), count_o = _mm512_load_si512(co);
    return true;
  }
  static __m512i Half(__m512i t, __m512i bias, __m512i neg, __m512i count) {
    const __mmask8 lt = _mm512_cmplt_epi64_mask(t, _mm512_setzero_si512());
    __m512i sum = _mm512_add_epi64(t, bias);
    sum = _mm512_mask_sub_epi64(sum, lt, sum, neg);
    return _mm512_srav_epi64(sum, count);
  }
  // The requantized value with the zero point and clamp (as NoLeftParams()).
  __m512i operator()(__m512i x, __m512i zp, __m512i lo, __m512i hi) const {
    const __m512i even = Half(_mm512_mul_epi32(x, m), bias_e, neg_e, count_e);
    const __m512i odd = Half(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m_odd), bias_o, neg_o, count_o);
    __m512i r = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, static_cast<_MM_PERM_ENUM>(0xA0));
    r = _mm512_min_epi32(_mm512_max_epi32(r, lo), hi);
    return _mm512_add_epi32(r, zp);
  }
};

// cs: the block's centred column sums (ColumnSums), read when p.asymmetric.
// Fused 2x2 stride-2 average pool (ConvPoolOutput): the block is output rows
// 2b and 2b + 1 (wp = 32), pooled into row b of each channel of `out`.
struct PoolOut {
  int8_t* out = nullptr;  // null: no pool, the usual conv output
  int64_t h = 0, w = 0;   // the pooled plane
  int32_t lo = 0, hi = 0; // the pool's clamp
};

// The pool's constants, set up once per block (not per channel).
struct PoolConsts {
  __m512i lo, hi;  // 16-bit lanes
  __mmask16 keep;
  int8_t* row;          // row b of channel 0
  int64_t channel_step; // bytes between channels
  PoolConsts(const PoolOut& po, int64_t b)
      : lo(_mm512_set1_epi16(static_cast<int16_t>(po.lo))),
        hi(_mm512_set1_epi16(static_cast<int16_t>(po.hi))),
        keep(static_cast<__mmask16>((1u << po.w) - 1)), row(po.out + b * po.w),
        channel_step(po.h * po.w) {}
};

// The fused pool of two channels at once, in 16-bit lanes: vpmaddubsw with
// ones gives each row's horizontal pair sums of the int8 outputs (|sum| <= 256,
// no saturation), the two rows' sums of both channels meet in one vector
// (two 256-bit shuffles), then the arithmetic of AvgPool2x2Avx512 (sum of the
// four int8 values, RoundingDivide by 4 half away from zero, clamp) in int16,
// where the sums of four int8 values fit. The rounding as
// (sum + 2 + (sum < 0 ? -1 : 0)) >> 2 (arithmetic): for sum >= 0
// floor((sum + 2) / 4); for sum < 0 floor((sum + 1) / 4) = ceil((sum - 2) / 4)
// = -floor((|sum| + 2) / 4), the same values. Each channel's block is output
// rows 2b (bytes 0-31) and 2b + 1 (bytes 32-63), columns 0-31, pooled into row
// b. store_b false: only channel a is stored (an odd channel count's last one).
inline void StorePooledPair(__m512i a, __m512i b, const PoolConsts& pc, int64_t channel_a,
                            bool store_b) {
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i ha = _mm512_maddubs_epi16(ones, a), hb = _mm512_maddubs_epi16(ones, b);
  // int16 k of h: positions 2k, 2k + 1 (k < 16: row 2b, else row 2b + 1).
  const __m512i top = _mm512_shuffle_i64x2(ha, hb, 0x44);     // a.lanes 0,1 | b.lanes 0,1
  const __m512i bottom = _mm512_shuffle_i64x2(ha, hb, 0xEE);  // a.lanes 2,3 | b.lanes 2,3
  const __m512i sum = _mm512_add_epi16(top, bottom);
  const __m512i biased = _mm512_add_epi16(_mm512_add_epi16(sum, _mm512_set1_epi16(2)),
                                          _mm512_srai_epi16(sum, 15));
  __m512i r = _mm512_srai_epi16(biased, 2);
  r = _mm512_min_epi16(_mm512_max_epi16(r, pc.lo), pc.hi);
  const __m256i bytes = _mm512_cvtsepi16_epi8(r);  // channel a: bytes 0-15, b: 16-31
  int8_t* row = pc.row + channel_a * pc.channel_step;
  _mm_mask_storeu_epi8(row, pc.keep, _mm256_castsi256_si128(bytes));
  if (store_b)
    _mm_mask_storeu_epi8(row + pc.channel_step, pc.keep, _mm256_extracti128_si256(bytes, 1));
}

template <int NO, int T4N = 0>
void ConvChannels(const PackedConvInt8& p, const __m512i* col, int64_t o0, int64_t pos0,
                  int8_t* wide, const __m512i* cs, const PoolOut& po) {
  const int64_t t4n = T4N ? T4N : p.k4 / 4, stride = p.blocks * p.block;
  const bool direct = p.s.stride_h == 1 && p.s.stride_w == 1;  // wide is then the output
  const int8_t* w = p.w8.data() + o0 * p.k4;
  __m512i acc[NO][4];
  for (int j = 0; j < NO; ++j)
    for (int r = 0; r < 4; ++r) acc[j][r] = _mm512_set1_epi32(p.corr[static_cast<size_t>(o0 + j)]);
#pragma GCC unroll 8
  for (int64_t t = 0; t < t4n; ++t) {
    const __m512i c0 = _mm512_load_si512(col + 4 * t), c1 = _mm512_load_si512(col + 4 * t + 1);
    const __m512i c2 = _mm512_load_si512(col + 4 * t + 2), c3 = _mm512_load_si512(col + 4 * t + 3);
#pragma GCC unroll 8
    for (int j = 0; j < NO; ++j) {
      const __m512i wb = _mm512_set1_epi32(Load32(w + j * p.k4 + 4 * t));
      acc[j][0] = _mm512_dpbusd_epi32(acc[j][0], c0, wb);
      acc[j][1] = _mm512_dpbusd_epi32(acc[j][1], c1, wb);
      acc[j][2] = _mm512_dpbusd_epi32(acc[j][2], c2, wb);
      acc[j][3] = _mm512_dpbusd_epi32(acc[j][3], c3, wb);
    }
  }
  if (p.asymmetric)  // - zp_w * sum_k (q - zp_in)
    for (int j = 0; j < NO; ++j) {
      const __m512i zw = _mm512_set1_epi32(p.wzp[static_cast<size_t>(o0 + j)]);
      for (int r = 0; r < 4; ++r)
        acc[j][r] = _mm512_sub_epi32(acc[j][r], _mm512_mullo_epi32(_mm512_load_si512(cs + r), zw));
    }
  // Stride 1: straight into the CHW output, one masked store per output row
  // the block touches (byte i is wide position pos0 + i, i.e. row y, column
  // pos0 + i - y * wp); the dropped columns are masked off. The rows and
  // masks are the same for every channel of the block.
  const ConvShape& s = p.s;
  int64_t row_at[66];  // a block of 64 positions touches at most 65 rows (wp >= 1)
  __mmask64 row_keep[66];
  int rows = 0;
  if (direct && !po.out)
    for (int64_t y = pos0 / p.wp; y < s.out_h && y * p.wp < pos0 + 64; ++y) {
      const int64_t first = std::max(y * p.wp, pos0) - pos0;
      const int64_t last = std::min(y * p.wp + s.out_w, pos0 + 64) - pos0;  // exclusive
      if (first >= last) continue;
      row_keep[rows] = (last - first == 64 ? ~uint64_t{0} : ((uint64_t{1} << (last - first)) - 1))
                       << first;
      row_at[rows++] = y * s.out_w + (pos0 - y * p.wp);  // where byte 0 would go
    }
  // Zero point and clamp after the packs: packs_epi32 saturates r to int16,
  // adds_epi16 adds zp with saturation, packs_epi16 saturates to int8, then
  // the clamp to [act_min, act_max] (within int8). Every step is monotone
  // and exact inside its range, so the result is clamp(r + zp, act_min, act_max)
  // as AddZeroPointAndClamp gives (a saturated r is beyond any bound).
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(p.zp_out));
  const __m512i lo8 = _mm512_set1_epi8(static_cast<char>(p.act_min));
  const __m512i hi8 = _mm512_set1_epi8(static_cast<char>(p.act_max));
  const __m512i wide_lo = _mm512_set1_epi32(INT32_MIN), wide_hi = _mm512_set1_epi32(INT32_MAX);
  const __m512i zero = _mm512_setzero_si512();
  const PoolConsts pc(po, po.out ? pos0 / 64 : 0);
  __m512i previous = zero;  // the pool's pending even channel
  const bool sign_free = FusedRequant::SignFree(p.zp_out, p.act_min);
  for (int j = 0; j < NO; ++j) {
    const __m512i m = _mm512_set1_epi32(p.mult[static_cast<size_t>(o0 + j)]);
    const __m512i sh = _mm512_set1_epi32(p.shift[static_cast<size_t>(o0 + j)]);
    __m512i q[4];
    if (FusedRequant::Applies(p.mult[static_cast<size_t>(o0 + j)], p.shift[static_cast<size_t>(o0 + j)])) {
      const FusedRequant rq(p.mult[static_cast<size_t>(o0 + j)], p.shift[static_cast<size_t>(o0 + j)]);
      if (sign_free) {  // the byte clamp below starts at or above zp_out
        for (int r = 0; r < 4; ++r) q[r] = rq.NoSign(acc[j][r]);
      } else {
        for (int r = 0; r < 4; ++r) q[r] = rq(acc[j][r]);
      }
    } else if (p.shift[static_cast<size_t>(o0 + j)] <= 0 && p.mult[static_cast<size_t>(o0 + j)] != INT32_MIN) {
      const NoLeftParams rq(p.mult[static_cast<size_t>(o0 + j)], p.shift[static_cast<size_t>(o0 + j)]);
      for (int r = 0; r < 4; ++r) q[r] = RequantNoClamp(acc[j][r], rq);
    } else {
      // zp 0 and no clamp (the int32 range): the raw requantized value.
      for (int r = 0; r < 4; ++r) q[r] = Requant(acc[j][r], m, sh, zero, wide_lo, wide_hi);
    }
    // The in-lane packs undo the in-lane unpacks of the columns: byte i is
    // position pos0 + i.
    __m512i out = _mm512_packs_epi16(_mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), zp16),
                                     _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), zp16));
    out = _mm512_min_epi8(_mm512_max_epi8(out, lo8), hi8);
    if (po.out) {  // channels in pairs (the last one alone when NO is odd)
      if (j % 2 == 1) {
        StorePooledPair(previous, out, pc, o0 + j - 1, true);
      } else if (j == NO - 1) {
        StorePooledPair(out, out, pc, o0 + j, false);
      }
      previous = out;
      continue;
    }
    if (!direct) {
      _mm512_storeu_si512(wide + (o0 + j) * stride + pos0, out);
      continue;
    }
    int8_t* plane = wide + (o0 + j) * s.out_h * s.out_w;  // `wide` is the output here
    for (int k = 0; k < rows; ++k) _mm512_mask_storeu_epi8(plane + row_at[k], row_keep[k], out);
  }
}

using ConvChannelsFn = void (*)(const PackedConvInt8&, const __m512i*, int64_t, int64_t, int8_t*,
                                const __m512i*, const PoolOut&);
constexpr ConvChannelsFn kConvChannels[] = {nullptr,          &ConvChannels<1>, &ConvChannels<2>,
                                            &ConvChannels<3>, &ConvChannels<4>, &ConvChannels<5>,
                                            &ConvChannels<6>};

template <int NB, int OB>
void LinearTile(const PackedLinearInt8& p, const uint8_t* u, const int32_t* cs, int64_t v0,
                int8_t* out, int64_t out_stride) {
  const int64_t groups = p.i4 / 4, O = p.s.out_features;
  __m512i acc[NB][OB];
  for (int v = 0; v < OB; ++v) {
    const __m512i c = _mm512_loadu_si512(p.corr.data() + (v0 + v) * 16);
    for (int j = 0; j < NB; ++j) acc[j][v] = c;
  }
  const int8_t* w = p.w8.data() + v0 * 64;
  for (int64_t g = 0; g < groups; ++g) {
    __m512i wv[OB];
    for (int v = 0; v < OB; ++v) wv[v] = _mm512_loadu_si512(w + (g * p.o16 + v * 16) * 4);
    for (int j = 0; j < NB; ++j) {
      const __m512i x = _mm512_set1_epi32(Load32(u + j * p.i4 + 4 * g));
      for (int v = 0; v < OB; ++v) acc[j][v] = _mm512_dpbusd_epi32(acc[j][v], x, wv[v]);
    }
  }
  const __m512i zp = _mm512_set1_epi32(p.zp_out);
  const __m512i lo = _mm512_set1_epi32(p.act_min - p.zp_out);
  const __m512i hi = _mm512_set1_epi32(p.act_max - p.zp_out);
  if (p.asymmetric)  // - zp_w * sum_i (q_i - zp_in)
    for (int v = 0; v < OB; ++v) {
      const __m512i zw = _mm512_loadu_si512(p.wzp.data() + (v0 + v) * 16);
      for (int j = 0; j < NB; ++j)
        acc[j][v] = _mm512_sub_epi32(acc[j][v], _mm512_mullo_epi32(_mm512_set1_epi32(cs[j]), zw));
    }
  for (int v = 0; v < OB; ++v) {
    const int64_t o = (v0 + v) * 16;
    const __m512i m = _mm512_loadu_si512(p.mult.data() + o);
    const __m512i sh = _mm512_loadu_si512(p.shift.data() + o);
    const __mmask16 keep = static_cast<__mmask16>((1u << std::min<int64_t>(16, O - o)) - 1);
    if (NoLeftApplies(m, sh)) {
      const NoLeftParams rq(m, sh);
      for (int j = 0; j < NB; ++j)
        _mm_mask_storeu_epi8(out + j * out_stride + o, keep,
                             _mm512_cvtsepi32_epi8(rq(acc[j][v], zp, lo, hi)));
    } else {
      for (int j = 0; j < NB; ++j)
        _mm_mask_storeu_epi8(out + j * out_stride + o, keep,
                             _mm512_cvtsepi32_epi8(Requant(acc[j][v], m, sh, zp, lo, hi)));
    }
  }
}

using LinearTileFn = void (*)(const PackedLinearInt8&, const uint8_t*, const int32_t*, int64_t,
                              int8_t*, int64_t);
constexpr LinearTileFn kLinearTiles[4][4] = {
    {&LinearTile<1, 1>, &LinearTile<1, 2>, &LinearTile<1, 3>, &LinearTile<1, 4>},
    {&LinearTile<2, 1>, &LinearTile<2, 2>, &LinearTile<2, 3>, &LinearTile<2, 4>},
    {&LinearTile<3, 1>, &LinearTile<3, 2>, &LinearTile<3, 3>, &LinearTile<3, 4>},
    {&LinearTile<4, 1>, &LinearTile<4, 2>, &LinearTile<4, 3>, &LinearTile<4, 4>}};

// 4 taps x 64 positions -> 4 vectors of (position, 4 taps) dwords; dword j of
// 128-bit lane L of vector r is position 16 L + 4 r + j.
inline void BuildColumns(const PackedConvInt8& p, const uint8_t* src, __m512i* col) {
  const int64_t t4n = p.k4 / 4;
  for (int64_t t = 0; t < t4n; ++t) {
    const int32_t* off = p.tap.data() + 4 * t;
    const __m512i a0 = _mm512_loadu_si512(src + off[0]), a1 = _mm512_loadu_si512(src + off[1]);
    const __m512i a2 = _mm512_loadu_si512(src + off[2]), a3 = _mm512_loadu_si512(src + off[3]);
    const __m512i lo01 = _mm512_unpacklo_epi8(a0, a1), hi01 = _mm512_unpackhi_epi8(a0, a1);
    const __m512i lo23 = _mm512_unpacklo_epi8(a2, a3), hi23 = _mm512_unpackhi_epi8(a2, a3);
    _mm512_store_si512(col + 4 * t, _mm512_unpacklo_epi16(lo01, lo23));
    _mm512_store_si512(col + 4 * t + 1, _mm512_unpackhi_epi16(lo01, lo23));
    _mm512_store_si512(col + 4 * t + 2, _mm512_unpacklo_epi16(hi01, hi23));
    _mm512_store_si512(col + 4 * t + 3, _mm512_unpackhi_epi16(hi01, hi23));
  }
}

// sum_k (q_k - zp_in) over the real taps for the block's 64 positions, in the
// columns' order: vpdpbusd of the columns with 1 (real tap) / 0 (padding tap)
// bytes, starting from -K * (128 + zp_in) (modulo 2^32; the result fits).
inline void ColumnSums(const PackedConvInt8& p, const __m512i* col, __m512i* cs) {
  const int64_t t4n = p.k4 / 4;
  const uint32_t start = 0u - static_cast<uint32_t>(p.s.depth()) *
                                  static_cast<uint32_t>(128 + p.rp.input_zero_point);
  __m512i a[4];
  for (int r = 0; r < 4; ++r) a[r] = _mm512_set1_epi32(static_cast<int32_t>(start));
  for (int64_t t = 0; t < t4n; ++t) {
    const __m512i ones = _mm512_set1_epi32(Load32(p.ones.data() + 4 * t));
    for (int r = 0; r < 4; ++r) a[r] = _mm512_dpbusd_epi32(a[r], _mm512_load_si512(col + 4 * t + r), ones);
  }
  for (int r = 0; r < 4; ++r) _mm512_store_si512(cs + r, a[r]);
}

// In place: row i of 16 bytes -> column i (4 rounds of the perfect shuffle).
inline void Transpose16x16(__m128i* a) {
  for (int round = 0; round < 4; ++round) {
    __m128i t[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm_unpacklo_epi8(a[i], a[i + 8]);
      t[2 * i + 1] = _mm_unpackhi_epi8(a[i], a[i + 8]);
    }
    for (int i = 0; i < 16; ++i) a[i] = t[i];
  }
}

// NC output channels (from o0) of a 2x2 stride-2 patch conv (p.patch2x2),
// positions in the lanes: tap group c of 16 positions is one vpermt2w of the
// vector's 128-byte window of plane c (int8_packed.cpp), XOR 0x80 = u.
template <int NC>
void Patch2x2Channels(const PackedConvInt8& p, const int8_t* in, int64_t o0, int8_t* out) {
  const ConvShape& s = p.s;
  const int64_t P = s.out_h * s.out_w, vectors = (P + 15) / 16;
  const int64_t plane_words = s.in_h * s.in_w / 2, total_words = s.in_c * plane_words;
  const auto* words = reinterpret_cast<const int16_t*>(in);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i zp = _mm512_set1_epi32(p.zp_out);
  const __m512i lo = _mm512_set1_epi32(p.act_min - p.zp_out);
  const __m512i hi = _mm512_set1_epi32(p.act_max - p.zp_out);
  const int8_t* w = p.w8.data() + o0 * p.k4;
  const bool sign_free = FusedRequant::SignFree(p.zp_out, p.act_min);
  for (int64_t v = 0; v < vectors; ++v) {
    const __m512i idx = _mm512_loadu_si512(p.patch_idx.data() + v * 32);
    __m512i acc[NC];
    for (int j = 0; j < NC; ++j) acc[j] = _mm512_set1_epi32(p.corr[static_cast<size_t>(o0 + j)]);
    for (int64_t c = 0; c < s.in_c; ++c) {
      // The window's words that exist (masked loads: the last window of the
      // last plane may reach past the tensor; those lanes are never selected).
      const int64_t first = c * plane_words + p.patch_base[static_cast<size_t>(v)];
      const int64_t avail = std::min<int64_t>(64, total_words - first);
      const auto m0 = static_cast<__mmask32>(avail >= 32 ? ~0u : (1u << avail) - 1u);
      const auto m1 =
          static_cast<__mmask32>(avail >= 64 ? ~0u : avail <= 32 ? 0u : (1u << (avail - 32)) - 1u);
      const __m512i a = _mm512_maskz_loadu_epi16(m0, words + first);
      const __m512i b = _mm512_maskz_loadu_epi16(m1, words + first + 32);
      const __m512i col = _mm512_xor_si512(_mm512_permutex2var_epi16(a, idx, b), flip);
#pragma GCC unroll 16
      for (int j = 0; j < NC; ++j)
        acc[j] = _mm512_dpbusd_epi32(acc[j], col, _mm512_set1_epi32(Load32(w + j * p.k4 + 4 * c)));
    }
    const int64_t q0 = 16 * v, nq = std::min<int64_t>(16, P - q0);
    const auto keep = static_cast<__mmask16>((1u << nq) - 1u);
    for (int j = 0; j < NC; ++j) {
      const int32_t mult = p.mult[static_cast<size_t>(o0 + j)];
      const int32_t shift = p.shift[static_cast<size_t>(o0 + j)];
      __m512i r;
      if (FusedRequant::Applies(mult, shift)) {
        const FusedRequant rq(mult, shift);
        r = sign_free ? rq.NoSign(acc[j]) : rq(acc[j]);  // lo >= 0: see NoSign
        r = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(r, lo), hi), zp);
      } else if (shift <= 0 && mult != INT32_MIN) {
        r = NoLeftParams(mult, shift)(acc[j], zp, lo, hi);
      } else {
        r = Requant(acc[j], _mm512_set1_epi32(mult), _mm512_set1_epi32(shift), zp, lo, hi);
      }
      _mm_mask_storeu_epi8(out + (o0 + j) * P + q0, keep, _mm512_cvtsepi32_epi8(r));
    }
  }
}

using Patch2x2Fn = void (*)(const PackedConvInt8&, const int8_t*, int64_t, int8_t*);
constexpr Patch2x2Fn kPatch2x2[] = {nullptr,
                                    &Patch2x2Channels<1>,
                                    &Patch2x2Channels<2>,
                                    &Patch2x2Channels<3>,
                                    &Patch2x2Channels<4>,
                                    &Patch2x2Channels<5>,
                                    &Patch2x2Channels<6>,
                                    &Patch2x2Channels<7>,
                                    &Patch2x2Channels<8>};

}  // namespace

void CopyFlipAvx512(uint8_t* dst, int64_t dst_stride, const uint8_t* src, int64_t src_stride,
                    int64_t n, int64_t rows) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; i += 64) {
      const int64_t k = std::min<int64_t>(64, n - i);
      const __mmask64 m = k == 64 ? ~__mmask64{0} : (__mmask64{1} << k) - 1;
      const __m512i v = _mm512_maskz_loadu_epi8(m, src + r * src_stride + i);
      _mm512_mask_storeu_epi8(dst + r * dst_stride + i, m, _mm512_xor_si512(v, flip));
    }
}

void ConvAvx512VnniPatch2x2(const PackedConvInt8& p, const int8_t* in, int8_t* out) {
  for (int64_t o0 = 0; o0 < p.s.out_c; o0 += 8)
    kPatch2x2[std::min<int64_t>(8, p.s.out_c - o0)](p, in, o0, out);
}

void ConvAvx512VnniChannelLanes(const PackedConvInt8& p, const uint8_t* u, uint8_t* col_bytes,
                                int8_t* out) {
  const ConvShape& s = p.s;
  const int64_t ipg = s.in_c / s.groups, opg = s.out_c / s.groups, t4n = p.k4 / 4;
  const int64_t P = s.out_h * s.out_w;
  __m512i* col = reinterpret_cast<__m512i*>(col_bytes);
  const __m512i zp = _mm512_set1_epi32(p.zp_out);
  const __m512i lo = _mm512_set1_epi32(p.act_min - p.zp_out);
  const __m512i hi = _mm512_set1_epi32(p.act_max - p.zp_out);
  for (int64_t g = 0; g < s.groups; ++g) {
    const uint8_t* ug = u + g * ipg * p.plane;
    __m512i* cs = col + p.blocks * t4n * 4;  // 4 vectors of column sums per block
    for (int64_t b = 0; b < p.blocks; ++b) {
      BuildColumns(p, ug + b * 64, col + b * t4n * 4);
      if (p.asymmetric) ColumnSums(p, col + b * t4n * 4, cs + b * 4);
    }
    // The requantization constants of the first kHoisted 16-channel vectors,
    // once per group instead of once per 16 positions (the stores to `out`
    // may alias p.mult for the compiler, so it would rebuild them).
    constexpr int64_t kHoisted = 4;
    NoLeftParams hoisted[kHoisted];
    bool hoisted_ok[kHoisted] = {};
    FusedRequantLanes fused[kHoisted];
    bool fused_ok[kHoisted] = {};
    for (int64_t v = 0; v < std::min(kHoisted, p.opg16 / 16); ++v) {
      fused_ok[v] = fused[v].Set(p.mult.data() + g * opg + v * 16, p.shift.data() + g * opg + v * 16);
      const __m512i m = _mm512_loadu_si512(p.mult.data() + g * opg + v * 16);
      const __m512i sh = _mm512_loadu_si512(p.shift.data() + g * opg + v * 16);
      hoisted_ok[v] = NoLeftApplies(m, sh);
      if (hoisted_ok[v]) hoisted[v] = NoLeftParams(m, sh);
    }
    for (int64_t q0 = 0; q0 < P; q0 += 16) {
      const int64_t nq = std::min<int64_t>(16, P - q0);
      // Where position q's 4 taps of tap group 0 sit in col (then + 256 bytes per group).
      const uint8_t* at[16];
      int32_t csq[16];  // centred column sum of each position (asymmetric weights)
      for (int64_t i = 0; i < 16; ++i) {
        const auto q = static_cast<size_t>(q0 + std::min(i, nq - 1));
        at[i] = col_bytes + p.lane_col[q];
        if (p.asymmetric) csq[i] = reinterpret_cast<const int32_t*>(cs)[p.lane_cs[q]];
      }
      for (int64_t v = 0; v < p.opg16 / 16; ++v) {
        const int64_t o0 = g * opg + v * 16;  // opg16 > opg: one group, o0 = v * 16
        const __m512i corr = _mm512_loadu_si512(p.corr.data() + o0);
        __m512i acc[16];
        for (int i = 0; i < 16; ++i) acc[i] = corr;
        const int8_t* w = p.w8c.data() + (g * t4n * p.opg16 + v * 16) * 4;
        for (int64_t t = 0; t < t4n; ++t) {
          const __m512i wv = _mm512_loadu_si512(w + t * p.opg16 * 4);
#pragma GCC unroll 16
          for (int i = 0; i < 16; ++i)
            acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_set1_epi32(Load32(at[i] + t * 256)), wv);
        }
        if (p.asymmetric) {
          const __m512i zw = _mm512_loadu_si512(p.wzp.data() + o0);
          for (int i = 0; i < 16; ++i)
            acc[i] = _mm512_sub_epi32(acc[i], _mm512_mullo_epi32(_mm512_set1_epi32(csq[i]), zw));
        }
        const __m512i m = _mm512_loadu_si512(p.mult.data() + o0);
        const __m512i sh = _mm512_loadu_si512(p.shift.data() + o0);
        __m128i rows[16];
        if (v < kHoisted && fused_ok[v]) {
          const FusedRequantLanes& rq = fused[v];
          for (int i = 0; i < 16; ++i) rows[i] = _mm512_cvtsepi32_epi8(rq(acc[i], zp, lo, hi));
        } else if (v < kHoisted && hoisted_ok[v]) {
          const NoLeftParams& rq = hoisted[v];
          for (int i = 0; i < 16; ++i) rows[i] = _mm512_cvtsepi32_epi8(rq(acc[i], zp, lo, hi));
        } else if (NoLeftApplies(m, sh)) {
          const NoLeftParams rq(m, sh);
          for (int i = 0; i < 16; ++i) rows[i] = _mm512_cvtsepi32_epi8(rq(acc[i], zp, lo, hi));
        } else {
          for (int i = 0; i < 16; ++i)
            rows[i] = _mm512_cvtsepi32_epi8(Requant(acc[i], m, sh, zp, lo, hi));
        }
        Transpose16x16(rows);  // rows[c] = channel o0 + c at positions q0..q0+15
        const __mmask16 keep = static_cast<__mmask16>((1u << nq) - 1);
        const int64_t nc = std::min<int64_t>(16, opg - v * 16);  // real channels
        for (int64_t c = 0; c < nc; ++c) _mm_mask_storeu_epi8(out + (o0 + c) * P + q0, keep, rows[c]);
      }
    }
  }
}

void ConvAvx512Vnni(const PackedConvInt8& p, const uint8_t* u, uint8_t* col_bytes, int8_t* wide,
                    int8_t* pooled, int32_t pool_lo, int32_t pool_hi) {
  PoolOut po;
  if (pooled) po = {pooled, p.s.out_h / 2, p.s.out_w / 2, pool_lo, pool_hi};
  const ConvShape& s = p.s;
  const int64_t ipg = s.in_c / s.groups, opg = s.out_c / s.groups, t4n = p.k4 / 4;
  __m512i* col = reinterpret_cast<__m512i*>(col_bytes);
  for (int64_t g = 0; g < s.groups; ++g) {
    const uint8_t* ug = u + g * ipg * p.plane;
    for (int64_t b = 0; b < p.blocks; ++b) {
      const int64_t pos0 = b * 64;
      const uint8_t* src = ug + pos0;
      BuildColumns(p, src, col);
      __m512i* cs = col + p.k4;  // after the block's k4 / 4 * 4 column vectors
      if (p.asymmetric) ColumnSums(p, col, cs);
      if (t4n == 7 && opg == 6) {  // LeNet's conv1 (5x5, one input channel, 6 channels)
        ConvChannels<6, 7>(p, col, g * opg, pos0, wide, cs, po);
        continue;
      }
      for (int64_t o0 = g * opg; o0 < (g + 1) * opg; o0 += 6)
        kConvChannels[std::min<int64_t>(6, (g + 1) * opg - o0)](p, col, o0, pos0, wide, cs, po);
    }
  }
}

void LinearAvx512Vnni(const PackedLinearInt8& p, const uint8_t* u, const int32_t* cs, int64_t n,
                      int8_t* out, int64_t out_stride) {
  const int64_t nv = p.o16 / 16;
  for (int64_t j0 = 0; j0 < n; j0 += 4) {
    const int64_t nb = std::min<int64_t>(4, n - j0);
    for (int64_t v0 = 0; v0 < nv; v0 += 4)
      kLinearTiles[nb - 1][std::min<int64_t>(4, nv - v0) - 1](
          p, u + j0 * p.i4, cs + j0, v0, out + j0 * out_stride, out_stride);
  }
}

void RequantizeRowAvx512(const int32_t* acc, int64_t n, const int32_t* mult, const int32_t* shift,
                         int32_t zp, int32_t lo, int32_t hi, int8_t* out) {
  const __m512i z = _mm512_set1_epi32(zp), l = _mm512_set1_epi32(lo - zp),
                h = _mm512_set1_epi32(hi - zp);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = static_cast<__mmask16>((1u << std::min<int64_t>(16, n - i)) - 1);
    const __m512i x = _mm512_maskz_loadu_epi32(k, acc + i);
    const __m512i m = _mm512_maskz_loadu_epi32(k, mult + i);
    const __m512i sh = _mm512_maskz_loadu_epi32(k, shift + i);
    // The kernels' paths in their order of preference (FusedRequantLanes
    // where every lane allows it), so the edge-value tests reach them all.
    alignas(64) int32_t m16[16], sh16[16];
    _mm512_store_si512(m16, m);
    _mm512_store_si512(sh16, sh);
    FusedRequantLanes fused;
    const __m512i r = fused.Set(m16, sh16)      ? fused(x, z, l, h)
                      : NoLeftApplies(m, sh) ? NoLeftParams(m, sh)(x, z, l, h)
                                             : Requant(x, m, sh, z, l, h);
    _mm_mask_storeu_epi8(out + i, k, _mm512_cvtsepi32_epi8(r));
  }
}

void AvgPool2x2Avx512(const PoolShape& s, int32_t lo, int32_t hi, const int8_t* in, int8_t* out) {
  const __m512i ones = _mm512_set1_epi16(1), two = _mm512_set1_epi32(2);
  const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y) {
      const int8_t* r0 = in + (c * s.in_h + 2 * y) * s.in_w;
      const int8_t* r1 = r0 + s.in_w;
      int8_t* dst = out + (c * s.out_h + y) * s.out_w;
      for (int64_t x = 0; x < s.out_w; x += 16) {
        const int64_t cnt = std::min<int64_t>(16, s.out_w - x);
        const __mmask32 lm = static_cast<__mmask32>((uint64_t{1} << (2 * cnt)) - 1);
        const __m512i a = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(lm, r0 + 2 * x));
        const __m512i b = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(lm, r1 + 2 * x));
        const __m512i sum = _mm512_madd_epi16(_mm512_add_epi16(a, b), ones);
        // RoundingDivide(sum, 4): half away from zero.
        const __m512i mag = _mm512_srli_epi32(_mm512_add_epi32(_mm512_abs_epi32(sum), two), 2);
        __m512i r = _mm512_mask_sub_epi32(mag, _mm512_cmplt_epi32_mask(sum, _mm512_setzero_si512()),
                                          _mm512_setzero_si512(), mag);
        r = _mm512_min_epi32(_mm512_max_epi32(r, vlo), vhi);
        _mm_mask_storeu_epi8(dst + x, static_cast<__mmask16>((1u << cnt) - 1),
                             _mm512_cvtsepi32_epi8(r));
      }
    }
}

}  // namespace qaccel::kernels::fast::detail

#endif  // __AVX512VNNI__
