// Fast kernels vs reference kernels on random shapes (groups, strides,
// padding, per-tensor / per-channel, zero points): tolerance 0.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "qaccel/core/rng.h"
#include "qaccel/kernels/fast/conv_fast.h"
#include "qaccel/kernels/fast/linear_fast.h"
#include "qaccel/kernels/fast/pool_fast.h"
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/kernels/reference/int8_kernels.h"

using namespace qaccel;
using namespace qaccel::kernels;

namespace {

ConvShape RandomShape(Rng& rng) {
  ConvShape s;
  s.groups = 1 + static_cast<int64_t>(rng.Below(3));
  s.in_c = s.groups * (1 + static_cast<int64_t>(rng.Below(4)));
  s.out_c = s.groups * (1 + static_cast<int64_t>(rng.Below(4)));
  s.kernel_h = 1 + static_cast<int64_t>(rng.Below(5));
  s.kernel_w = 1 + static_cast<int64_t>(rng.Below(5));
  s.stride_h = 1 + static_cast<int64_t>(rng.Below(2));
  s.stride_w = 1 + static_cast<int64_t>(rng.Below(3));
  s.pad_h = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(s.kernel_h)));
  s.pad_w = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(s.kernel_w)));
  s.in_h = s.kernel_h + static_cast<int64_t>(rng.Below(9));
  s.in_w = s.kernel_w + static_cast<int64_t>(rng.Below(9));
  s.out_h = (s.in_h + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
  s.out_w = (s.in_w + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
  return s;
}

// Random requantization parameters for `out_channels` outputs: zero weight
// zero point per channel, a random one per tensor; multipliers exp(-top - 8u).
// Owns the arrays `p` points into, so it is neither copied nor moved.
struct RandomRequant {
  std::vector<int32_t> wzp, mult, shift;
  reference::RequantParams p;

  RandomRequant(Rng& rng, size_t out_channels, bool per_channel, double top) {
    const size_t nc = per_channel ? out_channels : 1;
    wzp.resize(nc);
    mult.resize(nc);
    shift.resize(nc);
    for (size_t c = 0; c < nc; ++c) {
      wzp[c] = per_channel ? 0 : static_cast<int32_t>(rng.Below(256)) - 128;
      auto q = QuantizeMultiplier(std::exp(-top - 8.0 * rng.Uniform01()));
      mult[c] = q.multiplier;
      shift[c] = q.shift;
    }
    p.input_zero_point = static_cast<int32_t>(rng.Below(256)) - 128;
    p.weight_zero_point = wzp.data();
    p.multiplier = mult.data();
    p.shift = shift.data();
    p.per_channel = per_channel;
    p.output_zero_point = static_cast<int32_t>(rng.Below(256)) - 128;
  }
  RandomRequant(const RandomRequant&) = delete;
  RandomRequant& operator=(const RandomRequant&) = delete;
};

}  // namespace

TEST(FastKernels, ConvFloatBitIdenticalToReference) {
  Rng rng(17);
  int64_t compared = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    const ConvShape s = RandomShape(rng);
    std::vector<float> in(static_cast<size_t>(s.in_c * s.in_h * s.in_w)),
        w(static_cast<size_t>(s.out_c * s.depth())), b(static_cast<size_t>(s.out_c));
    for (auto& v : in) v = static_cast<float>(rng.Normal());
    for (auto& v : w) v = static_cast<float>(rng.Normal());
    for (auto& v : b) v = static_cast<float>(rng.Normal());
    const size_t n = static_cast<size_t>(s.out_c * s.out_h * s.out_w);
    std::vector<float> ref(n), fast(n);
    std::vector<uint8_t> scratch(static_cast<size_t>(fast::ConvScratchBytesFloat(s)));
    const bool with_bias = trial % 3 != 0;
    reference::ConvFloat(s, in.data(), w.data(), with_bias ? b.data() : nullptr, ref.data());
    fast::ConvFloat(s, in.data(), w.data(), with_bias ? b.data() : nullptr, fast.data(),
                    scratch.data());
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(ref[i], fast[i]) << "trial " << trial << " element " << i;
    compared += static_cast<int64_t>(n);
  }
  std::printf("fast vs reference float conv: %lld outputs, max diff 0: OK\n",
              static_cast<long long>(compared));
}

