// GraphModule (a qaccel::Graph executed by libtorch) and the torch-free
// bridge functions of bridge.h. One of the two translation units of qaccel
// that compile torch headers.
#include "qaccel/train/graph_module.h"

#include <torch/version.h>

#include <cstring>

#include "qaccel/core/error.h"

namespace qaccel::train {
namespace {

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
}

// torch::nn::Module names may not contain '.'.
std::string ModuleName(const Layer& l) {
  std::string n = l.name;
  for (char& c : n)
    if (c == '.') c = '_';
  return n;
}

std::vector<int64_t> ToSizes(const Shape& s) { return {s.begin(), s.end()}; }

void CopyIn(torch::Tensor& dst, const Layer& l, const std::string& pname) {
  const Tensor& src = l.params.at(pname);
  Check(src.dtype() == DType::kF32, Where(l) + ": parameter '" + pname + "' is " +
                                        std::string(DTypeName(src.dtype())) +
                                        ", training needs f32 (use the float model, not a "
                                        "quantized one)");
  Shape want = ExpectedParamShape(l, pname);
  Check(src.shape() == want, Where(l) + ": parameter '" + pname + "' has shape " +
                                 ShapeToString(src.shape()) + ", expected " + ShapeToString(want));
  torch::NoGradGuard no_grad;
  auto view = torch::from_blob(const_cast<void*>(src.raw()), ToSizes(want), torch::kFloat32);
  dst.copy_(view);
}

Tensor CopyOut(const torch::Tensor& src, const Layer& l, const std::string& pname) {
  Shape want = ExpectedParamShape(l, pname);
  auto c = src.detach().to(torch::kFloat32).contiguous();
  Check(c.numel() == NumElements(want), Where(l) + ": torch parameter '" + pname + "' has " +
                                            std::to_string(c.numel()) + " elements, expected " +
                                            ShapeToString(want));
  Tensor t(DType::kF32, want);
  std::memcpy(t.raw(), c.data_ptr<float>(), t.nbytes());
  return t;
}

bool HasAny(const Layer& l, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (l.params.count(n)) return true;
  return false;
}

}  // namespace

GraphModuleImpl::GraphModuleImpl(const Graph& g, const std::string& init) {
  Check(init == "torch" || init == "kaiming",
        "unknown initialization '" + init + "' (torch, kaiming)");
  Check(!g.quantized(), "graph '" + g.name +
                            "' is quantized; the torch bridge needs a float model (train or "
                            "fine-tune the float model, then quantize again)");
  structure_.name = g.name;
  for (const Layer& l : g.layers) {
    Layer s = l;
    s.params.clear();
    structure_.layers.push_back(std::move(s));
  }
  structure_.InferShapes();
  nodes_.resize(structure_.layers.size());
  for (size_t i = 0; i < structure_.layers.size(); ++i) {
    const Layer& l = structure_.layers[i];
    Node& n = nodes_[i];
    switch (l.kind) {
      case OpKind::kConv2d:
        n.conv = register_module(
            ModuleName(l), torch::nn::Conv2d(torch::nn::Conv2dOptions(l.in_channels, l.out_channels,
                                                                      {l.kernel_h, l.kernel_w})
                                                 .stride({l.stride_h, l.stride_w})
                                                 .padding(std::vector<int64_t>{l.pad_h, l.pad_w})
                                                 .groups(l.groups)
                                                 .bias(l.has_bias)));
        break;
      case OpKind::kLinear:
        n.linear = register_module(
            ModuleName(l),
            torch::nn::Linear(
                torch::nn::LinearOptions(l.in_channels, l.out_channels).bias(l.has_bias)));
        break;
      case OpKind::kBatchNorm: {
        const Shape& in = structure_.layers[l.inputs[0]].out_shape;
        if (in.size() == 3)
          n.bn2d = register_module(
              ModuleName(l),
              torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(l.in_channels).eps(l.eps)));
        else
          n.bn1d = register_module(
              ModuleName(l),
              torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(l.in_channels).eps(l.eps)));
        break;
      }
      default:
        break;
    }
    if (init == "kaiming" && (n.conv || n.linear)) {
      torch::NoGradGuard no_grad;
      torch::Tensor& w = n.conv ? n.conv->weight : n.linear->weight;
      torch::nn::init::kaiming_uniform_(w, 0, torch::kFanIn, torch::kReLU);
      if (l.has_bias) (n.conv ? n.conv->bias : n.linear->bias).zero_();
    }
  }
  LoadParameters(g);
}

