// Fast im2col convolutions (see conv_fast.h for the bit-exactness argument).
#include "qaccel/kernels/fast/conv_fast.h"

#include <algorithm>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "qaccel/core/error.h"
#include "qaccel/kernels/fast/binary_fast.h"

namespace qaccel::kernels::fast {
namespace {

// Column matrix of one group: row k = (i, ky, kx) in the reference's order,
// column p = output position y * out_w + x; `pad` where the tap is outside.
template <typename T, typename Convert>
void Im2Col(const ConvShape& s, int64_t group, const typename Convert::In* in, T pad, T* col,
            Convert conv) {
  const int64_t ipg = s.in_c / s.groups, P = s.out_h * s.out_w;
  int64_t k = 0;
  for (int64_t i = 0; i < ipg; ++i) {
    const auto* in_c = in + (group * ipg + i) * s.in_h * s.in_w;
    for (int64_t ky = 0; ky < s.kernel_h; ++ky)
      for (int64_t kx = 0; kx < s.kernel_w; ++kx, ++k) {
        T* row = col + k * P;
        for (int64_t y = 0; y < s.out_h; ++y) {
          const int64_t iy = y * s.stride_h - s.pad_h + ky;
          T* r = row + y * s.out_w;
          if (iy < 0 || iy >= s.in_h) {
            for (int64_t x = 0; x < s.out_w; ++x) r[x] = pad;
            continue;
          }
          // Valid x: 0 <= x * stride_w - pad_w + kx < in_w, i.e. x in [x0, x1).
          const int64_t off = kx - s.pad_w;
          int64_t x0 = off >= 0 ? 0 : (-off + s.stride_w - 1) / s.stride_w;
          int64_t x1 = s.in_w - off <= 0 ? 0 : (s.in_w - off + s.stride_w - 1) / s.stride_w;
          x0 = std::min(x0, s.out_w);
          x1 = std::clamp(x1, x0, s.out_w);
          for (int64_t x = 0; x < x0; ++x) r[x] = pad;
          const auto* src = in_c + iy * s.in_w + off;
          if (s.stride_w == 1) {
            for (int64_t x = x0; x < x1; ++x) r[x] = conv(src[x]);
          } else {
            for (int64_t x = x0; x < x1; ++x) r[x] = conv(src[x * s.stride_w]);
          }
          for (int64_t x = x1; x < s.out_w; ++x) r[x] = pad;
        }
      }
  }
}

struct FloatIdentity {
  using In = float;
  float operator()(float v) const { return v; }
};
struct Int8MinusZeroPoint {
  using In = int8_t;
  int32_t zp;
  int16_t operator()(int8_t v) const { return static_cast<int16_t>(v - zp); }
};

// acc[p] = b + sum_k w[k] * col[k][p] for p < P (exact int32 arithmetic, so the
// summation order is free). SSE2: pairs of k rows interleaved and multiplied
// with pmaddwd (two int16 products summed into int32, |sum| <= 2 * 255 * 255),
// 8 outputs per block held in registers across all k.
void AccumulateRow(const int16_t* col, const int16_t* w, int64_t K, int64_t P, int32_t b,
                   int32_t* acc) {
  int64_t p0 = 0;
#if defined(__SSE2__)
  for (; p0 + 8 <= P; p0 += 8) {
    __m128i a0 = _mm_set1_epi32(b), a1 = _mm_set1_epi32(b);
    int64_t k = 0;
    for (; k + 1 < K; k += 2) {
      const __m128i wp = _mm_set1_epi32(
          static_cast<int32_t>(static_cast<uint16_t>(w[k]) |
                               (static_cast<uint32_t>(static_cast<uint16_t>(w[k + 1])) << 16)));
      const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(col + k * P + p0));
      const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(col + (k + 1) * P + p0));
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_unpacklo_epi16(r0, r1), wp));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_unpackhi_epi16(r0, r1), wp));
    }
    if (k < K) {  // odd K: the last row paired with zeros
      const __m128i wp = _mm_set1_epi32(static_cast<int32_t>(static_cast<uint16_t>(w[k])));
      const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(col + k * P + p0));
      const __m128i z = _mm_setzero_si128();
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_unpacklo_epi16(r0, z), wp));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_unpackhi_epi16(r0, z), wp));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(acc + p0), a0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(acc + p0 + 4), a1);
  }
#endif
  for (int64_t p = p0; p < P; ++p) {
    int32_t v = b;
    for (int64_t k = 0; k < K; ++k) v += static_cast<int32_t>(w[k]) * col[k * P + p];
    acc[p] = v;
  }
}

}  // namespace

int64_t ConvScratchBytesFloat(const ConvShape& s) {
  const int64_t P = s.out_h * s.out_w;
  return (s.depth() * P + P) * static_cast<int64_t>(sizeof(float));
}

int64_t ConvScratchBytesInt8(const ConvShape& s) {
  const int64_t P = s.out_h * s.out_w, K = s.depth();
  // int16 columns, int32 accumulators, int16 weight row (each region 4-byte aligned).
  return (K * P * 2 + 3) / 4 * 4 + P * 4 + (K * 2 + 3) / 4 * 4;
}

