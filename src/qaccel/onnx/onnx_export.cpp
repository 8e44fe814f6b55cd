// Graph -> ONNX (onnx_io.h): plain float ONNX, or QDQ ONNX for a quantized
// graph. The ONNX input is x = pixel / 255 as float [N, C, H, W] (or [N, F]);
// a non-default input transform becomes a Mul/Sub/Div prologue, so importing
// the file gives the same transform back.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/onnx/onnx_io.h"

namespace qaccel::onnxio {
namespace {

using ::onnx::NodeProto;
using ::onnx::TensorProto;

class Exporter {
 public:
  explicit Exporter(const Graph& g) : g_(g), q_(g.quantized()) {}
  std::string Run();

 private:
  std::string Fresh(const std::string& base) { return base + "_" + std::to_string(next_++); }
  TensorProto* Init(const std::string& name, int type, const Shape& dims, const void* data,
                    size_t bytes) {
    TensorProto* t = gp_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
    return t;
  }
  std::string FloatInit(const std::string& name, const Shape& dims, const std::vector<float>& v) {
    Init(name, TensorProto::FLOAT, dims, v.data(), v.size() * 4);
    return name;
  }
  NodeProto* Node(const std::string& op, const std::vector<std::string>& in, const std::string& out,
                  const std::string& name) {
    NodeProto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void IntAttr(NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void IntsAttr(NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void FloatAttr(NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void Spatial(NodeProto* n, const Layer& l, bool kernel) {
    if (kernel) IntsAttr(n, "kernel_shape", {l.kernel_h, l.kernel_w});
    IntsAttr(n, "strides", {l.stride_h, l.stride_w});
    IntsAttr(n, "pads", {l.pad_h, l.pad_w, l.pad_h, l.pad_w});
  }
  // QuantizeLinear -> DequantizeLinear of `x` with layer i's output edge.
  std::string QDQ(const std::string& x, int i, const std::string& out) {
    const QuantParams& q = g_.layers[i].quant;
    const std::string base = names_[i];
    const std::string s = FloatInit(base + "_scale", {}, {q.out_scale});
    const int8_t zp = static_cast<int8_t>(q.out_zero_point);
    Init(base + "_zero_point", TensorProto::INT8, {}, &zp, 1);
    Node("QuantizeLinear", {x, s, base + "_zero_point"}, base + "_q", base + "_quantize");
    Node("DequantizeLinear", {base + "_q", s, base + "_zero_point"}, out, base + "_dequantize");
    return out;
  }
  // The parameter input of a conv / linear: float, or int8 / int32 behind a DequantizeLinear.
  std::string Weight(int i);
  std::string Bias(int i);
  void Layer(int i);

  const Graph& g_;
  const bool q_;
  ::onnx::GraphProto* gp_ = nullptr;
  std::vector<std::string> names_, out_;  // per layer: its name, its output value
  int next_ = 0;
};

std::string Exporter::Weight(int i) {
  const qaccel::Layer& l = g_.layers[i];
  const Tensor& w = l.params.at("weight");
  const std::string name = names_[i] + "_weight";
  if (!q_) return FloatInit(name, w.shape(), w.ToFloat());
  Check(w.dtype() == DType::kI8, "layer '" + l.name + "': quantized weight is not int8");
  Init(name + "_quantized", TensorProto::INT8, w.shape(), w.raw(), w.nbytes());
  const QuantParams& q = l.quant;
  const bool per_channel = q.weight_scale.size() > 1;
  const Shape sdims = per_channel ? Shape{static_cast<int64_t>(q.weight_scale.size())} : Shape{};
  FloatInit(name + "_scale", sdims, q.weight_scale);
  std::vector<int8_t> zp(q.weight_zero_point.begin(), q.weight_zero_point.end());
  if (zp.empty()) zp.assign(q.weight_scale.size(), 0);
  Init(name + "_zero_point", TensorProto::INT8, sdims, zp.data(), zp.size());
  NodeProto* n =
      Node("DequantizeLinear", {name + "_quantized", name + "_scale", name + "_zero_point"}, name,
           name + "_dequantize");
  if (per_channel) IntAttr(n, "axis", 0);
  return name;
}

std::string Exporter::Bias(int i) {
  const qaccel::Layer& l = g_.layers[i];
  const Tensor& b = l.params.at("bias");
  const std::string name = names_[i] + "_bias";
  if (!q_) return FloatInit(name, b.shape(), b.ToFloat());
  Check(b.dtype() == DType::kI32, "layer '" + l.name + "': quantized bias is not int32");
  Init(name + "_quantized", TensorProto::INT32, b.shape(), b.raw(), b.nbytes());
  // The bias is at scale s_in * s_w[c], zero point 0 (docs/quantization.md).
  const float s_in = g_.layers[l.inputs[0]].quant.out_scale;
  std::vector<float> scale;
  for (float sw : l.quant.weight_scale) scale.push_back(s_in * sw);
  const bool per_channel = scale.size() > 1;
  const Shape sdims = per_channel ? Shape{static_cast<int64_t>(scale.size())} : Shape{};
  FloatInit(name + "_scale", sdims, scale);
  std::vector<int32_t> zp(scale.size(), 0);
  Init(name + "_zero_point", TensorProto::INT32, sdims, zp.data(), zp.size() * 4);
  NodeProto* n =
      Node("DequantizeLinear", {name + "_quantized", name + "_scale", name + "_zero_point"}, name,
           name + "_dequantize");
  if (per_channel) IntAttr(n, "axis", 0);
  return name;
}

void Exporter::Layer(int i) {
  const qaccel::Layer& l = g_.layers[i];
  const std::string& nm = names_[i];
  const bool last = i + 1 == static_cast<int>(g_.layers.size());
  const std::string in = l.inputs.empty() ? "" : out_[l.inputs[0]];
  // The op's float output, then (quantized) the edge's QDQ.
  std::string y = q_ || last ? nm + "_float" : nm;
  if (!q_ && last) y = "logits";
  const OpKind k = l.kind;
  if (k == OpKind::kConv2d) {
    std::vector<std::string> ins = {in, Weight(i)};
    if (l.has_bias) ins.push_back(Bias(i));
    NodeProto* n = Node("Conv", ins, y, nm);
    Spatial(n, l, true);
    IntAttr(n, "group", l.groups);
  } else if (k == OpKind::kLinear) {
    std::vector<std::string> ins = {in, Weight(i)};
    if (l.has_bias) ins.push_back(Bias(i));
    NodeProto* n = Node("Gemm", ins, y, nm);
    IntAttr(n, "transB", 1);
  } else if (k == OpKind::kAvgPool2d) {
    NodeProto* n = Node("AveragePool", {in}, y, nm);
    Spatial(n, l, true);
    IntAttr(n, "count_include_pad", 1);
  } else if (k == OpKind::kMaxPool2d) {
    Spatial(Node("MaxPool", {in}, y, nm), l, true);
  } else if (k == OpKind::kGlobalAvgPool) {
    Node("GlobalAveragePool", {in}, nm + "_4d", nm);
    Node("Flatten", {nm + "_4d"}, y, nm + "_flatten");
  } else if (k == OpKind::kRelu) {
    Node("Relu", {in}, y, nm);
  } else if (k == OpKind::kFlatten) {
    Node("Flatten", {in}, y, nm);
  } else if (k == OpKind::kAdd) {
    Node("Add", {in, out_[l.inputs[1]]}, y, nm);
  } else if (k == OpKind::kBatchNorm) {
    if (q_ && !l.quant.folded_into.empty()) {
      // Folded into the conv before it at quantization: an identity here.
      Node("Identity", {in}, y, nm);
    } else {
      std::vector<std::string> ins = {in};
      for (const char* p : {"gamma", "beta", "mean", "var"})
        ins.push_back(FloatInit(nm + "_" + p, l.params.at(p).shape(), l.params.at(p).ToFloat()));
      FloatAttr(Node("BatchNormalization", ins, y, nm), "epsilon", l.eps);
    }
  } else {
    throw Error("layer '" + l.name + "' (" + std::string(k.name()) + "): no ONNX equivalent");
  }
  out_[i] = q_ ? QDQ(y, i, last ? "logits" : nm) : y;
}

std::string Exporter::Run() {
  ::onnx::ModelProto m;
  m.set_ir_version(7);  // the IR of opset 13
  m.set_producer_name("qaccel");
  m.set_producer_version(QACCEL_VERSION);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(kExportOpset);
  gp_ = m.mutable_graph();
  gp_->set_name(g_.name.empty() ? "qaccel" : g_.name);
  if (q_) gp_->set_doc_string("QDQ export of a quantized qaccel model (docs/interop.md)");

  for (const auto& l : g_.layers) {
    std::string n;
    for (char ch : l.name) n += (std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
    names_.push_back(n);
  }
  out_.resize(g_.layers.size());
  // The input: x = pixel / 255, batch dimension "N".
  auto* vi = gp_->add_input();
  vi->set_name("input");
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  for (int64_t d : g_.input_shape()) tt->mutable_shape()->add_dim()->set_dim_value(d);
  std::string x = "input";
  const InputTransform& t = g_.input_transform;
  if (!t.IsDefault()) {
    const int64_t ch = g_.input_channels();
    const bool image = g_.input_shape().size() == 3;
    auto per_channel = [&](const std::vector<double>& v, const std::string& name) {
      std::vector<float> f;
      for (int64_t c = 0; c < ch; ++c) f.push_back(static_cast<float>(v[v.size() == 1 ? 0 : c]));
      return FloatInit(name, image ? Shape{ch, 1, 1} : Shape{ch}, f);
    };
    if (std::abs(t.scale * 255.0 - 1.0) > 1e-12) {
      Node("Mul", {x, FloatInit("input_rescale", {}, {static_cast<float>(t.scale * 255.0)})},
           "input_rescaled", "input_rescale");
      x = "input_rescaled";
    }
    Node("Sub", {x, per_channel(t.mean, "input_mean")}, "input_centered", "input_sub_mean");
    Node("Div", {"input_centered", per_channel(t.std, "input_std")}, "input_normalized",
         "input_div_std");
    x = "input_normalized";
  }
  out_[0] = q_ ? QDQ(x, 0, names_[0] + "_input") : x;
  for (size_t i = 1; i < g_.layers.size(); ++i) Layer(static_cast<int>(i));
  auto* vo = gp_->add_output();
  vo->set_name("logits");
  auto* ot = vo->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_param("N");
  for (int64_t d : g_.output_shape()) ot->mutable_shape()->add_dim()->set_dim_value(d);
  std::string bytes;
  Check(m.SerializeToString(&bytes), "ONNX export: serialization failed");
  return bytes;
}

}  // namespace

std::string ExportOnnx(const Graph& g) { return Exporter(g).Run(); }

void ExportOnnxFile(const Graph& g, const std::filesystem::path& path) {
  const std::string bytes = ExportOnnx(g);
  AtomicWriteBinary(path, bytes.data(), bytes.size());
}

}  // namespace qaccel::onnxio