torch::Tensor GraphModuleImpl::forward(const torch::Tensor& x) {
  const auto& layers = structure_.layers;
  std::vector<int64_t> want = {x.size(0)};
  for (int64_t d : structure_.input_shape()) want.push_back(d);
  Check(x.sizes().vec() == want, "graph '" + structure_.name + "': input batch has shape " +
                                     c10::str(x.sizes()) + ", the model expects [N, " +
                                     ShapeToString(structure_.input_shape()).substr(1));
  std::vector<torch::Tensor> out(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    Node& n = nodes_[i];
    const torch::Tensor& in = i == 0 ? x : out[l.inputs[0]];
    switch (l.kind) {
      case OpKind::kInput:
        out[i] = x;
        break;
      case OpKind::kConv2d:
        out[i] = n.conv->forward(in);
        break;
      case OpKind::kLinear:
        out[i] = n.linear->forward(in);
        break;
      case OpKind::kBatchNorm:
        out[i] = n.bn2d ? n.bn2d->forward(in) : n.bn1d->forward(in);
        break;
      case OpKind::kAvgPool2d:
        out[i] =
            torch::avg_pool2d(in, {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                              {l.pad_h, l.pad_w}, /*ceil_mode=*/false, /*count_include_pad=*/true);
        break;
      case OpKind::kMaxPool2d:
        out[i] = torch::max_pool2d(in, {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                                   {l.pad_h, l.pad_w});
        break;
      case OpKind::kGlobalAvgPool:
        out[i] = in.mean({2, 3});
        break;
      case OpKind::kRelu:
        out[i] = torch::relu(in);
        break;
      case OpKind::kFlatten:
        out[i] = in.flatten(1);
        break;
      case OpKind::kAdd:
        out[i] = in + out[l.inputs[1]];
        break;
    }
  }
  return out.back();
}

void GraphModuleImpl::LoadParameters(const Graph& g) {
  Check(g.layers.size() == structure_.layers.size(),
        "graph '" + g.name + "' has " + std::to_string(g.layers.size()) +
            " layers, the torch module was built for " + std::to_string(structure_.layers.size()));
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    Node& n = nodes_[i];
    Check(l.kind == structure_.layers[i].kind && l.name == structure_.layers[i].name,
          Where(l) + ": does not match the torch module's layer " + std::to_string(i));
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      if (!HasAny(l, {"weight", "bias"})) continue;
      Check(l.params.count("weight") != 0, Where(l) + ": has a bias but no weight");
      Check(!l.has_bias || l.params.count("bias") != 0, Where(l) + ": has a weight but no bias");
      torch::Tensor& w = l.kind == OpKind::kConv2d ? n.conv->weight : n.linear->weight;
      CopyIn(w, l, "weight");
      if (l.has_bias) CopyIn(l.kind == OpKind::kConv2d ? n.conv->bias : n.linear->bias, l, "bias");
    } else if (l.kind == OpKind::kBatchNorm) {
      if (!HasAny(l, {"gamma", "beta", "mean", "var"})) continue;
      for (const char* p : {"gamma", "beta", "mean", "var"})
        Check(l.params.count(p) != 0, Where(l) + ": has some batchnorm parameters but not '" +
                                          std::string(p) + "' (needs gamma, beta, mean, var)");
      torch::Tensor& gamma = n.bn2d ? n.bn2d->weight : n.bn1d->weight;
      torch::Tensor& beta = n.bn2d ? n.bn2d->bias : n.bn1d->bias;
      torch::Tensor& mean = n.bn2d ? n.bn2d->running_mean : n.bn1d->running_mean;
      torch::Tensor& var = n.bn2d ? n.bn2d->running_var : n.bn1d->running_var;
      CopyIn(gamma, l, "gamma");
      CopyIn(beta, l, "beta");
      CopyIn(mean, l, "mean");
      CopyIn(var, l, "var");
    }
  }
}

