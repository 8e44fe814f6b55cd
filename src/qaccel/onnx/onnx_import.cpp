// ONNX -> Graph (onnx_io.h). Walks the nodes in their (topological) order
// and keeps, for every ONNX tensor name, what it is on our side: a layer's
// output, a constant (initializer or Constant node), or the model input with
// the per-channel affine prologue applied so far.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/onnx/onnx_io.h"

namespace qaccel::onnxio {
namespace {

namespace fs = std::filesystem;
using ::onnx::AttributeProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

struct Const {
  Shape dims;
  std::vector<double> values;  // float or int64 data, row-major
  bool is_int = false;
  std::string error;  // unreadable (a type we do not take): the error if a node uses it
};

struct Value {
  enum Kind { kLayer, kConst } kind = kLayer;
  int layer = -1;
  int rank = 4;                  // ONNX rank, batch included
  bool flat = false;             // the layer gives [C] for an ONNX [N, C, 1, 1] (GlobalAveragePool)
  int64_t pad_h = 0, pad_w = 0;  // a zero Pad not yet applied: the next Conv / AveragePool takes it
  // Layer 0 only: the prologue so far, real = x * s[c] + t[c] (x = pixel * scale).
  std::vector<double> s = {1.0}, t = {0.0};
  Const c;
};

std::string Dims(const Shape& d) { return ShapeToString(d); }

// Runs fn, prefixing any Error it throws with `where`.
template <typename Fn>
void Prefixed(const std::string& where, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

std::string NodeWhere(const std::string& file, const NodeProto& n, int index) {
  const std::string name = n.name().empty() ? "#" + std::to_string(index) : n.name();
  return file + ": node '" + name + "' (" + n.op_type() + ")";
}

std::string SanitizeName(const std::string& s) {
  std::string out;
  for (char ch : s)
    out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')
               ? ch
               : '_';
  while (!out.empty() && (out.front() == '_' || out.front() == '.')) out.erase(out.begin());
  return out;
}

Const TensorToConst(const TensorProto& t, const std::string& where) {
  Const c;
  Check(t.data_location() != TensorProto::EXTERNAL,
        where + ": tensor '" + t.name() + "': external data is not supported");
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    Check(d >= 0 && d <= kMaxModelDimension,
          where + ": tensor '" + t.name() + "': dimension " + std::to_string(d) + " out of range");
    Check(d == 0 || n <= std::numeric_limits<int32_t>::max() / d,
          where + ": tensor '" + t.name() + "': more than 2^31 elements");
    n *= d;
    c.dims.push_back(d);
  }
  const auto un = static_cast<size_t>(n);
  auto count_error = [&](size_t have) {
    return where + ": tensor '" + t.name() + "' of shape " + Dims(c.dims) + " holds " +
           std::to_string(have) + " values, expected " + std::to_string(n);
  };
  if (t.data_type() == TensorProto::FLOAT) {
    if (t.has_raw_data()) {
      Check(t.raw_data().size() == un * 4, count_error(t.raw_data().size() / 4));
      c.values.resize(un);
      for (size_t i = 0; i < un; ++i) {
        float f;
        std::memcpy(&f, t.raw_data().data() + 4 * i, 4);
        c.values[i] = f;
      }
    } else {
      Check(static_cast<size_t>(t.float_data_size()) == un, count_error(t.float_data_size()));
      c.values.assign(t.float_data().begin(), t.float_data().end());
    }
  } else if (t.data_type() == TensorProto::INT64) {
    c.is_int = true;
    if (t.has_raw_data()) {
      Check(t.raw_data().size() == un * 8, count_error(t.raw_data().size() / 8));
      c.values.resize(un);
      for (size_t i = 0; i < un; ++i) {
        int64_t v;
        std::memcpy(&v, t.raw_data().data() + 8 * i, 8);
        c.values[i] = static_cast<double>(v);
      }
    } else {
      Check(static_cast<size_t>(t.int64_data_size()) == un, count_error(t.int64_data_size()));
      c.values.assign(t.int64_data().begin(), t.int64_data().end());
    }
  } else {
    throw Error(where + ": tensor '" + t.name() + "': data type " + std::to_string(t.data_type()) +
                " is not supported (float and int64 only)");
  }
  for (double v : c.values)
    Check(std::isfinite(v), where + ": tensor '" + t.name() + "' holds a NaN or infinity");
  return c;
}

Tensor ToF32(const Const& c, Shape shape) {
  std::vector<float> v(c.values.begin(), c.values.end());
  return Tensor::From<float>(std::move(shape), v);
}

class Importer {
 public:
  Importer(const ::onnx::ModelProto& m, std::string file) : m_(m), file_(std::move(file)) {}
  Graph Run();

