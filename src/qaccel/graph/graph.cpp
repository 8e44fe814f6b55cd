#include "qaccel/graph/graph.h"

#include <array>

#include "qaccel/core/error.h"

namespace qaccel {
namespace {

constexpr std::array<std::pair<OpKind, std::string_view>, 10> kNames = {{
    {OpKind::kInput, "input"},
    {OpKind::kConv2d, "conv2d"},
    {OpKind::kLinear, "linear"},
    {OpKind::kAvgPool2d, "avgpool2d"},
    {OpKind::kMaxPool2d, "maxpool2d"},
    {OpKind::kGlobalAvgPool, "global_avgpool"},
    {OpKind::kRelu, "relu"},
    {OpKind::kFlatten, "flatten"},
    {OpKind::kAdd, "add"},
    {OpKind::kBatchNorm, "batchnorm"},
}};

int64_t OutDim(int64_t in, int64_t k, int64_t s, int64_t p, const std::string& where) {
  Check(k > 0 && s > 0 && p >= 0, where + ": kernel and stride must be positive, padding >= 0");
  int64_t span = in + 2 * p - k;
  Check(span >= 0, where + ": kernel " + std::to_string(k) + " larger than padded input " +
                       std::to_string(in + 2 * p));
  return span / s + 1;
}

}  // namespace

std::string_view OpKindName(OpKind k) {
  for (auto& [kind, n] : kNames)
    if (kind == k) return n;
  return "?";
}

OpKind ParseOpKind(std::string_view s) {
  for (auto& [kind, n] : kNames)
    if (n == s) return kind;
  throw Error("unknown layer kind '" + std::string(s) + "'");
}

int Graph::Find(const std::string& n) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == n) return static_cast<int>(i);
  return -1;
}

bool Graph::quantized() const {
  for (auto& l : layers)
    if (l.quant.quantized) return true;
  return false;
}

Shape ExpectedParamShape(const Layer& l, const std::string& p) {
  if (l.kind == OpKind::kConv2d) {
    if (p == "weight") return {l.out_channels, l.in_channels / l.groups, l.kernel_h, l.kernel_w};
    if (p == "bias") return {l.out_channels};
  } else if (l.kind == OpKind::kLinear) {
    if (p == "weight") return {l.out_channels, l.in_channels};
    if (p == "bias") return {l.out_channels};
  } else if (l.kind == OpKind::kBatchNorm) {
    if (p == "gamma" || p == "beta" || p == "mean" || p == "var") return {l.in_channels};
  }
  throw Error("layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) +
              ") has no parameter '" + p + "'");
}

void Graph::InferShapes() {
  for (size_t i = 0; i < layers.size(); ++i) InferLayerShape(i);
}

void Graph::InferLayerShape(size_t i) {
  Check(!layers.empty() && layers[0].kind == OpKind::kInput,
        "graph '" + name + "': the first layer must be the input");
  Check(layers[0].out_shape.size() == 3 || layers[0].out_shape.size() == 1,
        "graph '" + name + "': input shape must be [C, H, W] or [F]");
  {
    Layer& l = layers[i];
    const std::string where = "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
    for (int in : l.inputs)
      Check(in >= 0 && static_cast<size_t>(in) < i,
            where + ": input index " + std::to_string(in) + " does not refer to an earlier layer");
    size_t want_inputs = l.kind == OpKind::kInput ? 0 : (l.kind == OpKind::kAdd ? 2 : 1);
    Check(l.inputs.size() == want_inputs, where + ": expected " + std::to_string(want_inputs) +
                                              " input(s), got " + std::to_string(l.inputs.size()));
    if (l.kind == OpKind::kInput) return;
    const Shape& in = layers[l.inputs[0]].out_shape;
    switch (l.kind) {
      case OpKind::kConv2d: {
        Check(in.size() == 3, where + ": needs a [C, H, W] input, got " + ShapeToString(in));
        Check(l.groups > 0 && l.in_channels % l.groups == 0 && l.out_channels % l.groups == 0,
              where + ": channels not divisible by groups");
        Check(in[0] == l.in_channels, where + ": expects " + std::to_string(l.in_channels) +
                                          " input channels, producer gives " +
                                          std::to_string(in[0]));
        Check(l.out_channels > 0, where + ": out_channels must be positive");
        l.out_shape = {l.out_channels, OutDim(in[1], l.kernel_h, l.stride_h, l.pad_h, where),
                       OutDim(in[2], l.kernel_w, l.stride_w, l.pad_w, where)};
        break;
      }
      case OpKind::kLinear:
        Check(in.size() == 1,
              where + ": needs a 1-D input (add a flatten), got " + ShapeToString(in));
        Check(in[0] == l.in_channels, where + ": expects " + std::to_string(l.in_channels) +
                                          " input features, producer gives " +
                                          std::to_string(in[0]));
        Check(l.out_channels > 0, where + ": out_features must be positive");
        l.out_shape = {l.out_channels};
        break;
      case OpKind::kAvgPool2d:
      case OpKind::kMaxPool2d:
        Check(in.size() == 3, where + ": needs a [C, H, W] input, got " + ShapeToString(in));
        l.in_channels = l.out_channels = in[0];
        l.out_shape = {in[0], OutDim(in[1], l.kernel_h, l.stride_h, l.pad_h, where),
                       OutDim(in[2], l.kernel_w, l.stride_w, l.pad_w, where)};
        break;
      case OpKind::kGlobalAvgPool:
        Check(in.size() == 3, where + ": needs a [C, H, W] input, got " + ShapeToString(in));
        l.in_channels = l.out_channels = in[0];
        l.out_shape = {in[0]};
        break;
      case OpKind::kRelu:
        l.out_shape = in;
        break;
      case OpKind::kFlatten:
        l.out_shape = {NumElements(in)};
        break;
      case OpKind::kAdd:
        Check(layers[l.inputs[1]].out_shape == in,
              where + ": operand shapes differ: " + ShapeToString(in) + " vs " +
                  ShapeToString(layers[l.inputs[1]].out_shape));
        l.out_shape = in;
        break;
      case OpKind::kBatchNorm:
        Check(!in.empty(), where + ": empty input shape");
        l.in_channels = l.out_channels = in[0];
        l.out_shape = in;
        break;
      case OpKind::kInput:
        break;
    }
    for (auto& [pname, t] : l.params) {
      Shape want = ExpectedParamShape(l, pname);
      Check(t.shape() == want, where + ": parameter '" + pname + "' has shape " +
                                   ShapeToString(t.shape()) + ", expected " + ShapeToString(want));
    }
  }
}