void GraphModuleImpl::StoreParameters(Graph& g) const {
  Check(g.layers.size() == structure_.layers.size(),
        "graph '" + g.name + "': layer count differs from the torch module's");
  for (size_t i = 0; i < g.layers.size(); ++i) {
    Layer& l = g.layers[i];
    const Node& n = nodes_[i];
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      const torch::Tensor& w = l.kind == OpKind::kConv2d ? n.conv->weight : n.linear->weight;
      l.params["weight"] = CopyOut(w, l, "weight");
      if (l.has_bias)
        l.params["bias"] =
            CopyOut(l.kind == OpKind::kConv2d ? n.conv->bias : n.linear->bias, l, "bias");
      else
        l.params.erase("bias");
    } else if (l.kind == OpKind::kBatchNorm) {
      l.params["gamma"] = CopyOut(n.bn2d ? n.bn2d->weight : n.bn1d->weight, l, "gamma");
      l.params["beta"] = CopyOut(n.bn2d ? n.bn2d->bias : n.bn1d->bias, l, "beta");
      l.params["mean"] = CopyOut(n.bn2d ? n.bn2d->running_mean : n.bn1d->running_mean, l, "mean");
      l.params["var"] = CopyOut(n.bn2d ? n.bn2d->running_var : n.bn1d->running_var, l, "var");
    }
  }
}

torch::Tensor PixelsToInput(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w) {
  auto u8 = torch::from_blob(const_cast<uint8_t*>(pixels), {n, c, h, w}, torch::kUInt8);
  return u8.to(torch::kFloat32).div_(255.0f);
}

Evaluation Evaluate(GraphModule& m, const data::Dataset& d, int64_t batch_size) {
  Check(batch_size > 0, "evaluation batch size must be positive");
  bool was_training = m->is_training();
  m->eval();
  torch::NoGradGuard no_grad;
  Evaluation e;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < d.n; start += batch_size) {
    int64_t b = std::min(batch_size, d.n - start);
    auto x = PixelsToInput(d.image(start), b, d.c, d.h, d.w);
    auto y = torch::from_blob(const_cast<uint8_t*>(d.labels.data() + start), {b}, torch::kUInt8)
                 .to(torch::kInt64);
    auto logits = m->forward(x);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  e.count = d.n;
  if (d.n > 0) {
    e.loss = loss_sum / static_cast<double>(d.n);
    e.accuracy = static_cast<double>(correct) / static_cast<double>(d.n);
  }
  m->train(was_training);
  return e;
}

// ---- bridge.h ----

void InitializeParameters(Graph& g, uint64_t seed, const std::string& init) {
  torch::manual_seed(seed);
  GraphModule m(g, init);
  m->StoreParameters(g);
}

Graph RoundTripThroughTorch(const Graph& g) {
  torch::manual_seed(0);
  GraphModule m(g);
  Graph out = g;
  m->StoreParameters(out);
  return out;
}

std::vector<float> TorchForward(const Graph& g, const std::vector<float>& input, int64_t batch,
                                uint64_t seed) {
  torch::manual_seed(seed);
  GraphModule m(g);
  m->eval();
  torch::NoGradGuard no_grad;
  std::vector<int64_t> sizes = {batch};
  for (int64_t d : g.input_shape()) sizes.push_back(d);
  Check(static_cast<int64_t>(input.size()) == batch * NumElements(g.input_shape()),
        "TorchForward: " + std::to_string(input.size()) + " input values for batch " +
            std::to_string(batch) + " x " + ShapeToString(g.input_shape()));
  auto x = torch::from_blob(const_cast<float*>(input.data()), sizes, torch::kFloat32);
  auto y = m->forward(x).contiguous();
  return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
}

Evaluation EvaluateInTorch(const Graph& g, const data::Dataset& d, int64_t batch_size) {
  torch::manual_seed(0);
  GraphModule m(g);
  return Evaluate(m, d, batch_size);
}

std::string TorchVersion() { return TORCH_VERSION; }

}  // namespace qaccel::train
