// Fast unpadded integer average pool (see pool_fast.h).
#include "qaccel/kernels/fast/pool_fast.h"

#include "qaccel/core/error.h"
#include "qaccel/kernels/fast/int8_isa.h"
#include "qaccel/kernels/reference/numeric_contract.h"

namespace qaccel::kernels::fast {

void AvgPoolInt8(const PoolShape& s, int32_t act_min, int32_t act_max, const int8_t* in,
                 int8_t* out) {
  Check(s.pad_h == 0 && s.pad_w == 0, "fast::AvgPoolInt8 handles unpadded pools only");
  const int32_t count = static_cast<int32_t>(s.kernel_h * s.kernel_w);
  for (int64_t c = 0; c < s.channels; ++c) {
    const int8_t* plane = in + c * s.in_h * s.in_w;
    int8_t* dst = out + c * s.out_h * s.out_w;
    for (int64_t y = 0; y < s.out_h; ++y) {
      const int8_t* top = plane + y * s.stride_h * s.in_w;
      for (int64_t x = 0; x < s.out_w; ++x) {
        const int8_t* win = top + x * s.stride_w;
        int32_t sum = 0;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky)
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) sum += win[ky * s.in_w + kx];
        dst[y * s.out_w + x] =
            AddZeroPointAndClamp(RoundingDivide(sum, count), 0, act_min, act_max);
      }
    }
  }
}

void AvgPoolInt8(Isa isa, const PoolShape& s, int32_t act_min, int32_t act_max, const int8_t* in,
                 int8_t* out) {
#if defined(QACCEL_HAVE_ISA_KERNELS)
  if (isa != Isa::kPortable && s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 &&
      s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0) {
    if (isa == Isa::kAvx512Vnni)
      detail::AvgPool2x2Avx512(s, act_min, act_max, in, out);
    else
      detail::AvgPool2x2Avx2(s, act_min, act_max, in, out);
    return;
  }
#endif
  (void)isa;
  AvgPoolInt8(s, act_min, act_max, in, out);
}

}  // namespace qaccel::kernels::fast
