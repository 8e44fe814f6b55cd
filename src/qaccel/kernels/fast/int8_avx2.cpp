// AVX2 integer kernels (no VNNI): vpmaddwd on int16 operands, exact (two
// products of |u| <= 255 and |w| <= 128 summed in int32). vpmaddubsw is not
// used: it saturates int16 on full-range operands. Compiled with -mavx2 for
// this file only (CMakeLists.txt) and called only when the CPU has AVX2
// (isa.h). Bit-exactness argument: int8_packed.h.
#if defined(__AVX2__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "qaccel/kernels/fast/int8_isa.h"

namespace qaccel::kernels::fast::detail {
namespace {

// MultiplyByQuantizedMultiplier + zero point + clamp on 8 lanes (see the
// AVX-512 twin in int8_avx512vnni.cpp for the stage-by-stage argument).
inline __m256i Requant(__m256i x, __m256i m, __m256i shift, __m256i zp, __m256i lo_zp,
                       __m256i hi_zp) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i imin = _mm256_set1_epi32(INT32_MIN), imax = _mm256_set1_epi32(INT32_MAX);
  const __m256i left = _mm256_max_epi32(shift, zero);
  const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
  const __m256i sh = _mm256_sllv_epi32(x, left);
  const __m256i same = _mm256_cmpeq_epi32(_mm256_srav_epi32(sh, left), x);
  const __m256i sat = _mm256_blendv_epi8(imax, imin, _mm256_srai_epi32(x, 31));
  x = _mm256_blendv_epi8(sat, sh, same);
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), nudge), 31);
  const __m256i odd = _mm256_slli_epi64(
      _mm256_add_epi64(
          _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge),
      1);
  __m256i y = _mm256_blend_epi32(even, odd, 0xAA);
  const __m256i both_min =
      _mm256_and_si256(_mm256_cmpeq_epi32(x, imin), _mm256_cmpeq_epi32(m, imin));
  y = _mm256_blendv_epi8(y, imax, both_min);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
  const __m256i rem = _mm256_and_si256(y, mask);
  const __m256i thr = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_srai_epi32(y, 31));
  __m256i r = _mm256_srav_epi32(y, right);
  r = _mm256_sub_epi32(r, _mm256_cmpgt_epi32(rem, thr));  // +1 where rem > thr
  r = _mm256_min_epi32(_mm256_max_epi32(r, lo_zp), hi_zp);
  return _mm256_add_epi32(r, zp);
}

// 8 int32 lanes (already within int8) -> 8 bytes in lane order.
inline int64_t PackBytes(__m256i r) {
  const __m256i w = _mm256_packs_epi32(r, r);  // [r0-3 r0-3 | r4-7 r4-7]
  const __m256i b = _mm256_packs_epi16(w, w);  // dword 0 = r0-3, dword 4 = r4-7
  const __m256i d = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
  return _mm_cvtsi128_si64(_mm256_castsi256_si128(d));
}

template <int NO>
void ConvChannels(const PackedConvInt8& p, const __m256i* col, int64_t o0, int64_t pos0,
                  int8_t* wide) {
  const int64_t pairs = p.k4 / 2, stride = p.blocks * p.block;
  const int16_t* w = p.w16.data() + o0 * p.k4;
  __m256i acc[NO][2];
  for (int j = 0; j < NO; ++j)
    acc[j][0] = acc[j][1] = _mm256_set1_epi32(p.corr[static_cast<size_t>(o0 + j)]);
  for (int64_t t = 0; t < pairs; ++t) {
    const __m256i c0 = _mm256_load_si256(col + 2 * t), c1 = _mm256_load_si256(col + 2 * t + 1);
#pragma GCC unroll 8
    for (int j = 0; j < NO; ++j) {
      const __m256i wb = _mm256_set1_epi32(Load32(w + j * p.k4 + 2 * t));
      acc[j][0] = _mm256_add_epi32(acc[j][0], _mm256_madd_epi16(c0, wb));
      acc[j][1] = _mm256_add_epi32(acc[j][1], _mm256_madd_epi16(c1, wb));
    }
  }
  const __m256i zp = _mm256_set1_epi32(p.zp_out);
  const __m256i lo = _mm256_set1_epi32(p.act_min - p.zp_out);
  const __m256i hi = _mm256_set1_epi32(p.act_max - p.zp_out);
  for (int j = 0; j < NO; ++j) {
    const __m256i m = _mm256_set1_epi32(p.mult[static_cast<size_t>(o0 + j)]);
    const __m256i sh = _mm256_set1_epi32(p.shift[static_cast<size_t>(o0 + j)]);
    const __m256i q0 = Requant(acc[j][0], m, sh, zp, lo, hi);
    const __m256i q1 = Requant(acc[j][1], m, sh, zp, lo, hi);
    // packs_epi32 undoes the in-lane unpack: words in position order.
    const __m256i w16 = _mm256_packs_epi32(q0, q1);
    const __m256i b = _mm256_permute4x64_epi64(_mm256_packs_epi16(w16, w16), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(wide + (o0 + j) * stride + pos0),
                     _mm256_castsi256_si128(b));
  }
}

