// conv2d: weight [O, I/groups, KH, KW], bias [O] (optional).
//   MACs = O * OH * OW * (I / groups) * KH * KW
//   int8: per-channel or per-tensor weights, requantized per output channel;
//   the fast kernels (ISA wide-grid GEMM, kernels/fast/int8_packed.h, or the
//   portable im2col + GEMM) are bit-identical to the reference ones.
//   array: a SCALE-Sim conv row per group (padding folded into the IFMAP), or
//   the GEMM form (M = B * OH * OW, N = O / groups, K = KH * KW * I / groups)
//   at batch > 1 or with --gemm.
#include "qaccel/accel/cost_model.h"
#include "qaccel/kernels/fast/binary_fast.h"
#include "qaccel/kernels/fast/conv_fast.h"
#include "qaccel/kernels/fast/int8_packed.h"
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

namespace kf = kernels::fast;

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  const Shape& s = *in[0];
  CheckChw(s, where);
  Check(l.groups > 0 && l.in_channels % l.groups == 0 && l.out_channels % l.groups == 0,
        where + ": channels not divisible by groups");
  if (s[0] != l.in_channels)
    throw Error(where + ": expects " + std::to_string(l.in_channels) +
                " input channels, producer gives " + std::to_string(s[0]));
  Check(l.out_channels > 0, where + ": out_channels must be positive");
  l.out_shape = WindowOutShape(l, s, l.out_channels, where);
}

std::vector<ParamSpec> Params(const Layer& l) {
  return WeightAndBias(l, {l.out_channels, l.in_channels / l.groups, l.kernel_h, l.kernel_w});
}

void SaveAttrs(const Layer& l, nlohmann::json& j) {
  j["groups"] = l.groups;
  SaveWindowAttrs(l, j);
  SaveChannelAttrs(l, j);
}

void LoadAttrs(Layer& l, const nlohmann::json& j, const std::string& where) {
  l.groups = Field<int64_t>(j, "groups", where);
  LoadWindowAttrs(l, j, where);
  LoadChannelAttrs(l, j, where);
}

OpCost Count(const Layer& l, const std::vector<const Shape*>&) {
  const int64_t window = CountProduct({l.in_channels / l.groups, l.kernel_h, l.kernel_w});
  return {.weights = CountProduct({l.out_channels, window}),
          .params32 = l.has_bias ? l.out_channels : 0,
          .macs = CountProduct({NumElements(l.out_shape), window})};
}

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  CheckWeightedLayer(c);
  const kernels::ConvShape s = MakeConvShape(c.layer(), c.input_shape());
  if (!c.quantized) {
    const FloatWeights k(c.layer());
    if (c.reference_kernels)
      return MakeFloatKernel(
          [=](const KernelIO<float>& io) { kr::ConvFloat(s, io.in[0], k.weight, k.bias, io.out); });
    return MakeFloatKernel(
        [=](const KernelIO<float>& io) {
          kf::ConvFloat(s, io.in[0], k.weight, k.bias, io.out, io.scratch);
        },
        kf::ConvScratchBytesFloat(s));
  }
  const Int8Weights k(c.layer(), c.input().quant);
  if (c.reference_kernels)
    return MakeInt8Kernel([=](const KernelIO<int8_t>& io) {
      kr::ConvInt8(s, k.requant, io.in[0], k.weight, k.bias, io.out);
    });
  // Binary (+-1) and n-bit weights are int8 values too: the ISA kernels take
  // them as they are; the portable path keeps the add-only kernel for binary.
  kf::PackedConvInt8 packed = kf::PackConvInt8(s, k.requant, k.weight, k.bias,
                                               c.layer().quant.weight_bits == 1, c.isa);
  const int64_t scratch = kf::ScratchBytes(packed);
  return MakeInt8Kernel(
      [pk = std::move(packed)](const KernelIO<int8_t>& io) {
        kf::RunConvInt8(pk, io.in[0], io.out, io.scratch);
      },
      scratch);
}

nlohmann::json ExportRecord(const Graph&, const Layer& l) {
  nlohmann::json j;
  SaveWindowAttrs(l, j);
  j["groups"] = l.groups;
  WeightedRecord(l, "OIHW (O, I/groups, KH, KW), row-major", j);
  j["integer_ops"] = {
      "for o in [0,O), y in [0,OH), x in [0,OW): g = o / (O/groups); acc = bias[o] (0 if no "
      "bias), int32",
      "for i in [0, I/groups), ky in [0,KH), kx in [0,KW): iy = y*stride_h - pad_h + ky, ix = "
      "x*stride_w - pad_w + kx; skip if outside the input (padding is real 0 = input_zero_point); "
      "acc += (in[g*(I/groups)+i, iy, ix] - input_zero_point) * (weight[o, i, ky, kx] - "
      "weight_zero_point[o])",
      "r = MultiplyByQuantizedMultiplier(acc, multiplier[o], shift[o])  (entry 0 for all o when "
      "per-tensor)",
      "out[o, y, x] = clamp(r + output_zero_point, act_min, act_max)  (computed in int64; fits "
      "int8)"};
  return j;
}

accel::LayerSpec ConvRow(const std::string& name, const Layer& l, const Shape& in) {
  accel::LayerSpec s;
  s.name = name;
  s.ifmap_h = in[1] + 2 * l.pad_h;
  s.ifmap_w = in[2] + 2 * l.pad_w;
  s.filter_h = l.kernel_h;
  s.filter_w = l.kernel_w;
  s.channels = l.in_channels / l.groups;
  s.num_filters = l.out_channels / l.groups;
  s.stride_h = l.stride_h;
  s.stride_w = l.stride_w;
  return s;
}

void MapToArray(const Graph& g, const Layer& l, const ArrayMapOptions& o,
                std::vector<accel::LayerSpec>& out) {
  const Shape& in = g.layers[static_cast<size_t>(l.inputs[0])].out_shape;
  const int64_t cg = l.in_channels / l.groups, og = l.out_channels / l.groups;
  for (int64_t grp = 0; grp < l.groups; ++grp) {
    const std::string name = l.groups == 1 ? l.name : l.name + ".g" + std::to_string(grp);
    if (o.gemm || o.batch > 1)
      out.push_back(accel::LayerSpec::Gemm(name, o.batch * l.out_shape[1] * l.out_shape[2], og,
                                           l.kernel_h * l.kernel_w * cg));
    else
      out.push_back(ConvRow(name, l, in));
  }
}

}  // namespace

OpDef Conv2dOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "conv2d", .infer_shape = &InferShape, .params = &Params,
          .save_attrs = &SaveAttrs, .load_attrs = &LoadAttrs, .count = &Count,
          .prepare = &Prepare, .quant_role = QuantRole::kObserved,
          .quantize = &quant::QuantizeWeightedLayer, .accepts_fold = true,
          .export_record = &ExportRecord, .array_role = ArrayRole::kArray,
          .map_to_array = &MapToArray};
  // clang-format on
}

}  // namespace qaccel::ops