void Graph::ValidateParameters() const {
  Graph copy = *this;
  copy.InferShapes();
  for (const Layer& l : layers) {
    if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear && l.kind != OpKind::kBatchNorm)
      continue;
    std::vector<std::string> need;
    if (l.kind == OpKind::kBatchNorm && !l.quant.folded_into.empty())
      continue;  // folded at quantization
    if (l.kind == OpKind::kBatchNorm)
      need = {"gamma", "beta", "mean", "var"};
    else
      need = {"weight"};
    if (l.has_bias) need.push_back("bias");
    for (auto& p : need)
      Check(l.params.count(p) != 0, "layer '" + l.name + "': missing parameter '" + p + "'");
  }
}

int Graph::Push(Layer l) {
  Check(Find(l.name) < 0, "graph '" + name + "': duplicate layer name '" + l.name + "'");
  layers.push_back(std::move(l));
  InferLayerShape(layers.size() - 1);  // earlier layers are already inferred
  return static_cast<int>(layers.size()) - 1;
}

int Graph::AddInput(const std::string& n, Shape shape) {
  Check(layers.empty(), "the input must be the first layer");
  Layer l;
  l.name = n;
  l.kind = OpKind::kInput;
  l.out_shape = std::move(shape);
  if (l.out_shape.size() == 3) l.out_channels = l.out_shape[0];
  return Push(std::move(l));
}

int Graph::AddConv(const std::string& n, int from, int64_t out_ch, int64_t k, int64_t stride,
                   int64_t pad, bool bias, int64_t groups) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kConv2d;
  l.inputs = {from};
  l.in_channels = layers.at(from).out_shape.at(0);
  l.out_channels = out_ch;
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  l.groups = groups;
  l.has_bias = bias;
  return Push(std::move(l));
}

int Graph::AddLinear(const std::string& n, int from, int64_t out_features, bool bias) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kLinear;
  l.inputs = {from};
  l.in_channels = layers.at(from).out_shape.at(0);
  l.out_channels = out_features;
  l.has_bias = bias;
  return Push(std::move(l));
}

int Graph::AddAvgPool(const std::string& n, int from, int64_t k, int64_t stride) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kAvgPool2d;
  l.inputs = {from};
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  return Push(std::move(l));
}

int Graph::AddMaxPool(const std::string& n, int from, int64_t k, int64_t stride, int64_t pad) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kMaxPool2d;
  l.inputs = {from};
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  return Push(std::move(l));
}

int Graph::AddGlobalAvgPool(const std::string& n, int from) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kGlobalAvgPool;
  l.inputs = {from};
  return Push(std::move(l));
}

int Graph::AddRelu(const std::string& n, int from) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kRelu;
  l.inputs = {from};
  return Push(std::move(l));
}

int Graph::AddFlatten(const std::string& n, int from) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kFlatten;
  l.inputs = {from};
  return Push(std::move(l));
}

int Graph::AddAdd(const std::string& n, int a, int b) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kAdd;
  l.inputs = {a, b};
  return Push(std::move(l));
}

int Graph::AddBatchNorm(const std::string& n, int from) {
  Layer l;
  l.name = n;
  l.kind = OpKind::kBatchNorm;
  l.inputs = {from};
  l.in_channels = l.out_channels = layers.at(from).out_shape.at(0);
  return Push(std::move(l));
}

}  // namespace qaccel