using ConvChannelsFn = void (*)(const PackedConvInt8&, const __m256i*, int64_t, int64_t, int8_t*);
constexpr ConvChannelsFn kConvChannels[] = {nullptr,          &ConvChannels<1>, &ConvChannels<2>,
                                            &ConvChannels<3>, &ConvChannels<4>, &ConvChannels<5>,
                                            &ConvChannels<6>};

template <int NB, int OB>
void LinearTile(const PackedLinearInt8& p, const int16_t* u, int64_t v0, int8_t* out,
                int64_t out_stride) {
  const int64_t pairs = p.i4 / 2, O = p.s.out_features;
  __m256i acc[NB][OB];
  for (int v = 0; v < OB; ++v) {
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.corr.data() + (v0 + v) * 8));
    for (int j = 0; j < NB; ++j) acc[j][v] = c;
  }
  const int16_t* w = p.w16.data() + v0 * 16;
  for (int64_t t = 0; t < pairs; ++t) {
    __m256i wv[OB];
    for (int v = 0; v < OB; ++v)
      wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (t * p.o16 + v * 8) * 2));
    for (int j = 0; j < NB; ++j) {
      const __m256i x = _mm256_set1_epi32(Load32(u + j * p.i4 + 2 * t));
      for (int v = 0; v < OB; ++v) acc[j][v] = _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(x, wv[v]));
    }
  }
  const __m256i zp = _mm256_set1_epi32(p.zp_out);
  const __m256i lo = _mm256_set1_epi32(p.act_min - p.zp_out);
  const __m256i hi = _mm256_set1_epi32(p.act_max - p.zp_out);
  for (int v = 0; v < OB; ++v) {
    const int64_t o = (v0 + v) * 8;
    if (o >= O) break;
    const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.mult.data() + o));
    const __m256i sh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.shift.data() + o));
    const size_t cnt = static_cast<size_t>(std::min<int64_t>(8, O - o));
    for (int j = 0; j < NB; ++j) {
      const int64_t bytes = PackBytes(Requant(acc[j][v], m, sh, zp, lo, hi));
      std::memcpy(out + j * out_stride + o, &bytes, cnt);
    }
  }
}

using LinearTileFn = void (*)(const PackedLinearInt8&, const int16_t*, int64_t, int8_t*, int64_t);
constexpr LinearTileFn kLinearTiles[4][3] = {
    {&LinearTile<1, 1>, &LinearTile<1, 2>, &LinearTile<1, 3>},
    {&LinearTile<2, 1>, &LinearTile<2, 2>, &LinearTile<2, 3>},
    {&LinearTile<3, 1>, &LinearTile<3, 2>, &LinearTile<3, 3>},
    {&LinearTile<4, 1>, &LinearTile<4, 2>, &LinearTile<4, 3>}};

}  // namespace

