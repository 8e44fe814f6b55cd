// avgpool2d: average over each KH x KW window (padding counts as a zero /
// the input zero point). Same quantization as the input; other_ops = one per
// window element. The fast int8 kernel covers unpadded pools.
#include "qaccel/kernels/fast/pool_fast.h"
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/ops/pool_common.h"

namespace qaccel::ops {
namespace {

// The fast int8 kernel covers unpadded pools; float has the reference one only.
std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const Layer& l = c.layer();
  const kernels::PoolShape s = MakePoolShape(l, c.input_shape());
  const int32_t zp = c.input().quant.out_zero_point, lo = l.quant.act_min, hi = l.quant.act_max;
  auto float_kernel = [s](const KernelIO<float>& io) { kr::AvgPoolFloat(s, io.in[0], io.out); };
  if (c.reference_kernels || l.pad_h != 0 || l.pad_w != 0)
    return MakeKernel(float_kernel, [=](const KernelIO<int8_t>& io) {
      kr::AvgPoolInt8(s, zp, lo, hi, io.in[0], io.out);
    });
  return MakeKernel(float_kernel, [=, isa = c.isa](const KernelIO<int8_t>& io) {
    kernels::fast::AvgPoolInt8(isa, s, lo, hi, io.in[0], io.out);
  });
}

nlohmann::json ExportRecord(const Graph&, const Layer& l) {
  nlohmann::json j;
  SaveWindowAttrs(l, j);
  j["integer_ops"] = {
      "for c, y, x: sum = sum over ky<KH, kx<KW of in[c, y*stride_h - pad_h + ky, x*stride_w - "
      "pad_w + kx] (raw int8 values; a position outside the input counts as input_zero_point), "
      "int32",
      "out[c, y, x] = clamp(RoundingDivide(sum, KH*KW), act_min, act_max)  (same scale and zero "
      "point as the input)"};
  return j;
}

}  // namespace

OpDef AvgPool2dOp() { return WindowPoolOp("avgpool2d", &Prepare, &ExportRecord); }

}  // namespace qaccel::ops
