// flatten: [C, H, W] -> [C*H*W], a copy in CHW order. Free: no operations,
// same quantization as the input, not listed by the simulator.
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string&) {
  l.out_shape = {NumElements(*in[0])};
}

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  return MakeCopyKernel(NumElements(c.layer().out_shape));
}

}  // namespace

OpDef FlattenOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "flatten", .infer_shape = &InferShape, .prepare = &Prepare,
          .quantize = &quant::SetSameAsInput,
          .export_record = [](const Graph&, const Layer&) -> nlohmann::json {
            return {{"integer_ops", {"out[c*H*W + y*W + x] = in[c, y, x]  (a copy)"}}};
          },
          .array_role = ArrayRole::kFree};
  // clang-format on
}

}  // namespace qaccel::ops