void ConvAvx2(const PackedConvInt8& p, const uint8_t* u, uint8_t* col_bytes, int8_t* wide) {
  const ConvShape& s = p.s;
  const int64_t ipg = s.in_c / s.groups, opg = s.out_c / s.groups, pairs = p.k4 / 2;
  __m256i* col = reinterpret_cast<__m256i*>(col_bytes);
  for (int64_t g = 0; g < s.groups; ++g) {
    const uint8_t* ug = u + g * ipg * p.plane;
    for (int64_t b = 0; b < p.blocks; ++b) {
      const int64_t pos0 = b * 16;
      const uint8_t* src = ug + pos0;
      for (int64_t t = 0; t < pairs; ++t) {
        const __m256i x0 = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + p.tap[static_cast<size_t>(2 * t)])));
        const __m256i x1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(src + p.tap[static_cast<size_t>(2 * t + 1)])));
        _mm256_store_si256(col + 2 * t, _mm256_unpacklo_epi16(x0, x1));
        _mm256_store_si256(col + 2 * t + 1, _mm256_unpackhi_epi16(x0, x1));
      }
      for (int64_t o0 = g * opg; o0 < (g + 1) * opg; o0 += 6)
        kConvChannels[std::min<int64_t>(6, (g + 1) * opg - o0)](p, col, o0, pos0, wide);
    }
  }
}

void LinearAvx2(const PackedLinearInt8& p, const int16_t* u, int64_t n, int8_t* out,
                int64_t out_stride) {
  const int64_t nv = p.o16 / 8;
  for (int64_t j0 = 0; j0 < n; j0 += 4) {
    const int64_t nb = std::min<int64_t>(4, n - j0);
    for (int64_t v0 = 0; v0 < nv; v0 += 3)
      kLinearTiles[nb - 1][std::min<int64_t>(3, nv - v0) - 1](p, u + j0 * p.i4, v0,
                                                               out + j0 * out_stride, out_stride);
  }
}

void RequantizeRowAvx2(const int32_t* acc, int64_t n, const int32_t* mult, const int32_t* shift,
                       int32_t zp, int32_t lo, int32_t hi, int8_t* out) {
  const __m256i z = _mm256_set1_epi32(zp), l = _mm256_set1_epi32(lo - zp),
                h = _mm256_set1_epi32(hi - zp);
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t cnt = std::min<int64_t>(8, n - i);
    int32_t a[8] = {}, m[8] = {}, s[8] = {};
    std::memcpy(a, acc + i, static_cast<size_t>(cnt) * 4);
    std::memcpy(m, mult + i, static_cast<size_t>(cnt) * 4);
    std::memcpy(s, shift + i, static_cast<size_t>(cnt) * 4);
    const auto ld = [](const int32_t* v) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v));
    };
    const int64_t bytes = PackBytes(Requant(ld(a), ld(m), ld(s), z, l, h));
    std::memcpy(out + i, &bytes, static_cast<size_t>(cnt));
  }
}

void AvgPool2x2Avx2(const PoolShape& s, int32_t lo, int32_t hi, const int8_t* in, int8_t* out) {
  const __m256i ones = _mm256_set1_epi16(1), two = _mm256_set1_epi32(2);
  const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t y = 0; y < s.out_h; ++y) {
      const int8_t* r0 = in + (c * s.in_h + 2 * y) * s.in_w;
      const int8_t* r1 = r0 + s.in_w;
      int8_t* dst = out + (c * s.out_h + y) * s.out_w;
      for (int64_t x = 0; x < s.out_w; x += 8) {
        const int64_t cnt = std::min<int64_t>(8, s.out_w - x);
        int8_t t0[16] = {}, t1[16] = {};
        std::memcpy(t0, r0 + 2 * x, static_cast<size_t>(2 * cnt));
        std::memcpy(t1, r1 + 2 * x, static_cast<size_t>(2 * cnt));
        const __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t0)));
        const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t1)));
        const __m256i sum = _mm256_madd_epi16(_mm256_add_epi16(a, b), ones);
        const __m256i mag = _mm256_srli_epi32(_mm256_add_epi32(_mm256_abs_epi32(sum), two), 2);
        __m256i r = _mm256_blendv_epi8(mag, _mm256_sub_epi32(_mm256_setzero_si256(), mag),
                                       _mm256_srai_epi32(sum, 31));
        r = _mm256_min_epi32(_mm256_max_epi32(r, vlo), vhi);
        const int64_t bytes = PackBytes(r);
        std::memcpy(dst + x, &bytes, static_cast<size_t>(cnt));
      }
    }
}

}  // namespace qaccel::kernels::fast::detail

#endif  // __AVX2__
