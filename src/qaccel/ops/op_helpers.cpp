// Pieces shared by several built-in ops (see op_helpers.h).
#include "qaccel/ops/op_helpers.h"

#include <tuple>

#include "qaccel/graph/model_file.h"

namespace qaccel::ops {
using nlohmann::json;

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(l.kind.name()) + ")";
}

int64_t OutDim(int64_t in, int64_t k, int64_t s, int64_t p, const std::string& where) {
  Check(k > 0 && s > 0 && p >= 0, where + ": kernel and stride must be positive, padding >= 0");
  const int64_t span = in + 2 * p - k;
  if (span < 0)
    throw Error(where + ": kernel " + std::to_string(k) + " larger than padded input " +
                std::to_string(in + 2 * p));
  return span / s + 1;
}

void CheckChw(const Shape& in, const std::string& where) {
  if (in.size() != 3) throw Error(where + ": needs a [C, H, W] input, got " + ShapeToString(in));
}

int64_t ChannelsOfPoolInput(Layer& l, const Shape& in, const std::string& where) {
  CheckChw(in, where);
  l.in_channels = l.out_channels = in[0];
  return in[0];
}

Shape WindowOutShape(const Layer& l, const Shape& in, int64_t out_c, const std::string& where) {
  return {out_c, OutDim(in[1], l.kernel_h, l.stride_h, l.pad_h, where),
          OutDim(in[2], l.kernel_w, l.stride_w, l.pad_w, where)};
}

void SaveWindowAttrs(const Layer& l, json& j) {
  j["kernel"] = {l.kernel_h, l.kernel_w};
  j["stride"] = {l.stride_h, l.stride_w};
  j["padding"] = {l.pad_h, l.pad_w};
}

void LoadWindowAttrs(Layer& l, const json& j, const std::string& where) {
  auto k = Field<std::vector<int64_t>>(j, "kernel", where);
  auto s = Field<std::vector<int64_t>>(j, "stride", where);
  auto p = Field<std::vector<int64_t>>(j, "padding", where);
  Check(k.size() == 2 && s.size() == 2 && p.size() == 2,
        where + ": kernel/stride/padding need 2 values");
  l.kernel_h = k[0];
  l.kernel_w = k[1];
  l.stride_h = s[0];
  l.stride_w = s[1];
  l.pad_h = p[0];
  l.pad_w = p[1];
}

void SaveChannelAttrs(const Layer& l, json& j) {
  j["in_channels"] = l.in_channels;
  j["out_channels"] = l.out_channels;
  j["bias"] = l.has_bias;
}

void LoadChannelAttrs(Layer& l, const json& j, const std::string& where) {
  l.in_channels = Field<int64_t>(j, "in_channels", where);
  l.out_channels = Field<int64_t>(j, "out_channels", where);
  l.has_bias = Field<bool>(j, "bias", where);
}

OpCost CountElementwise(const Layer& l, const std::vector<const Shape*>&) {
  return {.other_ops = NumElements(l.out_shape)};
}

std::vector<ParamSpec> WeightAndBias(const Layer& l, Shape weight_shape) {
  return {{"weight", std::move(weight_shape), true}, {"bias", {l.out_channels}, l.has_bias}};
}

namespace {

// The fields ConvShape and PoolShape share: spatial sizes and the window.
template <typename S>
S SpatialAndWindow(const Layer& l, const Shape& in) {
  S s;
  std::tie(s.in_h, s.in_w, s.out_h, s.out_w) =
      std::tie(in[1], in[2], l.out_shape[1], l.out_shape[2]);
  std::tie(s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w) =
      std::tie(l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.pad_h, l.pad_w);
  return s;
}

}  // namespace

kernels::ConvShape MakeConvShape(const Layer& l, const Shape& in) {
  auto s = SpatialAndWindow<kernels::ConvShape>(l, in);
  s.in_c = in[0];
  s.out_c = l.out_shape[0];
  s.groups = l.groups;
  return s;
}

kernels::PoolShape MakePoolShape(const Layer& l, const Shape& in) {
  auto s = SpatialAndWindow<kernels::PoolShape>(l, in);
  s.channels = in[0];
  return s;
}

int64_t SpatialSize(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 1; i < s.size(); ++i) n *= s[i];
  return n;
}

kernels::reference::RequantParams MakeRequant(const Layer& l, const QuantParams& in_q) {
  kernels::reference::RequantParams p;
  p.input_zero_point = in_q.out_zero_point;
  p.weight_zero_point = l.quant.weight_zero_point.data();
  p.multiplier = l.quant.multiplier.data();
  p.shift = l.quant.shift.data();
  p.per_channel = l.quant.multiplier.size() > 1;
  p.output_zero_point = l.quant.out_zero_point;
  p.act_min = l.quant.act_min;
  p.act_max = l.quant.act_max;
  return p;
}

