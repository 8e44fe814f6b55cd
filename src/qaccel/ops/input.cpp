// input: layer 0 of every graph; out_shape is the model's input shape (its
// one attribute). The engine fills its buffer from the pixels itself; at
// int8 its quantization is fixed: real = pixel / 255 at scale 1/255, zero
// point -128, so q = pixel - 128 exactly.
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void LoadAttrs(Layer& l, const nlohmann::json& j, const std::string& where) {
  l.out_shape = Field<Shape>(j, "out_shape", where);
}

void Quantize(quant::OpQuantContext& ctx) {
  QuantParams& q = ctx.layer().quant;
  q.out_scale = 1.0f / 255.0f;
  q.out_zero_point = -128;
  q.observer = "fixed: pixel/255";
}

nlohmann::json ExportRecord(const Graph&, const Layer&) {
  return {{"integer_ops",
           {"q = clamp(round_half_away(pixel / 255 / scale) + zero_point, -128, 127); with scale "
            "1/255 and zero_point -128 this is exactly q = pixel - 128 (pixel is the uint8 image "
            "value)"}}};
}

}  // namespace

OpDef InputOp() {
  return {.name = "input", .num_inputs = 0, .load_attrs = &LoadAttrs, .quantize = &Quantize,
          .export_record = &ExportRecord, .array_role = ArrayRole::kFree};
}

}  // namespace qaccel::ops
