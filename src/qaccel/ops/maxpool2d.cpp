// maxpool2d: maximum over each KH x KW window (padded positions are
// ignored). Same quantization as the input; other_ops = one per window element.
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/ops/pool_common.h"

namespace qaccel::ops {
namespace {

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const kernels::PoolShape s = MakePoolShape(c.layer(), c.input_shape());
  return MakeKernel([s](const KernelIO<float>& io) { kr::MaxPoolFloat(s, io.in[0], io.out); },
                    [s](const KernelIO<int8_t>& io) { kr::MaxPoolInt8(s, io.in[0], io.out); });
}

nlohmann::json ExportRecord(const Graph&, const Layer& l) {
  nlohmann::json j;
  SaveWindowAttrs(l, j);
  j["integer_ops"] = {
      "out[c, y, x] = max over the window of in (positions outside the input are ignored); same "
      "scale and zero point as the input"};
  return j;
}

}  // namespace

OpDef MaxPool2dOp() { return WindowPoolOp("maxpool2d", &Prepare, &ExportRecord); }

}  // namespace qaccel::ops
