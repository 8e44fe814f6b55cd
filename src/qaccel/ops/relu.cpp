// relu: max(x, 0). At int8 it is max(q, input zero point) with the input's
// scale; when it directly follows an observed op (conv, linear, add) the
// quantizer folds it into that op's clamp and this layer becomes a no-op.
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string&) {
  l.out_shape = *in[0];
}

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const int64_t n = NumElements(c.layer().out_shape);
  const int32_t zp = c.input().quant.out_zero_point;
  return MakeKernel([n](const KernelIO<float>& io) { kr::ReluFloat(n, io.in[0], io.out); },
                    [=](const KernelIO<int8_t>& io) { kr::ReluInt8(n, zp, io.in[0], io.out); });
}

void Quantize(quant::OpQuantContext& ctx) {
  quant::SetSameAsInput(ctx);
  QuantParams& q = ctx.layer().quant;
  q.act_min = std::max(ctx.input().act_min, ctx.input().out_zero_point);
}

nlohmann::json ExportRecord(const Graph&, const Layer&) {
  return {{"integer_ops",
           {"out = max(in, input_zero_point)  (real max(x, 0); already implied by the producer's "
            "clamp when the ReLU is folded)"}}};
}

}  // namespace

OpDef ReluOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "relu", .infer_shape = &InferShape, .count = &CountElementwise,
          .prepare = &Prepare, .quant_role = QuantRole::kFusedActivation, .quantize = &Quantize,
          .export_record = &ExportRecord};
  // clang-format on
}

}  // namespace qaccel::ops
