#include "qaccel/graph/graph.h"

#include "qaccel/core/error.h"
#include "qaccel/graph/op_registry.h"

namespace qaccel {

OpKind ParseOpKind(std::string_view s) { return FindOp(s).kind(); }

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
  const OpDef& def = FindOp(l.kind);
  if (def.params)
    for (const ParamSpec& spec : def.params(l))
      if (spec.name == p) return spec.shape;
  throw Error("layer '" + l.name + "' (" + def.name + ") has no parameter '" + p + "'");
}

int64_t Graph::input_channels() const { return input_shape().size() == 3 ? input_shape()[0] : 1; }

int64_t Graph::input_channel_size() const { return NumElements(input_shape()) / input_channels(); }

void Graph::InferShapes() {
  for (size_t i = 0; i < layers.size(); ++i) InferLayerShape(i);
  input_transform.Validate(input_channels(), "graph '" + name + "'");
}

void Graph::InferLayerShape(size_t i) {
  Check(!layers.empty() && layers[0].kind == OpKind::kInput,
        "graph '" + name + "': the first layer must be the input");
  Check(layers[0].out_shape.size() == 3 || layers[0].out_shape.size() == 1,
        "graph '" + name + "': input shape must be [C, H, W] or [F]");
  Layer& l = layers[i];
  const OpDef& def = FindOp(l.kind);
  const std::string where = "layer '" + l.name + "' (" + def.name + ")";
  for (int in : l.inputs)
    Check(in >= 0 && static_cast<size_t>(in) < i,
          where + ": input index " + std::to_string(in) + " does not refer to an earlier layer");
  Check(l.inputs.size() == static_cast<size_t>(def.num_inputs),
        where + ": expected " + std::to_string(def.num_inputs) + " input(s), got " +
            std::to_string(l.inputs.size()));
  std::vector<const Shape*> in;
  for (int k : l.inputs) in.push_back(&layers[static_cast<size_t>(k)].out_shape);
  if (def.infer_shape) {
    try {
      def.infer_shape(l, in, where);
    } catch (const Error& e) {  // e.g. NumElements overflowing: say which layer
      const std::string msg = e.what();
      if (msg.rfind(where, 0) == 0) throw;
      throw Error(where + ": " + msg);
    }
  }
  for (auto& [pname, t] : l.params) {
    Shape want = ExpectedParamShape(l, pname);
    if (t.shape() != want)  // the message is built only on failure
      throw Error(where + ": parameter '" + pname + "' has shape " + ShapeToString(t.shape()) +
                  ", expected " + ShapeToString(want));
  }
}

void Graph::ValidateParameters() const {
  Graph copy = *this;
  copy.InferShapes();
  for (const Layer& l : layers) {
    const OpDef& def = FindOp(l.kind);
    if (!def.params) continue;
    for (const ParamSpec& spec : def.params(l))
      Check(!spec.required || l.params.count(spec.name) != 0,
            "layer '" + l.name + "': missing parameter '" + spec.name + "'");
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
