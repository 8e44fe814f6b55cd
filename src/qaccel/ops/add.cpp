// add: elementwise sum of two inputs of equal shape (residual connections).
// int8: both operands are rescaled to a common scale 2 * max(s_a, s_b) in
// fixed point (left shift kAddLeftShift, multipliers [a, b, output] in
// QuantParams::multiplier / shift), summed, and requantized to the observed
// output range. other_ops = one per output element.
#include <cmath>

#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  if (*in[1] != *in[0])
    throw Error(where + ": operand shapes differ: " + ShapeToString(*in[0]) + " vs " +
                ShapeToString(*in[1]));
  l.out_shape = *in[0];
}

kr::AddParams MakeAddParams(const engine::PrepareContext& c) {
  const QuantParams& q = c.layer().quant;
  if (q.multiplier.size() != 3 || q.shift.size() != 3)
    throw Error(Where(c.layer()) +
                ": an integer add needs 3 multipliers and shifts (a, b, output)");
  kr::AddParams p;
  p.a_zero_point = c.input(0).quant.out_zero_point;
  p.b_zero_point = c.input(1).quant.out_zero_point;
  p.output_zero_point = q.out_zero_point;
  p.a_multiplier = q.multiplier[0];
  p.a_shift = q.shift[0];
  p.b_multiplier = q.multiplier[1];
  p.b_shift = q.shift[1];
  p.output_multiplier = q.multiplier[2];
  p.output_shift = q.shift[2];
  p.act_min = q.act_min;
  p.act_max = q.act_max;
  return p;
}

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const int64_t n = NumElements(c.layer().out_shape);
  if (!c.quantized)
    return MakeFloatKernel(
        [n](const KernelIO<float>& io) { kr::AddFloat(n, io.in[0], io.in[1], io.out); });
  return MakeInt8Kernel([n, p = MakeAddParams(c)](const KernelIO<int8_t>& io) {
    kr::AddInt8(n, p, io.in[0], io.in[1], io.out);
  });
}

void Quantize(quant::OpQuantContext& ctx) {
  quant::SetObservedOutput(ctx);
  QuantParams& q = ctx.layer().quant;
  const double sa = ctx.input(0).out_scale, sb = ctx.input(1).out_scale;
  const double t = 2 * std::max(sa, sb);
  const double mo = t / (std::ldexp(1.0, kernels::kAddLeftShift) * q.out_scale);
  q.multiplier.clear();
  q.shift.clear();
  for (double m : {sa / t, sb / t, mo}) {
    auto qm = kernels::QuantizeMultiplier(m);
    q.multiplier.push_back(qm.multiplier);
    q.shift.push_back(qm.shift);
  }
}

nlohmann::json ExportRecord(const Graph& g, const Layer& l) {
  const QuantParams& b = g.layers[static_cast<size_t>(l.inputs[1])].quant;
  return {{"b_input_scale", b.out_scale},
          {"b_input_zero_point", b.out_zero_point},
          {"multiplier", l.quant.multiplier},
          {"shift", l.quant.shift},
          {"left_shift", kernels::kAddLeftShift},
          {"integer_ops",
           {"a = SaturatingLeftShift(in_a - a_zero_point, left_shift); b = "
            "SaturatingLeftShift(in_b - b_zero_point, left_shift)  (left_shift = 20)",
            "a2 = MultiplyByQuantizedMultiplier(a, multiplier[0], shift[0]); b2 = "
            "MultiplyByQuantizedMultiplier(b, multiplier[1], shift[1])",
            "r = MultiplyByQuantizedMultiplier(a2 + b2, multiplier[2], shift[2])",
            "out = clamp(r + output_zero_point, act_min, act_max)"}}};
}

}  // namespace

OpDef AddOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "add", .num_inputs = 2, .infer_shape = &InferShape,
          .count = &CountElementwise, .prepare = &Prepare, .quant_role = QuantRole::kObserved,
          .quantize = &Quantize, .export_record = &ExportRecord};
  // clang-format on
}

}  // namespace qaccel::ops
