// linear: weight [O, I], bias [O] (optional); the input must be 1-D.
//   MACs = O * I
//   the fast kernels read the weight transposed once at Prepare ([I, O];
//   int8 as w - zero_point in int16).
//   array: GEMM M = B, N = O, K = I.
#include "qaccel/accel/cost_model.h"
#include "qaccel/kernels/fast/binary_fast.h"
#include "qaccel/kernels/fast/int8_packed.h"
#include "qaccel/kernels/fast/linear_fast.h"
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

namespace kf = kernels::fast;

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  const Shape& s = *in[0];
  if (s.size() != 1)
    throw Error(where + ": needs a 1-D input (add a flatten), got " + ShapeToString(s));
  if (s[0] != l.in_channels)
    throw Error(where + ": expects " + std::to_string(l.in_channels) +
                " input features, producer gives " + std::to_string(s[0]));
  Check(l.out_channels > 0, where + ": out_features must be positive");
  l.out_shape = {l.out_channels};
}

std::vector<ParamSpec> Params(const Layer& l) {
  return WeightAndBias(l, {l.out_channels, l.in_channels});
}

OpCost Count(const Layer& l, const std::vector<const Shape*>&) {
  const int64_t w = CountProduct({l.out_channels, l.in_channels});
  return {.weights = w, .params32 = l.has_bias ? l.out_channels : 0, .macs = w};
}

// The int8 kernel over packed weights (kernels/fast/int8_packed.h): a batch
// of samples shares each pass over the weights.
class LinearInt8Kernel : public engine::OpKernel {
 public:
  explicit LinearInt8Kernel(kf::PackedLinearInt8 p) : p_(std::move(p)) {}
  int64_t scratch_bytes() const override { return kf::ScratchBytes(p_); }
  void EvalInt8(const KernelIO<int8_t>& io) const override {
    kf::RunLinearInt8(p_, io.in[0], 0, 1, io.out, 0, io.scratch);
  }
  void EvalInt8Batch(const KernelIO<int8_t>& io, int64_t n,
                     const std::array<int64_t, engine::kMaxOpInputs>& in_stride,
                     int64_t out_stride) const override {
    kf::RunLinearInt8(p_, io.in[0], in_stride[0], n, io.out, out_stride, io.scratch);
  }

 private:
  kf::PackedLinearInt8 p_;
};

std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  CheckWeightedLayer(c);
  const kernels::LinearShape s{c.layer().in_channels, c.layer().out_channels};
  const int64_t scratch = s.out_features * 4;  // the fast kernels' int32 / float row
  if (!c.quantized) {
    const FloatWeights k(c.layer());
    if (c.reference_kernels)
      return MakeFloatKernel([=](const KernelIO<float>& io) {
        kr::LinearFloat(s, io.in[0], k.weight, k.bias, io.out);
      });
    return MakeFloatKernel(
        [=, wt = kf::TransposeLinearWeight(s, k.weight)](const KernelIO<float>& io) {
          kf::LinearFloat(s, io.in[0], wt.data(), k.bias, io.out, io.scratch);
        },
        scratch);
  }
  const Int8Weights k(c.layer(), c.input().quant);
  if (c.reference_kernels)
    return MakeInt8Kernel([=](const KernelIO<int8_t>& io) {
      kr::LinearInt8(s, k.requant, io.in[0], k.weight, k.bias, io.out);
    });
  if (c.layer().quant.weight_bits == 1 && c.isa == kernels::fast::Isa::kPortable)
    return MakeInt8Kernel(  // binary weights, portable: adds and subtracts only
        [=, bw = kf::PrepareBinaryLinear(s, k.weight)](const KernelIO<int8_t>& io) {
          kf::LinearBinary(s, k.requant, io.in[0], bw, k.bias, io.out, io.scratch);
        },
        s.in_features * 4);
  return std::make_unique<LinearInt8Kernel>(
      kf::PackLinearInt8(s, k.requant, k.weight, k.bias, c.isa));
}

nlohmann::json ExportRecord(const Graph&, const Layer& l) {
  nlohmann::json j;
  WeightedRecord(l, "OI (out, in), row-major", j);
  j["integer_ops"] = {
      "for o in [0,O): acc = bias[o] (0 if no bias), int32",
      "for i in [0,I): acc += (in[i] - input_zero_point) * (weight[o, i] - weight_zero_point[o])",
      "r = MultiplyByQuantizedMultiplier(acc, multiplier[o], shift[o])  (entry 0 for all o when "
      "per-tensor)",
      "out[o] = clamp(r + output_zero_point, act_min, act_max)"};
  return j;
}

void MapToArray(const Graph&, const Layer& l, const ArrayMapOptions& o,
                std::vector<accel::LayerSpec>& out) {
  out.push_back(accel::LayerSpec::Gemm(l.name, o.batch, l.out_channels, l.in_channels));
}

}  // namespace

OpDef LinearOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "linear", .infer_shape = &InferShape, .params = &Params,
          .save_attrs = &SaveChannelAttrs, .load_attrs = &LoadChannelAttrs, .count = &Count,
          .prepare = &Prepare, .quant_role = QuantRole::kObserved,
          .quantize = &quant::QuantizeWeightedLayer, .export_record = &ExportRecord,
          .array_role = ArrayRole::kArray, .map_to_array = &MapToArray};
  // clang-format on
}

}  // namespace qaccel::ops