TEST(FastKernels, ConvInt8BitIdenticalToReference) {
  Rng rng(23);
  int64_t compared = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    const ConvShape s = RandomShape(rng);
    std::vector<int8_t> in(static_cast<size_t>(s.in_c * s.in_h * s.in_w)),
        w(static_cast<size_t>(s.out_c * s.depth()));
    std::vector<int32_t> b(static_cast<size_t>(s.out_c));
    for (auto& v : in) v = static_cast<int8_t>(static_cast<int>(rng.Below(256)) - 128);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng.Below(256)) - 128);
    for (auto& v : b) v = static_cast<int32_t>(rng.Below(20001)) - 10000;
    RandomRequant rq(rng, static_cast<size_t>(s.out_c), trial % 2 == 0, 2.0);
    reference::RequantParams& p = rq.p;
    p.act_min = trial % 3 == 0 ? std::max(-128, p.output_zero_point) : -128;
    const size_t n = static_cast<size_t>(s.out_c * s.out_h * s.out_w);
    std::vector<int8_t> ref(n), fast(n);
    std::vector<uint8_t> scratch(static_cast<size_t>(fast::ConvScratchBytesInt8(s)));
    reference::ConvInt8(s, p, in.data(), w.data(), trial % 4 ? b.data() : nullptr, ref.data());
    fast::ConvInt8(s, p, in.data(), w.data(), trial % 4 ? b.data() : nullptr, fast.data(),
                   scratch.data());
    ASSERT_EQ(ref, fast) << "trial " << trial;
    compared += static_cast<int64_t>(n);
  }
  std::printf("fast vs reference int8 conv: %lld outputs, max diff 0: OK\n",
              static_cast<long long>(compared));
}

TEST(FastKernels, LinearBitIdenticalToReference) {
  Rng rng(29);
  for (int trial = 0; trial < 200; ++trial) {
    const LinearShape s{1 + static_cast<int64_t>(rng.Below(300)),
                        1 + static_cast<int64_t>(rng.Below(130))};
    const size_t I = static_cast<size_t>(s.in_features), O = static_cast<size_t>(s.out_features);
    // float
    std::vector<float> in(I), w(I * O), b(O), ref(O), fast(O), scratch(O);
    for (auto& v : in) v = static_cast<float>(rng.Normal());
    for (auto& v : w) v = static_cast<float>(rng.Normal());
    for (auto& v : b) v = static_cast<float>(rng.Normal());
    reference::LinearFloat(s, in.data(), w.data(), b.data(), ref.data());
    const auto wt = fast::TransposeLinearWeight(s, w.data());
    fast::LinearFloat(s, in.data(), wt.data(), b.data(), fast.data(), scratch.data());
    ASSERT_EQ(ref, fast) << "float trial " << trial;
    // int8
    std::vector<int8_t> qi(I), qw(I * O), qr(O), qf(O);
    std::vector<int32_t> qb(O), acc(O);
    for (auto& v : qi) v = static_cast<int8_t>(static_cast<int>(rng.Below(256)) - 128);
    for (auto& v : qw) v = static_cast<int8_t>(static_cast<int>(rng.Below(256)) - 128);
    for (auto& v : qb) v = static_cast<int32_t>(rng.Below(2001)) - 1000;
    RandomRequant rq(rng, O, trial % 2 == 0, 3.0);
    const reference::RequantParams& p = rq.p;
    reference::LinearInt8(s, p, qi.data(), qw.data(), qb.data(), qr.data());
    const auto qwt = fast::TransposeLinearWeightInt8(s, qw.data(), p);
    fast::LinearInt8(s, p, qi.data(), qwt.data(), qb.data(), qf.data(), acc.data());
    ASSERT_EQ(qr, qf) << "int8 trial " << trial;
  }
}

TEST(FastKernels, AvgPoolInt8BitIdenticalToReference) {
  Rng rng(31);
  for (int trial = 0; trial < 300; ++trial) {
    PoolShape s;
    s.channels = 1 + static_cast<int64_t>(rng.Below(4));
    s.kernel_h = 1 + static_cast<int64_t>(rng.Below(3));
    s.kernel_w = 1 + static_cast<int64_t>(rng.Below(3));
    s.stride_h = 1 + static_cast<int64_t>(rng.Below(3));
    s.stride_w = 1 + static_cast<int64_t>(rng.Below(3));
    s.in_h = s.kernel_h + static_cast<int64_t>(rng.Below(8));
    s.in_w = s.kernel_w + static_cast<int64_t>(rng.Below(8));
    s.out_h = (s.in_h - s.kernel_h) / s.stride_h + 1;
    s.out_w = (s.in_w - s.kernel_w) / s.stride_w + 1;
    std::vector<int8_t> in(static_cast<size_t>(s.channels * s.in_h * s.in_w));
    for (auto& v : in) v = static_cast<int8_t>(static_cast<int>(rng.Below(256)) - 128);
    const int32_t lo = trial % 2 ? -128 : static_cast<int32_t>(rng.Below(100)) - 128;
    std::vector<int8_t> ref(static_cast<size_t>(s.channels * s.out_h * s.out_w)), fast(ref.size());
    reference::AvgPoolInt8(s, 0, lo, 127, in.data(), ref.data());
    fast::AvgPoolInt8(s, lo, 127, in.data(), fast.data());
    ASSERT_EQ(ref, fast) << "trial " << trial;
  }
}