 private:
  const AttributeProto* Attr(const NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t AttrInt(const NodeProto& n, const std::string& name, int64_t def) const {
    const AttributeProto* a = Attr(n, name);
    return a ? a->i() : def;
  }
  float AttrFloat(const NodeProto& n, const std::string& name, float def) const {
    const AttributeProto* a = Attr(n, name);
    return a ? a->f() : def;
  }
  std::vector<int64_t> AttrInts(const NodeProto& n, const std::string& name,
                                std::vector<int64_t> def) const {
    const AttributeProto* a = Attr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
  }
  [[noreturn]] void Unsupported(const std::string& attr, const std::string& why) const {
    throw Error(where_ + ": attribute '" + attr + "' " + why);
  }
  void CheckAttrs(const NodeProto& n, std::set<std::string> known) const {
    for (const auto& a : n.attribute())
      if (!known.count(a.name())) Unsupported(a.name(), "is not supported");
  }
  const Value& In(const NodeProto& n, int i) const {
    Check(i < n.input_size() && !n.input(i).empty(),
          where_ + ": input " + std::to_string(i) + " is missing");
    auto it = values_.find(n.input(i));
    Check(it != values_.end(), where_ + ": input '" + n.input(i) + "' is not defined before it");
    return it->second;
  }
  const Value& LayerIn(const NodeProto& n, int i, bool takes_pad = false) {
    const Value& v = In(n, i);
    Check(v.kind == Value::kLayer,
          where_ + ": input '" + n.input(i) + "' is a constant; an activation is expected");
    Check(takes_pad || (v.pad_h == 0 && v.pad_w == 0),
          where_ + ": input '" + n.input(i) +
              "' is zero-padded by a Pad node; only a Conv or AveragePool may follow a Pad");
    if (v.layer == 0) FreezePrologue(v);
    return v;
  }
  const Const& ConstIn(const NodeProto& n, int i, const std::string& what) const {
    const Value& v = In(n, i);
    Check(v.kind == Value::kConst,
          where_ + ": " + what + " '" + n.input(i) + "' must be an initializer or a Constant");
    Check(v.c.error.empty(), where_ + ": " + v.c.error);
    return v.c;
  }
  void FreezePrologue(const Value& v);
  void SetOutput(const NodeProto& n, Value v, int used_outputs = 1) {
    for (int i = used_outputs; i < n.output_size(); ++i)
      Check(n.output(i).empty() || !uses_.count(n.output(i)),
            where_ + ": output " + std::to_string(i) + " ('" + n.output(i) +
                "') is used; only the first output is supported");
    values_[n.output(0)] = std::move(v);
  }
  int PushLayer(Layer l, const NodeProto& n) {
    std::string base = SanitizeName(n.name());
    if (base.empty()) base = SanitizeName(n.op_type()) + "_" + std::to_string(g_.layers.size());
    std::string name = base;
    for (int k = 2; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    l.name = name;
    g_.layers.push_back(std::move(l));
    const size_t i = g_.layers.size() - 1;
    try {
      g_.InferLayerShape(i);
    } catch (const Error& e) {
      throw Error(where_ + ": " + e.what());
    }
    return static_cast<int>(i);
  }
  Value LayerValue(int layer, int rank, bool flat = false) {
    Value v;
    v.layer = layer;
    v.rank = rank;
    v.flat = flat;
    return v;
  }
  // Spatial attributes shared by Conv and the pools.
  void Spatial(const NodeProto& n, Layer& l, bool has_kernel_attr);
  void PerChannelPrologue(const NodeProto& n, const Value& x, const Const& c);
  std::vector<double> ChannelVector(const Const& c, int64_t channels, const std::string& what);
  void ImportNode(const NodeProto& n);

  const ::onnx::ModelProto& m_;
  std::string file_, where_;
  Graph g_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::set<std::string> names_;
  bool prologue_frozen_ = false;
};

void Importer::FreezePrologue(const Value& v) {
  const int64_t ch = g_.input_channels();
  std::vector<double> mean, stdv;
  for (size_t c = 0; c < v.s.size(); ++c) {
    Check(v.s[c] != 0, where_ + ": the input prologue scales the input by zero");
    stdv.push_back(1.0 / v.s[c]);
  }
  for (size_t c = 0; c < v.t.size(); ++c) mean.push_back(-v.t[c] / v.s[v.s.size() == 1 ? 0 : c]);
  if (stdv.size() == 1 && mean.size() > 1) stdv.assign(mean.size(), stdv[0]);
  InputTransform t;
  t.mean = mean;
  t.std = stdv;
  if (!prologue_frozen_) {
    prologue_frozen_ = true;
    g_.input_transform = t;
    try {
      g_.input_transform.Validate(ch, "input prologue");
    } catch (const Error& e) {
      throw Error(where_ + ": " + e.what());
    }
  } else {
    Check(t.mean == g_.input_transform.mean && t.std == g_.input_transform.std,
          where_ + ": the model input is used with two different normalizations");
  }
}

std::vector<double> Importer::ChannelVector(const Const& c, int64_t channels,
                                            const std::string& what) {
  const int64_t n = static_cast<int64_t>(c.values.size());
  int64_t non1 = 0;
  for (int64_t d : c.dims) non1 += d != 1;
  const bool ok =
      n == 1 ||
      (n == channels && non1 == 1 &&
       (c.dims.size() == 1 || (c.dims.size() >= 3 && c.dims[c.dims.size() - 3] == channels)));
  Check(ok, where_ + ": " + what + " of shape " + Dims(c.dims) +
                " is not a scalar or a per-channel constant of " + std::to_string(channels) +
                " channels");
  return c.values;
}

void Importer::PerChannelPrologue(const NodeProto& n, const Value& x, const Const& c) {
  Check(!prologue_frozen_, where_ +
                               ": arithmetic on the model input after it is already used "
                               "by a layer is not supported");
  const std::string op = n.op_type();
  const std::vector<double> k = ChannelVector(c, g_.input_channels(), "constant operand");
  Value v = x;
  auto widen = [&](std::vector<double>& a) {
    if (a.size() == 1 && k.size() > 1) a.assign(k.size(), a[0]);
  };
  widen(v.s);
  widen(v.t);
  auto kk = [&](size_t i) { return k[k.size() == 1 ? 0 : i]; };
  for (size_t i = 0; i < v.s.size(); ++i) {
    if (op == "Sub") v.t[i] -= kk(i);
    if (op == "Add") v.t[i] += kk(i);
    if (op == "Mul") v.s[i] *= kk(i), v.t[i] *= kk(i);
    if (op == "Div") {
      Check(kk(i) != 0, where_ + ": division of the input by zero");
      v.s[i] /= kk(i), v.t[i] /= kk(i);
    }
  }
  SetOutput(n, v);
}

void Importer::Spatial(const NodeProto& n, Layer& l, bool conv) {
  const std::vector<int64_t> k = AttrInts(n, "kernel_shape", {});
  if (!conv) Check(k.size() == 2, where_ + ": attribute 'kernel_shape' must have 2 values");
  if (k.size() == 2) l.kernel_h = k[0], l.kernel_w = k[1];
  if (const AttributeProto* a = Attr(n, "auto_pad")) {
    if (a->s() != "NOTSET" && a->s() != "VALID")
      Unsupported("auto_pad",
                  "= " + a->s() + " is not supported (NOTSET or VALID with explicit pads)");
  }
  const std::vector<int64_t> s = AttrInts(n, "strides", {1, 1});
  if (s.size() != 2 || s[0] < 1 || s[1] < 1) Unsupported("strides", "must be 2 positive values");
  l.stride_h = s[0], l.stride_w = s[1];
  const std::vector<int64_t> p = AttrInts(n, "pads", {0, 0, 0, 0});
  if (p.size() != 4) Unsupported("pads", "must have 4 values");
  if (p[0] != p[2] || p[1] != p[3])
    Unsupported("pads", "= [" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " +
                            std::to_string(p[2]) + ", " + std::to_string(p[3]) +
                            "] is asymmetric (only begin == end is supported)");
  if (p[0] < 0 || p[1] < 0) Unsupported("pads", "must not be negative");
  l.pad_h = p[0], l.pad_w = p[1];
  for (int64_t d : AttrInts(n, "dilations", {1, 1}))
    if (d != 1) Unsupported("dilations", "= " + std::to_string(d) + " is not supported (only 1)");
  if (AttrInt(n, "ceil_mode", 0) != 0) Unsupported("ceil_mode", "= 1 is not supported (only 0)");
  if (AttrInt(n, "storage_order", 0) != 0) Unsupported("storage_order", "= 1 is not supported");
}

void Importer::ImportNode(const NodeProto& n) {
  const std::string& op = n.op_type();
  Check(n.domain().empty() || n.domain() == "ai.onnx",
        where_ + ": domain '" + n.domain() + "' is not supported (only the default ONNX domain)");
  Check(n.output_size() >= 1 && !n.output(0).empty(), where_ + ": has no output");
  if (op == "Constant") {
    Value v;
    v.kind = Value::kConst;
    Check(n.attribute_size() == 1, where_ + ": must have exactly one attribute");
    const AttributeProto& a = n.attribute(0);
    if (a.name() == "value") {
      v.c = TensorToConst(a.t(), where_);
    } else if (a.name() == "value_float") {
      v.c.values = {a.f()};
    } else if (a.name() == "value_floats") {
      v.c.values.assign(a.floats().begin(), a.floats().end());
      v.c.dims = {static_cast<int64_t>(v.c.values.size())};
    } else if (a.name() == "value_int") {
      v.c.values = {static_cast<double>(a.i())};
      v.c.is_int = true;
    } else if (a.name() == "value_ints") {
      v.c.values.assign(a.ints().begin(), a.ints().end());
      v.c.dims = {static_cast<int64_t>(v.c.values.size())};
      v.c.is_int = true;
    } else {
      Unsupported(a.name(), "is not supported");
    }
    SetOutput(n, v);
  } else if (op == "Shape" || op == "Gather" || op == "Unsqueeze" || op == "Squeeze" ||
             op == "Concat" || op == "Cast") {
    // Shape arithmetic on constants (x.view(x.size(0), -1) in PyTorch):
    // Shape of an activation is [1, C, H, W] (batch 1, which Reshape takes as N).
    Value v;
    v.kind = Value::kConst;
    v.c.is_int = true;
    if (op == "Shape") {
      CheckAttrs(n, {"start", "end"});
      const Value& x = In(n, 0);
      Check(x.kind == Value::kLayer, where_ + ": Shape of a constant is not supported");
      std::vector<double> dims = {1};
      const Shape& s = g_.layers[x.layer].out_shape;
      if (x.rank == 2 || x.flat)
        dims.push_back(static_cast<double>(NumElements(s)));
      else
        dims.insert(dims.end(), s.begin(), s.end());
      if (x.flat) dims.insert(dims.end(), {1, 1});
      const auto r = static_cast<int64_t>(dims.size());
      auto clampi = [&](int64_t i) { return std::clamp(i < 0 ? i + r : i, int64_t{0}, r); };
      const int64_t b = clampi(AttrInt(n, "start", 0)), e = clampi(AttrInt(n, "end", r));
      v.c.values.assign(dims.begin() + b, dims.begin() + std::max(b, e));
      v.c.dims = {static_cast<int64_t>(v.c.values.size())};
    } else if (op == "Gather") {
      CheckAttrs(n, {"axis"});
      const Const& d = ConstIn(n, 0, "data");
      const Const& idx = ConstIn(n, 1, "indices");
      Check(d.dims.size() == 1 && AttrInt(n, "axis", 0) == 0,
            where_ + ": only Gather from a 1-D constant is supported");
      for (double i : idx.values) {
        const auto k = static_cast<int64_t>(i < 0 ? i + static_cast<double>(d.values.size()) : i);
        Check(k >= 0 && k < static_cast<int64_t>(d.values.size()), where_ + ": index out of range");
        v.c.values.push_back(d.values[static_cast<size_t>(k)]);
      }
      v.c.dims = idx.dims;
      v.c.is_int = d.is_int;
    } else if (op == "Concat") {
      CheckAttrs(n, {"axis"});
      for (int i = 0; i < n.input_size(); ++i) {
        const Const& c = ConstIn(n, i, "input");
        Check(c.dims.size() <= 1, where_ + ": only Concat of 1-D constants is supported");
        v.c.values.insert(v.c.values.end(), c.values.begin(), c.values.end());
      }
      v.c.dims = {static_cast<int64_t>(v.c.values.size())};
    } else {  // Unsqueeze, Squeeze, Cast of a constant: the values stay, the shape follows
      CheckAttrs(n, {"axes", "to"});
      const Const& c = ConstIn(n, 0, "input");
      v.c = c;
      if (op == "Cast") {
        v.c.is_int = AttrInt(n, "to", TensorProto::INT64) != TensorProto::FLOAT;
      } else {
        std::vector<int64_t> axes = AttrInts(n, "axes", {});
        if (n.input_size() >= 2 && !n.input(1).empty()) {
          const Const& a = ConstIn(n, 1, "axes");
          axes.assign(a.values.begin(), a.values.end());
        }
        if (op == "Unsqueeze") {
          v.c.dims.resize(c.dims.size() + axes.size(), 1);
          const auto r = static_cast<int64_t>(v.c.dims.size());
          std::vector<bool> inserted(static_cast<size_t>(r), false);
          for (int64_t a : axes) {
            const int64_t k = a < 0 ? a + r : a;
            Check(k >= 0 && k < r, where_ + ": axis out of range");
            inserted[static_cast<size_t>(k)] = true;
          }
          Check(std::count(inserted.begin(), inserted.end(), true) ==
                    static_cast<std::ptrdiff_t>(axes.size()),
                where_ + ": repeated axis");
          size_t j = 0;
          for (int64_t k = 0; k < r; ++k)
            v.c.dims[static_cast<size_t>(k)] = inserted[static_cast<size_t>(k)] ? 1 : c.dims[j++];
        } else {
          v.c.dims.clear();
          for (int64_t d : c.dims)
            if (d != 1) v.c.dims.push_back(d);
        }
      }
    }
    SetOutput(n, v);
  } else if (op == "Identity" || op == "Dropout") {
    CheckAttrs(n, {"ratio", "seed", "is_test"});
    if (op == "Dropout" && n.input_size() >= 3 && !n.input(2).empty()) {
      const Const& tm = ConstIn(n, 2, "training_mode");
      Check(tm.values.size() == 1 && tm.values[0] == 0,
            where_ + ": training_mode = true is not supported");
    }
    SetOutput(n, In(n, 0));
  } else if (op == "Sub" || op == "Div" || op == "Mul" || op == "Add") {
    const Value& a = In(n, 0);
    const Value& b = In(n, 1);
    for (const Value* v : {&a, &b})
      Check(v->kind != Value::kConst || v->c.error.empty(), where_ + ": " + v->c.error);
    if (a.kind == Value::kLayer && a.layer == 0 && b.kind == Value::kConst && op != "Add")
      return PerChannelPrologue(n, a, b.c);
    if (op == "Add" && a.kind == Value::kLayer && b.kind == Value::kLayer) {
      const Value& la = LayerIn(n, 0);
      const Value& lb = LayerIn(n, 1);
      Layer l;
      l.kind = OpKind::kAdd;
      l.inputs = {la.layer, lb.layer};
      const int idx = PushLayer(std::move(l), n);
      return SetOutput(n, LayerValue(idx, la.rank, la.flat));
    }
    if (op == "Add" && (a.kind == Value::kConst) != (b.kind == Value::kConst)) {
      const Value& x = a.kind == Value::kLayer ? a : b;
      const Const& c = a.kind == Value::kLayer ? b.c : a.c;
      if (x.layer == 0) return PerChannelPrologue(n, x, c);
      // MatMul + Add (or a bias-less Conv + Add): the constant is the bias.
      Layer& l = g_.layers[x.layer];
      const bool sole_use = uses_[n.input(a.kind == Value::kLayer ? 0 : 1)] == 1;
      if ((l.kind == OpKind::kLinear || l.kind == OpKind::kConv2d) && !l.has_bias && sole_use &&
          static_cast<int64_t>(c.values.size()) == l.out_channels && !x.flat) {
        ChannelVector(c, l.out_channels, "bias");
        l.has_bias = true;
        l.params["bias"] = ToF32(c, {l.out_channels});
        return SetOutput(n, x);
      }
      throw Error(where_ + ": adding a constant of shape " + Dims(c.dims) +
                  " is supported only as the bias of a bias-less MatMul or Conv it alone follows");
    }
    throw Error(where_ +
                ": only the input prologue (Sub/Div or Mul/Add by per-channel "
                "constants on the model input), Add of two activations and MatMul + Add "
                "are supported");
  } else if (op == "Pad") {
    // Zero padding of H and W alone, symmetric: taken by the Conv / AveragePool after it.
    CheckAttrs(n, {"mode", "pads", "value"});
    if (const AttributeProto* a = Attr(n, "mode"); a && a->s() != "constant")
      Unsupported("mode", "= " + a->s() + " is not supported (only constant)");
    std::vector<int64_t> p = AttrInts(n, "pads", {});
    double value = AttrFloat(n, "value", 0.0f);
    if (n.input_size() >= 2 && !n.input(1).empty()) {
      const Const& c = ConstIn(n, 1, "pads");
      p.assign(c.values.begin(), c.values.end());
    }
    if (n.input_size() >= 3 && !n.input(2).empty()) {
      const Const& c = ConstIn(n, 2, "constant_value");
      Check(c.values.size() == 1, where_ + ": constant_value must be a scalar");
      value = c.values[0];
    }
    if (value != 0)
      Unsupported("value", "= " + std::to_string(value) + " is not supported (only 0)");
    Value x = LayerIn(n, 0, true);
    const bool ok = x.rank == 4 && !x.flat && p.size() == 8 && p[0] == 0 && p[1] == 0 &&
                    p[4] == 0 && p[5] == 0 && p[2] == p[6] && p[3] == p[7] && p[2] >= 0 &&
                    p[3] >= 0;
    if (!ok) Unsupported("pads", "is not a symmetric zero padding of H and W of a 4-D feature map");
    x.pad_h += p[2], x.pad_w += p[3];
    SetOutput(n, x);
  } else if (op == "Conv") {
    CheckAttrs(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
    const Value& x = LayerIn(n, 0, true);
    Check(x.rank == 4 && !x.flat, where_ + ": input must be a 4-D feature map");
    const Const& w = ConstIn(n, 1, "weight");
    Check(w.dims.size() == 4, where_ + ": weight of shape " + Dims(w.dims) + " is not 4-D");
    Layer l;
    l.kind = OpKind::kConv2d;
    l.inputs = {x.layer};
    Spatial(n, l, true);
    l.pad_h += x.pad_h, l.pad_w += x.pad_w;
    l.groups = AttrInt(n, "group", 1);
    if (l.groups < 1) Unsupported("group", "must be >= 1");
    const std::vector<int64_t> k = AttrInts(n, "kernel_shape", {});
    if (!k.empty() && (k.size() != 2 || k[0] != w.dims[2] || k[1] != w.dims[3]))
      Unsupported("kernel_shape", "does not match the weight's shape " + Dims(w.dims));
    l.kernel_h = w.dims[2], l.kernel_w = w.dims[3];
    l.in_channels = g_.layers[x.layer].out_shape.at(0);
    l.out_channels = w.dims[0];
    l.params["weight"] = ToF32(w, w.dims);
    if (n.input_size() >= 3 && !n.input(2).empty()) {
      const Const& b = ConstIn(n, 2, "bias");
      Check(b.dims == Shape{l.out_channels}, where_ + ": bias of shape " + Dims(b.dims) +
                                                 ", expected [" + std::to_string(l.out_channels) +
                                                 "]");
      l.has_bias = true;
      l.params["bias"] = ToF32(b, b.dims);
    }
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 4));
  } else if (op == "Gemm" || op == "MatMul") {
    if (op == "Gemm")
      CheckAttrs(n, {"alpha", "beta", "transA", "transB"});
    else
      CheckAttrs(n, {});
    const Value& x = LayerIn(n, 0);
    Check(x.rank == 2, where_ + ": input must be 2-D [N, features] (Flatten first)");
    const Const& w = ConstIn(n, 1, "B");
    Check(w.dims.size() == 2, where_ + ": B of shape " + Dims(w.dims) + " is not 2-D");
    if (AttrInt(n, "transA", 0) != 0) Unsupported("transA", "= 1 is not supported");
    const bool trans_b = AttrInt(n, "transB", 0) != 0;
    const double alpha = AttrFloat(n, "alpha", 1.0f), beta = AttrFloat(n, "beta", 1.0f);
    const int64_t in = trans_b ? w.dims[1] : w.dims[0], out = trans_b ? w.dims[0] : w.dims[1];
    Layer l;
    l.kind = OpKind::kLinear;
    l.inputs = {x.layer};
    l.in_channels = g_.layers[x.layer].out_shape.at(0);
    l.out_channels = out;
    Check(l.in_channels == in, where_ + ": B of shape " + Dims(w.dims) + " does not take " +
                                   std::to_string(l.in_channels) + " input features");
    std::vector<float> wt(static_cast<size_t>(in * out));
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i)
        wt[o * in + i] = static_cast<float>(
            alpha * w.values[static_cast<size_t>(trans_b ? o * in + i : i * out + o)]);
    l.params["weight"] = Tensor::From<float>({out, in}, wt);
    if (op == "Gemm" && n.input_size() >= 3 && !n.input(2).empty()) {
      const Const& b = ConstIn(n, 2, "C");
      Check(b.values.size() == 1 ||
                (static_cast<int64_t>(b.values.size()) == out && b.dims.back() == out),
            where_ + ": C of shape " + Dims(b.dims) + " is not a bias of " + std::to_string(out));
      std::vector<float> bias(static_cast<size_t>(out));
      for (int64_t o = 0; o < out; ++o)
        bias[o] = static_cast<float>(beta * b.values[b.values.size() == 1 ? 0 : o]);
      l.has_bias = true;
      l.params["bias"] = Tensor::From<float>({out}, bias);
    }
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 2));
  } else if (op == "Relu") {
    CheckAttrs(n, {});
    const Value& x = LayerIn(n, 0);
    Layer l;
    l.kind = OpKind::kRelu;
    l.inputs = {x.layer};
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), x.rank, x.flat));
  } else if (op == "MaxPool" || op == "AveragePool") {
    CheckAttrs(n, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape",
                   "pads", "storage_order", "strides"});
    const Value& x = LayerIn(n, 0, op == "AveragePool");
    Check(x.rank == 4 && !x.flat, where_ + ": input must be a 4-D feature map");
    Layer l;
    l.kind = op == "MaxPool" ? OpKind::kMaxPool2d : OpKind::kAvgPool2d;
    l.inputs = {x.layer};
    Spatial(n, l, false);
    l.pad_h += x.pad_h, l.pad_w += x.pad_w;  // explicit zeros: counted like qaccel's padding
    if (op == "AveragePool" && (l.pad_h || l.pad_w) && AttrInt(n, "count_include_pad", 0) == 0 &&
        (l.pad_h != x.pad_h || l.pad_w != x.pad_w))
      Unsupported("count_include_pad",
                  "= 0 with padding is not supported (qaccel's average "
                  "counts the padding)");
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 4), 1);
  } else if (op == "GlobalAveragePool") {
    CheckAttrs(n, {});
    const Value& x = LayerIn(n, 0);
    Check(x.rank == 4 && !x.flat, where_ + ": input must be a 4-D feature map");
    Layer l;
    l.kind = OpKind::kGlobalAvgPool;
    l.inputs = {x.layer};
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 4, true));
  } else if (op == "Flatten" || op == "Reshape") {
    const Value& x = LayerIn(n, 0);
    if (op == "Flatten") {
      CheckAttrs(n, {"axis"});
      if (AttrInt(n, "axis", 1) != 1) Unsupported("axis", "must be 1");
    } else {
      CheckAttrs(n, {"allowzero"});
      const Const& s = ConstIn(n, 1, "shape");
      const int64_t features = NumElements(g_.layers[x.layer].out_shape);
      const bool ok = s.values.size() == 2 &&
                      (s.values[0] == -1 || s.values[0] == 0 || s.values[0] == 1) &&
                      (s.values[1] == static_cast<double>(features) ||
                       (s.values[1] == -1 && s.values[0] != -1));
      Check(ok, where_ + ": reshape to " + Dims(Shape(s.values.begin(), s.values.end())) +
                    " is not supported (only [N, " + std::to_string(features) + "])");
    }
    if (x.rank == 2 || x.flat) return SetOutput(n, LayerValue(x.layer, 2));
    Layer l;
    l.kind = OpKind::kFlatten;
    l.inputs = {x.layer};
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 2));
  } else if (op == "BatchNormalization") {
    CheckAttrs(n, {"epsilon", "momentum", "training_mode", "spatial", "is_test"});
    if (AttrInt(n, "training_mode", 0) != 0) Unsupported("training_mode", "= 1 is not supported");
    if (AttrInt(n, "spatial", 1) != 1) Unsupported("spatial", "= 0 is not supported");
    const Value& x = LayerIn(n, 0);
    Check(x.rank == 4 && !x.flat, where_ + ": input must be a 4-D feature map");
    Layer l;
    l.kind = OpKind::kBatchNorm;
    l.inputs = {x.layer};
    l.eps = AttrFloat(n, "epsilon", 1e-5f);
    const int64_t ch = g_.layers[x.layer].out_shape.at(0);
    const char* names[] = {"gamma", "beta", "mean", "var"};
    for (int i = 0; i < 4; ++i) {
      const Const& c = ConstIn(n, i + 1, names[i]);
      Check(c.dims == Shape{ch}, where_ + ": " + names[i] + " of shape " + Dims(c.dims) +
                                     ", expected [" + std::to_string(ch) + "]");
      l.params[names[i]] = ToF32(c, {ch});
    }
    SetOutput(n, LayerValue(PushLayer(std::move(l), n), 4), 1);
  } else {
    throw Error(where_ +
                ": op type not supported (supported: Conv, Gemm, MatMul + Add, Relu, "
                "AveragePool, MaxPool, GlobalAveragePool, Flatten, Reshape, Add, "
                "BatchNormalization, Pad (zeros before a Conv or AveragePool), "
                "Shape/Gather/Unsqueeze/Squeeze/Concat/Cast on constants, Dropout, Identity, "
                "Constant, and a Sub/Div or "
                "Mul/Add input prologue)");
  }
}

