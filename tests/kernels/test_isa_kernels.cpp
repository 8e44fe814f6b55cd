// The ISA integer kernels (kernels/fast/int8_packed.h: avx512vnni, avx2, and
// the portable fallback) against the reference kernels, tolerance 0: random
// shapes (strides, pads, groups, odd K, tiny and large outputs), per-tensor
// (zero and non-zero weight zero point), per-channel, binary and n-bit
// weights, random zero points and clamps, random / all-min / all-max inputs;
// the vectorized requantization against MultiplyByQuantizedMultiplier on
// edge values; the 2x2 average pool. Every path this CPU runs is tested.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "qaccel/kernels/fast/int8_packed.h"
#include "qaccel/kernels/fast/isa.h"
#include "qaccel/kernels/fast/pool_fast.h"
#include "qaccel/kernels/reference/int8_kernels.h"

namespace qaccel::kernels {
namespace {

namespace kf = fast;

std::vector<kf::Isa> Paths() {
  std::vector<kf::Isa> v;
  for (kf::Isa i : {kf::Isa::kPortable, kf::Isa::kAvx2, kf::Isa::kAvx512Vnni})
    if (static_cast<int>(i) <= static_cast<int>(kf::DetectedIsa())) v.push_back(i);
  return v;
}

// Weights of one kind: 0 per-channel int8, 1 per-tensor asymmetric, 2 per-tensor
// zp 0, 3 binary, 4 n-bit (4-bit).
struct Requant {
  std::vector<int32_t> wzp, mult, shift;
  reference::RequantParams p;
};

Requant MakeRequant(std::mt19937& rng, int64_t channels, int kind, bool wide_shift) {
  Requant r;
  const bool per_channel = kind != 1 && kind != 2;
  const int64_t n = per_channel ? channels : 1;
  std::uniform_int_distribution<int> zp(-128, 127),
      sh(wide_shift ? -31 : -12, wide_shift ? 30 : -4);
  std::uniform_int_distribution<int32_t> m(int32_t{1} << 30, std::numeric_limits<int32_t>::max());
  for (int64_t c = 0; c < n; ++c) {
    r.wzp.push_back(kind == 1 ? zp(rng) : 0);
    const bool zero = rng() % 17 == 0;  // a multiplier that rounded to 0
    r.mult.push_back(zero ? 0 : m(rng));
    r.shift.push_back(zero ? 0 : sh(rng));
  }
  r.p.input_zero_point = zp(rng);
  r.p.weight_zero_point = r.wzp.data();
  r.p.multiplier = r.mult.data();
  r.p.shift = r.shift.data();
  r.p.per_channel = per_channel;
  r.p.output_zero_point = zp(rng);
  int a = zp(rng), b = zp(rng);
  if (a > b) std::swap(a, b);
  if (rng() % 3 == 0) a = -128, b = 127;
  if (rng() % 3 == 0) a = std::max(a, r.p.output_zero_point), b = std::max(b, a);  // ReLU folded
  r.p.act_min = a;
  r.p.act_max = b;
  return r;
}

std::vector<int8_t> MakeWeights(std::mt19937& rng, int64_t n, int kind) {
  std::vector<int8_t> w(static_cast<size_t>(n));
  std::uniform_int_distribution<int> full(-128, 127), sym(-127, 127), four(-7, 7);
  for (auto& v : w)
    v = static_cast<int8_t>(kind == 3   ? (rng() % 2 ? 1 : -1)
                            : kind == 4 ? four(rng)
                            : kind == 0 ? sym(rng)
                                        : full(rng));
  return w;
}

std::vector<int8_t> MakeInput(std::mt19937& rng, int64_t n, int fill) {
  std::vector<int8_t> x(static_cast<size_t>(n));
  std::uniform_int_distribution<int> d(-128, 127);
  for (auto& v : x) v = static_cast<int8_t>(fill == 0 ? d(rng) : fill == 1 ? -128 : 127);
  return x;
}

std::vector<int32_t> MakeBias(std::mt19937& rng, int64_t n, int64_t depth) {
  std::vector<int32_t> b(static_cast<size_t>(n));
  const int64_t lim = std::min<int64_t>(MaxBiasMagnitude(depth), 1 << 20);
  std::uniform_int_distribution<int64_t> d(-lim, lim);
  for (auto& v : b) v = static_cast<int32_t>(d(rng));
  return b;
}

// One random conv case of shape s (case number t): weight kind, requantization,
// weights, bias (or none), input (t % 10 == 0 / 1: all -128 / all 127).
struct ConvCase {
  ConvCase(std::mt19937& rng, const ConvShape& s, int t)
      : kind(static_cast<int>(rng() % 5)),
        r(MakeRequant(rng, s.out_c, kind, t % 4 == 0)),
        w(MakeWeights(rng, s.out_c * s.depth(), kind)),
        bias(MakeBias(rng, s.out_c, s.depth())),
        in(MakeInput(rng, s.in_c * s.in_h * s.in_w,
                     t % 10 == 0   ? 1
                     : t % 10 == 1 ? 2
                                   : 0)),
        b(rng() % 4 == 0 ? nullptr : bias.data()) {}
  // Packed for `isa` (kind 3: binary weights); the case must outlive it.
  kf::PackedConvInt8 Pack(const ConvShape& s, kf::Isa isa) const {
    return kf::PackConvInt8(s, r.p, w.data(), b, kind == 3, isa);
  }
  void Reference(const ConvShape& s, int8_t* out) const {
    reference::ConvInt8(s, r.p, in.data(), w.data(), b, out);
  }
  int kind;
  Requant r;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<int8_t> in;
  const int32_t* b;
};

TEST(IsaKernels, SelectionHonoursTheEnvironmentCap) {
  EXPECT_LE(static_cast<int>(kf::SelectedIsa()), static_cast<int>(kf::DetectedIsa()));
  kf::Isa i;
  EXPECT_TRUE(kf::ParseIsa("avx2", &i));
  EXPECT_EQ(i, kf::Isa::kAvx2);
  EXPECT_FALSE(kf::ParseIsa("sse9", &i));
  for (kf::Isa p : Paths()) EXPECT_TRUE(kf::ParseIsa(kf::IsaName(p), &i) && i == p);
}

TEST(IsaKernels, ConvBitIdenticalToReferenceOnRandomShapes) {
  std::mt19937 rng(20261130);
  int cases = 0, isa_cases = 0;
  for (int t = 0; t < 300; ++t) {
    ConvShape s;
    const int64_t groups = rng() % 4 == 0 ? 1 + rng() % 3 : 1;
    s.groups = groups;
    s.in_c = groups * (1 + rng() % 5);
    s.out_c =
        groups * (rng() % 4 == 0 ? 16 * (1 + rng() % 2) : 1 + rng() % 9);  // 16k: channel lanes
    s.kernel_h = 1 + rng() % 5;
    s.kernel_w = 1 + rng() % 5;
    s.stride_h = s.stride_w = rng() % 5 == 0 ? 2 : 1;
    if (rng() % 7 == 0) s.stride_w = 1 + rng() % 3;
    s.pad_h = rng() % 3;
    s.pad_w = rng() % 3;
    const int64_t big = t % 25 == 0 ? 40 : 12;
    s.in_h = std::max<int64_t>(s.kernel_h, 1 + rng() % big);
    s.in_w = std::max<int64_t>(s.kernel_w, 1 + rng() % big);
    s.out_h = (s.in_h + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
    s.out_w = (s.in_w + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
    const ConvCase c(rng, s, t);
    std::vector<int8_t> want(static_cast<size_t>(s.out_c * s.out_h * s.out_w));
    c.Reference(s, want.data());
    for (kf::Isa isa : Paths()) {
      const kf::PackedConvInt8 p = c.Pack(s, isa);
      std::vector<uint8_t> scratch(static_cast<size_t>(kf::ScratchBytes(p)));
      std::vector<int8_t> got(want.size(), 0x55);
      kf::RunConvInt8(p, c.in.data(), got.data(), scratch.data());
      ASSERT_EQ(got, want) << kf::IsaName(isa) << " case " << t << " kind " << c.kind << " c "
                           << s.in_c << "->" << s.out_c << " g " << s.groups << " k " << s.kernel_h
                           << "x" << s.kernel_w << " s " << s.stride_h << "," << s.stride_w << " p "
                           << s.pad_h << "," << s.pad_w << " in " << s.in_h << "x" << s.in_w;
      ++cases;
      if (p.isa != kf::Isa::kPortable) ++isa_cases;
    }
  }
  EXPECT_GT(cases, 300);
  if (kf::DetectedIsa() != kf::Isa::kPortable) {
    EXPECT_GT(isa_cases, 200);
  }
}

TEST(IsaKernels, LinearBitIdenticalToReferenceBatchedAndStrided) {
  std::mt19937 rng(7);
  for (int t = 0; t < 200; ++t) {
    LinearShape s{static_cast<int64_t>(1 + rng() % (t % 20 == 0 ? 700 : 130)),
                  static_cast<int64_t>(1 + rng() % 140)};
    const int kind = static_cast<int>(rng() % 5);
    const int64_t n = std::vector<int64_t>{1, 2, 3, 4, 5, 7, 17, 70}[rng() % 8];
    const int64_t in_stride = s.in_features + static_cast<int64_t>(rng() % 70);
    const int64_t out_stride = s.out_features + static_cast<int64_t>(rng() % 9);
    Requant r = MakeRequant(rng, s.out_features, kind, t % 4 == 0);
    const std::vector<int8_t> w = MakeWeights(rng, s.in_features * s.out_features, kind);
    const std::vector<int32_t> bias = MakeBias(rng, s.out_features, s.in_features);
    const std::vector<int8_t> in = MakeInput(rng, n * in_stride,
                                             t % 10 == 0   ? 1
                                             : t % 10 == 1 ? 2
                                                           : 0);
    const int32_t* b = rng() % 4 == 0 ? nullptr : bias.data();
    std::vector<int8_t> want(static_cast<size_t>(n * out_stride), 0x55);
    for (int64_t j = 0; j < n; ++j)
      reference::LinearInt8(s, r.p, in.data() + j * in_stride, w.data(), b,
                            want.data() + j * out_stride);
    for (kf::Isa isa : Paths()) {
      const kf::PackedLinearInt8 p = kf::PackLinearInt8(s, r.p, w.data(), b, isa);
      std::vector<uint8_t> scratch(static_cast<size_t>(kf::ScratchBytes(p)));
      std::vector<int8_t> got(want.size(), 0x55);
      kf::RunLinearInt8(p, in.data(), in_stride, n, got.data(), out_stride, scratch.data());
      ASSERT_EQ(got, want) << kf::IsaName(isa) << " case " << t << " kind " << kind << " "
                           << s.in_features << "->" << s.out_features << " n " << n;
    }
  }
}

TEST(IsaKernels, VectorRequantizationEqualsScalarOnEdgeValues) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  std::mt19937 rng(3);
  std::vector<int32_t> accs = {kMin, kMin + 1,  kMax,       kMax - 1,  0,
                               1,    -1,        2,          -2,        3,
                               -3,   (1 << 30), -(1 << 30), (1 << 15), -(1 << 15) - 1};
  for (int i = 0; i < 40; ++i) accs.push_back(static_cast<int32_t>(rng()));
  std::vector<int32_t> mults = {0, int32_t{1} << 30, kMax, (int32_t{1} << 30) + 1, 1518500250};
  for (int i = 0; i < 4; ++i)
    mults.push_back(static_cast<int32_t>((int64_t{1} << 30) + rng() % (int64_t{1} << 30)));
  std::vector<int32_t> acc, mult, shift;
  for (int32_t a : accs)
    for (int32_t m : mults)
      for (int sh = kMinShift; sh <= kMaxShift; ++sh) {
        acc.push_back(a);
        mult.push_back(m);
        shift.push_back(sh);
      }
  // Also every right shift (shift <= 0) in vectors of 16 lanes with the same
  // shift: the vector code's fused one-rounding path (FusedRequant) runs on
  // whole vectors whose lanes all have right shifts of at most 31.
  for (int sh = std::max(kMinShift, -31); sh <= 0; ++sh)
    for (int32_t a : accs)
      for (int32_t m : mults) {
        acc.push_back(a);
        mult.push_back(m);
        shift.push_back(sh);
      }
  for (kf::Isa isa : Paths())
    for (auto [zp, lo, hi] : {std::array<int32_t, 3>{0, -128, 127},
                              {-128, -128, 127},
                              {127, -128, 127},
                              {5, 5, 100},
                              {-20, -3, 3}}) {
      std::vector<int8_t> got(acc.size());
      kf::RequantizeRow(isa, acc.data(), static_cast<int64_t>(acc.size()), mult.data(),
                        shift.data(), zp, lo, hi, got.data());
      for (size_t i = 0; i < acc.size(); ++i)
        ASSERT_EQ(got[i], AddZeroPointAndClamp(
                              MultiplyByQuantizedMultiplier(acc[i], mult[i], shift[i]), zp, lo, hi))
            << kf::IsaName(isa) << " acc " << acc[i] << " M " << mult[i] << " shift " << shift[i]
            << " zp " << zp;
    }
}

TEST(IsaKernels, AvgPool2x2BitIdenticalToReference) {
  std::mt19937 rng(11);
  for (int t = 0; t < 60; ++t) {
    PoolShape s;
    s.channels = 1 + rng() % 7;
    s.in_h = 2 + rng() % 40;
    s.in_w = 2 + rng() % 40;
    s.kernel_h = s.kernel_w = s.stride_h = s.stride_w = 2;
    s.out_h = (s.in_h - 2) / 2 + 1;
    s.out_w = (s.in_w - 2) / 2 + 1;
    const std::vector<int8_t> in = MakeInput(rng, s.channels * s.in_h * s.in_w,
                                             t % 6 == 0   ? 1
                                             : t % 6 == 1 ? 2
                                                          : 0);
    const int32_t lo = t % 2 ? -128 : -30, hi = t % 3 ? 127 : 40;
    std::vector<int8_t> want(static_cast<size_t>(s.channels * s.out_h * s.out_w));
    reference::AvgPoolInt8(s, 0, lo, hi, in.data(), want.data());
    for (kf::Isa isa : Paths()) {
      std::vector<int8_t> got(want.size(), 0x55);
      kf::AvgPoolInt8(isa, s, lo, hi, in.data(), got.data());
      ASSERT_EQ(got, want) << kf::IsaName(isa) << " case " << t;
    }
  }
}

// The fused conv + 2x2 average pool (RunConvInt8Pool2x2) of one random case
// of shape s against the reference conv then the reference pool; false when
// the fused kernel does not apply to s.
bool CheckConvPoolFused(std::mt19937& rng, const ConvShape& s, int t) {
  const ConvCase c(rng, s, t);
  const kf::PackedConvInt8 p = c.Pack(s, kf::Isa::kAvx512Vnni);
  if (!kf::ConvPoolApplies(p)) return false;
  std::vector<int8_t> conv(static_cast<size_t>(s.out_c * s.out_h * s.out_w));
  c.Reference(s, conv.data());
  PoolShape ps;
  ps.channels = s.out_c;
  ps.in_h = s.out_h;
  ps.in_w = s.out_w;
  ps.kernel_h = ps.kernel_w = ps.stride_h = ps.stride_w = 2;
  ps.out_h = s.out_h / 2;
  ps.out_w = s.out_w / 2;
  const int32_t lo = t % 2 ? -128 : -30, hi = t % 3 ? 127 : 40;
  std::vector<int8_t> want(static_cast<size_t>(s.out_c * ps.out_h * ps.out_w));
  reference::AvgPoolInt8(ps, 0, lo, hi, conv.data(), want.data());
  std::vector<uint8_t> scratch(static_cast<size_t>(kf::ScratchBytes(p)));
  std::vector<int8_t> got(want.size(), 0x55);
  kf::RunConvInt8Pool2x2(p, c.in.data(), lo, hi, got.data(), scratch.data());
  EXPECT_EQ(got, want) << "case " << t << " kind " << c.kind << " c " << s.in_c << "->" << s.out_c
                       << " k " << s.kernel_h << "x" << s.kernel_w << " p " << s.pad_h << ","
                       << s.pad_w << " in " << s.in_h << "x" << s.in_w;
  return true;
}

// Random shapes whose padded width is 32 (the fused kernel's condition),
// every weight kind, random clamps.
TEST(IsaKernels, ConvPoolFusedBitIdenticalToReference) {
  if (kf::DetectedIsa() != kf::Isa::kAvx512Vnni) GTEST_SKIP() << "no avx512vnni";
  std::mt19937 rng(930);
  int fused = 0;
  for (int t = 0; t < 120; ++t) {
    ConvShape s;
    s.groups = 1;
    s.in_c = 1 + rng() % 3;
    s.out_c = 1 + rng() % 10;
    s.kernel_h = 1 + rng() % 5;
    s.kernel_w = 1 + rng() % 5;
    s.pad_h = rng() % 3;
    s.pad_w = rng() % 3;
    s.in_w = 32 - 2 * s.pad_w;
    s.in_h = std::max<int64_t>(s.kernel_h, 2 + rng() % 30);
    s.out_h = s.in_h + 2 * s.pad_h - s.kernel_h + 1;
    s.out_w = s.in_w + 2 * s.pad_w - s.kernel_w + 1;
    fused += CheckConvPoolFused(rng, s, t);
    if (HasFailure()) return;
  }
  EXPECT_GT(fused, 20);
}

// The shapes with a specialized fused kernel (7 tap groups, 6 channels):
// LeNet-5's conv1 (1 x 28 x 28, pad 2, 5x5 -> 6) and 3 x 3x3 -> 6.
TEST(IsaKernels, ConvPoolFusedLeNetConv1BitIdenticalToReference) {
  if (kf::DetectedIsa() != kf::Isa::kAvx512Vnni) GTEST_SKIP() << "no avx512vnni";
  std::mt19937 rng(931);
  for (int t = 0; t < 48; ++t) {
    ConvShape s;
    s.groups = 1;
    s.out_c = 6;
    s.in_c = t % 4 == 3 ? 3 : 1;
    s.kernel_h = s.kernel_w = s.in_c == 3 ? 3 : 5;
    s.pad_h = s.pad_w = s.in_c == 3 ? 1 : 2;
    s.in_w = 32 - 2 * s.pad_w;
    s.in_h = t % 2 ? s.in_w : 28;
    s.out_h = s.in_h + 2 * s.pad_h - s.kernel_h + 1;
    s.out_w = s.in_w + 2 * s.pad_w - s.kernel_w + 1;
    ASSERT_TRUE(CheckConvPoolFused(rng, s, t)) << "case " << t;
    if (HasFailure()) return;
  }
}

// 2x2 stride-2 unpadded convolutions (the exit head of lenet5-branchy: 6 x
// 14 x 14 -> 8 x 7 x 7): on avx512vnni an even input width whose 16-position
// windows fit 64 words takes the patch kernel (vpermt2w, positions in lanes).
// Odd sizes and channel counts above 8 (blocks of 8 channels), every weight
// kind but the asymmetric one (which keeps the grid), random / -128 / 127 inputs.
TEST(IsaKernels, ConvPatch2x2BitIdenticalToReference) {
  if (kf::DetectedIsa() != kf::Isa::kAvx512Vnni) GTEST_SKIP() << "no avx512vnni";
  std::mt19937 rng(1130);
  int patch = 0;
  for (int t = 0; t < 200; ++t) {
    ConvShape s;
    s.groups = 1;
    const bool head = t < 10;  // the first ten: the exit head's shape, random kinds and inputs
    s.in_c = head ? 6 : 1 + rng() % 9;
    s.out_c = head ? 8 : 1 + rng() % 20;
    s.kernel_h = s.kernel_w = 2;
    s.stride_h = s.stride_w = 2;
    s.in_w = head ? 14 : 2 * (1 + rng() % 12);  // even: 2..24 (above ~20 does not fit)
    s.in_h = head ? 14 : 2 + rng() % 23;        // odd heights drop their last row
    s.out_h = (s.in_h - 2) / 2 + 1;
    s.out_w = (s.in_w - 2) / 2 + 1;
    const ConvCase c(rng, s, t);
    std::vector<int8_t> want(static_cast<size_t>(s.out_c * s.out_h * s.out_w));
    c.Reference(s, want.data());
    const kf::PackedConvInt8 p = c.Pack(s, kf::Isa::kAvx512Vnni);
    if (head && c.kind != 1) {
      EXPECT_TRUE(p.patch2x2) << "the lenet5-branchy exit head";
    }
    if (c.kind == 1) {
      EXPECT_FALSE(p.patch2x2) << "asymmetric weights keep the grid";
    }
    std::vector<uint8_t> scratch(static_cast<size_t>(kf::ScratchBytes(p)));
    std::vector<int8_t> got(want.size(), 0x55);
    kf::RunConvInt8(p, c.in.data(), got.data(), scratch.data());
    ASSERT_EQ(got, want) << "case " << t << " kind " << c.kind << " patch " << p.patch2x2 << " c "
                         << s.in_c << "->" << s.out_c << " in " << s.in_h << "x" << s.in_w;
    patch += p.patch2x2;
  }
  EXPECT_GT(patch, 80);
}

}  // namespace
}  // namespace qaccel::kernels