void CheckTensor(const Layer& l, const char* name, DType want, bool required) {
  auto it = l.params.find(name);
  if (it == l.params.end()) {
    if (required) throw Error(Where(l) + ": missing parameter '" + name + "'");
    return;
  }
  if (it->second.dtype() != want)
    throw Error(Where(l) + ": parameter '" + name + "' has dtype " +
                std::string(DTypeName(it->second.dtype())) + ", expected " +
                std::string(DTypeName(want)));
}

void CheckWeightedLayer(const engine::PrepareContext& ctx) {
  const Layer& l = ctx.layer();
  if (!ctx.quantized) {
    CheckTensor(l, "weight", DType::kF32, true);
    CheckTensor(l, "bias", DType::kF32, l.has_bias);
    return;
  }
  CheckTensor(l, "weight", DType::kI8, true);
  CheckTensor(l, "bias", DType::kI32, l.has_bias);
  const size_t want = l.quant.multiplier.size();
  Check(want == 1 || want == static_cast<size_t>(l.out_channels),
        Where(l) + ": needs 1 or out_channels multipliers, has " + std::to_string(want));
  Check(l.quant.shift.size() == want && l.quant.weight_zero_point.size() == want,
        Where(l) + ": multiplier, shift and weight_zero_point lengths differ");
}

const float* FloatParam(const Layer& l, const char* name) {
  auto it = l.params.find(name);
  return it == l.params.end() ? nullptr : it->second.data<float>().data();
}

void NoKernel(const char* precision) {
  throw Error(std::string("this op has no ") + precision + " kernel");
}

std::unique_ptr<engine::OpKernel> MakeCopyKernel(int64_t numel) {
  return MakeKernel(
      [numel](const engine::KernelIO<float>& io) {
        std::memcpy(io.out, io.in[0], static_cast<size_t>(numel) * sizeof(float));
      },
      [numel](const engine::KernelIO<int8_t>& io) {
        std::memcpy(io.out, io.in[0], static_cast<size_t>(numel));
      });
}

FloatWeights::FloatWeights(const Layer& l)
    : weight(FloatParam(l, "weight")), bias(FloatParam(l, "bias")) {}

Int8Weights::Int8Weights(const Layer& l, const QuantParams& in_q)
    : requant(MakeRequant(l, in_q)), weight(l.params.at("weight").data<int8_t>().data()) {
  auto it = l.params.find("bias");
  bias = it == l.params.end() ? nullptr : it->second.data<int32_t>().data();
}

void WeightedRecord(const Layer& l, const char* weight_layout, json& j) {
  const json q = QuantToJson(l.quant);
  for (const char* k :
       {"weight_scheme", "weight_scale", "weight_zero_point", "multiplier", "shift"})
    j[k] = q.at(k);
  j["in_channels"] = l.in_channels;
  j["out_channels"] = l.out_channels;
  j["per_channel"] = l.quant.multiplier.size() > 1;
  auto files = [&](const std::string& stem) {
    return json{{"txt", l.name + "." + stem + ".txt"},
                {"hex", l.name + "." + stem + ".hex"},
                {"bin", l.name + "." + stem + ".bin"}};
  };
  j["weight_bits"] = l.quant.weight_bits;
  j["weight"] = {{"dtype", "i8"},
                 {"shape", l.params.at("weight").shape()},
                 {"layout", weight_layout},
                 {"files", files("weight")}};
  if (l.quant.weight_bits < 8) {
    const int64_t n = l.params.at("weight").numel();
    j["weight"]["dtype"] = "packed";
    j["weight"]["bits"] = l.quant.weight_bits;
    j["weight"]["packed_bytes"] = (n * l.quant.weight_bits + 7) / 8;
    j["weight"]["encoding"] =
        l.quant.weight_bits == 1
            ? "binary: bit 1 = +1, bit 0 = -1; numeric_contract.packed_weights for the bit order"
            : "n-bit two's complement; numeric_contract.packed_weights for the bit order";
  }
  if (l.quant.weight_bits == 1)
    j["binary"] = {{"alpha", "weight_scale[o] = mean |w_float[o, ...]|"},
                   {"accumulation",
                    "acc = bias[o] + 2 * sum_{k: w[o,k] = +1} (in[k] - "
                    "input_zero_point) - sum_k (in[k] - input_zero_point)  "
                    "(equals the multiply-accumulate in integer_ops)"}};
  if (l.params.count("bias"))
    j["bias"] = {{"dtype", "i32"},
                 {"shape", l.params.at("bias").shape()},
                 {"scale", "input_scale * weight_scale[o]"},
                 {"zero_point", 0},
                 {"files", files("bias")}};
  else
    j["bias"] = nullptr;
  j["requant_files"] = {{"hex", {l.name + ".multiplier.hex", l.name + ".shift.hex"}},
                        {"bin", {l.name + ".multiplier.bin", l.name + ".shift.bin"}}};
}

}  // namespace qaccel::ops
