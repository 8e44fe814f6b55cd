// global_avgpool: [C, H, W] -> [C], the mean of each channel. Same
// quantization as the input; other_ops = one per input element.
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  l.out_shape = {ChannelsOfPoolInput(l, *in[0], where)};
}

OpCost Count(const Layer&, const std::vector<const Shape*>& in) {
  return {.other_ops = NumElements(*in[0])};
}

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const int64_t channels = c.input_shape()[0], hw = SpatialSize(c.input_shape());
  return MakeKernel(
      [=](const KernelIO<float>& io) { kr::GlobalAvgPoolFloat(channels, hw, io.in[0], io.out); },
      [=](const KernelIO<int8_t>& io) { kr::GlobalAvgPoolInt8(channels, hw, io.in[0], io.out); });
}

nlohmann::json ExportRecord(const Graph&, const Layer&) {
  return {{"integer_ops",
           {"out[c] = clamp(RoundingDivide(sum over y, x of in[c, y, x], H*W), -128, 127); same "
            "scale and zero point as the input"}}};
}

}  // namespace

OpDef GlobalAvgPoolOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "global_avgpool", .infer_shape = &InferShape, .count = &Count,
          .prepare = &Prepare, .quantize = &quant::SetSameAsInput, .export_record = &ExportRecord};
  // clang-format on
}

}  // namespace qaccel::ops
