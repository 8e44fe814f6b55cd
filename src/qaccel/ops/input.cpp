// input: layer 0 of every graph; out_shape is the model's input shape (its
// one attribute). The engine fills its buffer from the pixels by the graph's
// input transform. At int8 its quantization is fixed by the transform's real
// range (no calibration): for the default, real = pixel / 255 in [0, 1],
// scale 1/255, zero point -128, so q = pixel - 128 exactly.
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"
#include "qaccel/quant/quantize.h"

namespace qaccel::ops {
namespace {

void LoadAttrs(Layer& l, const nlohmann::json& j, const std::string& where) {
  l.out_shape = Field<Shape>(j, "out_shape", where);
}

void Quantize(quant::OpQuantContext& ctx) {
  const InputTransform& t = ctx.graph.input_transform;
  const auto [lo, hi] = t.Range(ctx.graph.input_channels());
  const quant::AffineQuant a =
      quant::ChooseActivationQuant(static_cast<float>(lo), static_cast<float>(hi));
  QuantParams& q = ctx.layer().quant;
  q.out_scale = a.scale;
  q.out_zero_point = a.zero_point;
  q.observer = "fixed: " + t.Describe();
}

nlohmann::json ExportRecord(const Graph& g, const Layer&) {
  if (g.input_transform.IsDefault())
    return {{"integer_ops",
             {"q = clamp(round_half_away(pixel / 255 / scale) + zero_point, -128, 127); with "
              "scale 1/255 and zero_point -128 this is exactly q = pixel - 128 (pixel is the "
              "uint8 image value)"}}};
  return {{"integer_ops",
           {"real = (pixel * transform.scale - transform.mean[c]) / transform.std[c] (the "
            "manifest's input.transform; pixel is the uint8 image value, c its channel)",
            "q = clamp(round_half_away(real / scale) + zero_point, -128, 127)"}}};
}

}  // namespace

OpDef InputOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "input", .num_inputs = 0, .load_attrs = &LoadAttrs, .quantize = &Quantize,
          .export_record = &ExportRecord, .array_role = ArrayRole::kFree};
  // clang-format on
}

}  // namespace qaccel::ops