Graph Importer::Run() {
  int64_t opset = -1;
  for (const auto& o : m_.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  Check(opset >= 0, file_ + ": no opset for the default ONNX domain");
  Check(opset >= kMinOpset && opset <= kMaxOpset,
        file_ + ": opset " + std::to_string(opset) + " is not supported (" +
            std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  Check(m_.has_graph(), file_ + ": the model has no graph");
  const ::onnx::GraphProto& gp = m_.graph();
  std::set<std::string> inits;
  for (const auto& t : gp.initializer()) {
    Value v;
    v.kind = Value::kConst;
    try {
      v.c = TensorToConst(t, file_ + ": initializer");
    } catch (const Error& e) {
      v.c.error = e.what();  // reported by the node that uses it, if any
    }
    values_[t.name()] = std::move(v);
    inits.insert(t.name());
  }
  const ::onnx::ValueInfoProto* input = nullptr;
  for (const auto& i : gp.input()) {
    if (inits.count(i.name())) continue;
    if (input)
      throw Error(file_ + ": more than one model input ('" + input->name() + "', '" + i.name() +
                  "'); qaccel models take one image");
    input = &i;
  }
  Check(input != nullptr, file_ + ": the model has no input");
  const std::string iw = file_ + ": input '" + input->name() + "'";
  Check(input->type().has_tensor_type() &&
            input->type().tensor_type().elem_type() == TensorProto::FLOAT,
        iw + ": must be a float tensor");
  const auto& dims = input->type().tensor_type().shape().dim();
  Check(dims.size() == 4 || dims.size() == 2,
        iw + ": must be [N, C, H, W] or [N, F], has rank " + std::to_string(dims.size()));
  Shape shape;
  for (int i = 1; i < dims.size(); ++i) {
    Check(dims[i].has_dim_value() && dims[i].dim_value() >= 1 &&
              dims[i].dim_value() <= kMaxModelDimension,
          iw + ": dimension " + std::to_string(i) + " must be a fixed size in [1, 2^31 - 1]");
    shape.push_back(dims[i].dim_value());
  }
  for (const auto& n : gp.node())
    for (const auto& in : n.input()) ++uses_[in];
  for (const auto& o : gp.output()) ++uses_[o.name()];

  // The graph's name, unless it is an exporter's placeholder: then the file's.
  const std::string gname = gp.name();
  const bool placeholder = gname.empty() || gname == "torch_jit" || gname == "torch-jit-export" ||
                           gname == "main_graph" || gname == "tf2onnx";
  g_.name = SanitizeName(placeholder ? fs::path(file_).stem().string() : gname);
  if (g_.name.empty()) g_.name = "onnx";
  Layer in;
  in.kind = OpKind::kInput;
  in.name = SanitizeName(input->name());
  if (in.name.empty()) in.name = "input";
  names_.insert(in.name);
  in.out_shape = shape;
  g_.layers.push_back(in);
  Prefixed(iw, [&] { g_.InferLayerShape(0); });
  values_[input->name()] = LayerValue(0, static_cast<int>(dims.size()));

  for (int i = 0; i < gp.node_size(); ++i) {
    where_ = NodeWhere(file_, gp.node(i), i);
    ImportNode(gp.node(i));
  }
  Check(gp.output_size() == 1,
        file_ + ": the model must have one output, has " + std::to_string(gp.output_size()));
  auto it = values_.find(gp.output(0).name());
  Check(it != values_.end() && it->second.kind == Value::kLayer,
        file_ + ": output '" + gp.output(0).name() + "' is not computed by a supported node");
  Check(it->second.layer == static_cast<int>(g_.layers.size()) - 1 && it->second.layer > 0,
        file_ + ": output '" + gp.output(0).name() + "' is not the last layer");
  if (!prologue_frozen_) FreezePrologue(values_[input->name()]);
  g_.metadata["source"] = {{"format", "onnx"},
                           {"file", fs::path(file_).filename().string()},
                           {"producer", m_.producer_name() + " " + m_.producer_version()},
                           {"opset", opset}};
  Prefixed(file_, [&] {
    g_.InferShapes();
    g_.ValidateParameters();
  });
  return g_;
}

}  // namespace

bool IsOnnxPath(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".onnx";
}

Graph ImportOnnx(const std::vector<uint8_t>& bytes, const std::string& file) {
  Check(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
        file + ": too large for an ONNX model");
  ::onnx::ModelProto m;
  Check(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
        file + ": not a valid ONNX model (the protobuf does not parse: truncated or corrupt)");
  return Importer(m, file).Run();
}

Graph ImportOnnxFile(const fs::path& path) {
  return ImportOnnx(ReadBinaryFile(path), path.string());
}

}  // namespace qaccel::onnxio
