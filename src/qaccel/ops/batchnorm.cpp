// batchnorm: y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c].
// Quantization folds it into the conv before it (w' = w * g / sqrt(v + eps),
// b' = (b - mean) * g / sqrt(v + eps) + beta); the layer stays as an
// identity with quant.folded_into = the conv's name and no parameters.
#include <cmath>

#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

constexpr const char* kParams[] = {"gamma", "beta", "mean", "var"};

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  Check(!in[0]->empty(), where + ": empty input shape");
  l.in_channels = l.out_channels = (*in[0])[0];
  l.out_shape = *in[0];
}

std::vector<ParamSpec> Params(const Layer& l) {
  std::vector<ParamSpec> specs;
  for (const char* p : kParams) specs.push_back({p, {l.in_channels}, l.quant.folded_into.empty()});
  return specs;
}

void SaveAttrs(const Layer& l, nlohmann::json& j) { j["eps"] = l.eps; }

void LoadAttrs(Layer& l, const nlohmann::json& j, const std::string& where) {
  l.eps = Field<float>(j, "eps", where);
}

OpCost Count(const Layer& l, const std::vector<const Shape*>&) {
  return {.params32 = CountProduct({4, l.in_channels}),
          .other_ops = CountProduct({2, NumElements(l.out_shape)})};
}

// Float: the normalization; int8: an identity (folded into the conv).
std::unique_ptr<engine::OpKernel> Prepare(const engine::PrepareContext& c) {
  const Layer& l = c.layer();
  if (c.quantized) {
    Check(!l.quant.folded_into.empty(),
          Where(l) + ": a quantized batchnorm must be folded into the preceding conv");
    return MakeCopyKernel(NumElements(l.out_shape));
  }
  for (const char* p : kParams) CheckTensor(l, p, DType::kF32, true);
  const int64_t channels = c.input_shape()[0], hw = SpatialSize(c.input_shape());
  const float eps = l.eps;
  const float *gamma = FloatParam(l, "gamma"), *beta = FloatParam(l, "beta"),
              *mean = FloatParam(l, "mean"), *var = FloatParam(l, "var");
  return MakeFloatKernel([=](const KernelIO<float>& io) {
    kr::BatchNormFloat(channels, hw, io.in[0], gamma, beta, mean, var, eps, io.out);
  });
}

void FoldIntoProducer(Layer& bn, Layer& conv) {
  const auto gamma = bn.params.at("gamma").data<float>(), beta = bn.params.at("beta").data<float>(),
             mean = bn.params.at("mean").data<float>(), var = bn.params.at("var").data<float>();
  auto w = conv.params.at("weight").data<float>();
  const int64_t per_out = static_cast<int64_t>(w.size()) / conv.out_channels;
  std::vector<float> bias(static_cast<size_t>(conv.out_channels), 0.0f);
  if (conv.has_bias) {
    auto b = conv.params.at("bias").data<float>();
    std::copy(b.begin(), b.end(), bias.begin());
  }
  for (int64_t o = 0; o < conv.out_channels; ++o) {
    const double k = gamma[o] / std::sqrt(static_cast<double>(var[o]) + bn.eps);
    for (int64_t j = 0; j < per_out; ++j)
      w[o * per_out + j] = static_cast<float>(w[o * per_out + j] * k);
    bias[o] = static_cast<float>((bias[o] - mean[o]) * k + beta[o]);
  }
  conv.params["bias"] = Tensor::From<float>({conv.out_channels}, bias);
  conv.has_bias = true;
  bn.params.clear();
  bn.quant.folded_into = conv.name;
}

nlohmann::json ExportRecord(const Graph&, const Layer& l) {
  return {{"folded_into", l.quant.folded_into},
          {"integer_ops",
           {"out = in  (identity: this batchnorm was folded into layer '" + l.quant.folded_into +
            "' at quantization)"}}};
}

}  // namespace

OpDef BatchNormOp() {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = "batchnorm", .infer_shape = &InferShape, .params = &Params,
          .save_attrs = &SaveAttrs, .load_attrs = &LoadAttrs, .count = &Count,
          .prepare = &Prepare, .quant_role = QuantRole::kFoldsIntoProducer,
          .quantize = &quant::SetSameAsInput, .fold_into_producer = &FoldIntoProducer,
          .export_record = &ExportRecord};
  // clang-format on
}

}  // namespace qaccel::ops