void ConvFloat(const ConvShape& s, const float* in, const float* weight, const float* bias,
               float* out, void* scratch) {
  const int64_t P = s.out_h * s.out_w, K = s.depth(), opg = s.out_c / s.groups;
  float* col = static_cast<float*>(scratch);
  float* acc = col + K * P;
  for (int64_t g = 0; g < s.groups; ++g) {
    Im2Col(s, g, in, 0.0f, col, FloatIdentity{});
    for (int64_t o = g * opg; o < (g + 1) * opg; ++o) {
      const float b = bias ? bias[o] : 0.0f;
      for (int64_t p = 0; p < P; ++p) acc[p] = b;
      const float* w = weight + o * K;
      for (int64_t k = 0; k < K; ++k) {
        const float wk = w[k];
        const float* c = col + k * P;
        for (int64_t p = 0; p < P; ++p) acc[p] += c[p] * wk;
      }
      float* dst = out + o * P;
      for (int64_t p = 0; p < P; ++p) dst[p] = acc[p];
    }
  }
}

void ConvInt8(const ConvShape& s, const reference::RequantParams& rp, const int8_t* in,
              const int8_t* weight, const int32_t* bias, int8_t* out, void* scratch) {
  reference::CheckAccumulationDepth(s.depth(), "fast::ConvInt8");
  const int64_t P = s.out_h * s.out_w, K = s.depth(), opg = s.out_c / s.groups;
  auto* base = static_cast<uint8_t*>(scratch);
  int16_t* col = reinterpret_cast<int16_t*>(base);
  int32_t* acc = reinterpret_cast<int32_t*>(base + (K * P * 2 + 3) / 4 * 4);
  int16_t* wrow = reinterpret_cast<int16_t*>(base + (K * P * 2 + 3) / 4 * 4 + P * 4);
  for (int64_t g = 0; g < s.groups; ++g) {
    Im2Col(s, g, in, int16_t{0}, col, Int8MinusZeroPoint{rp.input_zero_point});
    for (int64_t o = g * opg; o < (g + 1) * opg; ++o) {
      const int64_t c = rp.per_channel ? o : 0;
      const int32_t wzp = rp.weight_zero_point[c];
      for (int64_t k = 0; k < K; ++k) wrow[k] = static_cast<int16_t>(weight[o * K + k] - wzp);
      AccumulateRow(col, wrow, K, P, bias ? bias[o] : 0, acc);
      int8_t* dst = out + o * P;
      for (int64_t p = 0; p < P; ++p)
        dst[p] = AddZeroPointAndClamp(
            MultiplyByQuantizedMultiplier(acc[p], rp.multiplier[c], rp.shift[c]),
            rp.output_zero_point, rp.act_min, rp.act_max);
    }
  }
}

// ---- binary weights (binary_fast.h): im2col as above, then adds only ----

int64_t ConvScratchBytesBinary(const ConvShape& s) {
  const int64_t P = s.out_h * s.out_w, K = s.depth();
  // int16 columns, then two int32 rows: the accumulator and the column sums.
  return (K * P * 2 + 3) / 4 * 4 + 2 * P * 4;
}

void ConvBinary(const ConvShape& s, const reference::RequantParams& rp, const int8_t* in,
                const int8_t* weight, const int32_t* bias, int8_t* out, void* scratch) {
  reference::CheckAccumulationDepth(s.depth(), "fast::ConvBinary");
  const int64_t P = s.out_h * s.out_w, K = s.depth(), opg = s.out_c / s.groups;
  auto* base = static_cast<uint8_t*>(scratch);
  int16_t* col = reinterpret_cast<int16_t*>(base);
  int32_t* acc = reinterpret_cast<int32_t*>(base + (K * P * 2 + 3) / 4 * 4);
  int32_t* colsum = acc + P;
  for (int64_t g = 0; g < s.groups; ++g) {
    Im2Col(s, g, in, int16_t{0}, col, Int8MinusZeroPoint{rp.input_zero_point});
    for (int64_t p = 0; p < P; ++p) colsum[p] = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int16_t* c = col + k * P;
      for (int64_t p = 0; p < P; ++p) colsum[p] += c[p];
    }
    for (int64_t o = g * opg; o < (g + 1) * opg; ++o) {
      const int64_t ch = rp.per_channel ? o : 0;
      for (int64_t p = 0; p < P; ++p) acc[p] = 0;
      const int8_t* w = weight + o * K;
      for (int64_t k = 0; k < K; ++k) {
        if (w[k] <= 0) continue;  // only the +1 rows are summed
        const int16_t* c = col + k * P;
        for (int64_t p = 0; p < P; ++p) acc[p] += c[p];
      }
      const int32_t b = bias ? bias[o] : 0;
      int8_t* dst = out + o * P;
      for (int64_t p = 0; p < P; ++p)
        dst[p] =
            AddZeroPointAndClamp(MultiplyByQuantizedMultiplier(b + 2 * acc[p] - colsum[p],
                                                               rp.multiplier[ch], rp.shift[ch]),
                                 rp.output_zero_point, rp.act_min, rp.act_max);
    }
  }
}

}  // namespace qaccel::kernels::fast
