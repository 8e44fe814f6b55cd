// Binary-weight fast kernels (adds and subtracts, binary_fast.h) vs the int8
// reference kernels on the same {-1, +1} weights: tolerance 0, random shapes,
// a-bit activation ranges, with and without bias.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "qaccel/core/rng.h"
#include "qaccel/kernels/fast/binary_fast.h"
#include "qaccel/kernels/reference/int8_kernels.h"

using namespace qaccel;
using namespace qaccel::kernels;

namespace {

struct Requant {
  std::vector<int32_t> wzp, mult, shift;
  reference::RequantParams p;
  Requant(Rng& rng, size_t channels, int act_bits) {
    wzp.assign(channels, 0);
    for (size_t c = 0; c < channels; ++c) {
      auto q = QuantizeMultiplier(std::exp(-2.0 - 6.0 * rng.Uniform01()));
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
    }
    const int32_t top = -128 + (1 << act_bits) - 1;
    p.input_zero_point = -128 + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(top + 129)));
    p.weight_zero_point = wzp.data();
    p.multiplier = mult.data();
    p.shift = shift.data();
    p.per_channel = true;
    p.output_zero_point = -128 + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(top + 129)));
    p.act_min = p.output_zero_point;
    p.act_max = top;
  }
};

std::vector<int8_t> Activations(Rng& rng, size_t n, int act_bits) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(-128 + static_cast<int>(rng.Below(1u << act_bits)));
  return v;
}

std::vector<int8_t> Signs(Rng& rng, size_t n) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = rng.Below(2) ? 1 : -1;
  return v;
}

}  // namespace

TEST(BinaryKernels, ConvIdenticalToReference) {
  Rng rng(29);
  int64_t compared = 0;
  for (int trial = 0; trial < 400; ++trial) {
    ConvShape s;
    s.groups = 1 + static_cast<int64_t>(rng.Below(2));
    s.in_c = s.groups * (1 + static_cast<int64_t>(rng.Below(6)));
    s.out_c = s.groups * (1 + static_cast<int64_t>(rng.Below(5)));
    s.kernel_h = 1 + static_cast<int64_t>(rng.Below(5));
    s.kernel_w = 1 + static_cast<int64_t>(rng.Below(5));
    s.stride_h = 1 + static_cast<int64_t>(rng.Below(2));
    s.stride_w = 1 + static_cast<int64_t>(rng.Below(2));
    s.pad_h = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(s.kernel_h)));
    s.pad_w = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(s.kernel_w)));
    s.in_h = s.kernel_h + static_cast<int64_t>(rng.Below(9));
    s.in_w = s.kernel_w + static_cast<int64_t>(rng.Below(9));
    s.out_h = (s.in_h + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
    s.out_w = (s.in_w + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
    const int act_bits = 2 + static_cast<int>(rng.Below(7));
    Requant rq(rng, static_cast<size_t>(s.out_c), act_bits);
    auto in = Activations(rng, static_cast<size_t>(s.in_c * s.in_h * s.in_w), act_bits);
    auto w = Signs(rng, static_cast<size_t>(s.out_c * s.depth()));
    std::vector<int32_t> b(static_cast<size_t>(s.out_c));
    for (auto& v : b) v = static_cast<int32_t>(rng.Below(20001)) - 10000;
    const bool with_bias = trial % 3 != 0;
    const size_t n = static_cast<size_t>(s.out_c * s.out_h * s.out_w);
    std::vector<int8_t> ref(n), fast(n);
    std::vector<uint8_t> scratch(static_cast<size_t>(fast::ConvScratchBytesBinary(s)));
    reference::ConvInt8(s, rq.p, in.data(), w.data(), with_bias ? b.data() : nullptr, ref.data());
    fast::ConvBinary(s, rq.p, in.data(), w.data(), with_bias ? b.data() : nullptr, fast.data(),
                     scratch.data());
    ASSERT_EQ(ref, fast) << "trial " << trial;
    compared += static_cast<int64_t>(n);
  }
  EXPECT_GT(compared, 10000);
}

TEST(BinaryKernels, LinearIdenticalToReference) {
  Rng rng(31);
  for (int trial = 0; trial < 300; ++trial) {
    LinearShape s{1 + static_cast<int64_t>(rng.Below(500)),
                  1 + static_cast<int64_t>(rng.Below(40))};
    const int act_bits = 2 + static_cast<int>(rng.Below(7));
    Requant rq(rng, static_cast<size_t>(s.out_features), act_bits);
    auto in = Activations(rng, static_cast<size_t>(s.in_features), act_bits);
    auto w = Signs(rng, static_cast<size_t>(s.in_features * s.out_features));
    std::vector<int32_t> b(static_cast<size_t>(s.out_features));
    for (auto& v : b) v = static_cast<int32_t>(rng.Below(20001)) - 10000;
    std::vector<int8_t> ref(static_cast<size_t>(s.out_features)), out(ref.size());
    std::vector<int32_t> scratch(static_cast<size_t>(s.in_features));
    reference::LinearInt8(s, rq.p, in.data(), w.data(), b.data(), ref.data());
    const auto bw = fast::PrepareBinaryLinear(s, w.data());
    fast::LinearBinary(s, rq.p, in.data(), bw, b.data(), out.data(), scratch.data());
    ASSERT_EQ(ref, out) << "trial " << trial;
  }
}

// The accumulator bound per width, as numeric_contract.h states it.
TEST(BinaryKernels, ProductBoundPerWidth) {
  EXPECT_EQ(MaxProductMagnitudeFor(8, 8), 255 * 255);
  EXPECT_EQ(MaxProductMagnitudeFor(1, 8), 255);
  EXPECT_EQ(MaxProductMagnitudeFor(4, 4), 7 * 15);
  EXPECT_EQ(MaxProductMagnitudeFor(2, 8), 255);
}
