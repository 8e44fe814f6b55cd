// The libtorch equivalents of the built-in ops (see torch_ops.h); one
// factory each and one line in the list at the end of this file.
//   conv2d          torch::nn::Conv2d (stride, padding, groups, bias as in the layer)
//   linear          torch::nn::Linear
//   batchnorm       torch::nn::BatchNorm2d on [C,H,W] activations, BatchNorm1d on [F]
//                   (eps from the layer, momentum 0.1; running stats tracked)
//   avgpool2d       avg_pool2d(kernel, stride, pad, floor, count_include_pad = true)
//   maxpool2d       max_pool2d(kernel, stride, pad)
//   global_avgpool  mean over H and W
//   relu, flatten (from dim 1), add
// Parameters: Graph "weight"/"bias" <-> module weight/bias; batchnorm
// "gamma"/"beta" <-> weight/bias, "mean"/"var" <-> running_mean/running_var.
#include "qaccel/train/torch_ops.h"

#include <cstring>
#include <map>

#include "qaccel/core/error.h"

namespace qaccel::train {
namespace {

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
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

// conv2d / linear: weight + optional bias, initialized per `init`.
template <typename Holder>
TorchLayer WeightedLayer(Holder m, const Layer& l, const std::string& init) {
  if (init == "kaiming") {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(m->weight, 0, torch::kFanIn, torch::kReLU);
    if (l.has_bias) m->bias.zero_();
  }
  auto mod = m.ptr();  // lambdas need the non-const module
  TorchLayer t;
  t.module = mod;
  t.forward = [mod](const std::vector<torch::Tensor>& in) { return mod->forward(in[0]); };
  t.load = [mod](const Layer& src) {
    if (!HasAny(src, {"weight", "bias"})) return;
    Check(src.params.count("weight") != 0, Where(src) + ": has a bias but no weight");
    Check(!src.has_bias || src.params.count("bias") != 0,
          Where(src) + ": has a weight but no bias");
    CopyIn(mod->weight, src, "weight");
    if (src.has_bias) CopyIn(mod->bias, src, "bias");
  };
  t.store = [mod](Layer& dst) {
    dst.params["weight"] = CopyOut(mod->weight, dst, "weight");
    if (dst.has_bias)
      dst.params["bias"] = CopyOut(mod->bias, dst, "bias");
    else
      dst.params.erase("bias");
  };
  return t;
}

TorchLayer Conv2d(const Layer& l, const Shape&, const std::string& init) {
  return WeightedLayer(torch::nn::Conv2d(torch::nn::Conv2dOptions(l.in_channels, l.out_channels,
                                                                  {l.kernel_h, l.kernel_w})
                                             .stride({l.stride_h, l.stride_w})
                                             .padding(std::vector<int64_t>{l.pad_h, l.pad_w})
                                             .groups(l.groups)
                                             .bias(l.has_bias)),
                       l, init);
}

TorchLayer Linear(const Layer& l, const Shape&, const std::string& init) {
  return WeightedLayer(
      torch::nn::Linear(torch::nn::LinearOptions(l.in_channels, l.out_channels).bias(l.has_bias)),
      l, init);
}

template <typename Holder>
TorchLayer BatchNormLayer(Holder m) {
  auto mod = m.ptr();  // lambdas need the non-const module
  TorchLayer t;
  t.module = mod;
  t.forward = [mod](const std::vector<torch::Tensor>& in) { return mod->forward(in[0]); };
  t.load = [mod](const Layer& src) {
    if (!HasAny(src, {"gamma", "beta", "mean", "var"})) return;
    for (const char* p : {"gamma", "beta", "mean", "var"})
      Check(src.params.count(p) != 0, Where(src) + ": has some batchnorm parameters but not '" +
                                          std::string(p) + "' (needs gamma, beta, mean, var)");
    CopyIn(mod->weight, src, "gamma");
    CopyIn(mod->bias, src, "beta");
    CopyIn(mod->running_mean, src, "mean");
    CopyIn(mod->running_var, src, "var");
  };
  t.store = [mod](Layer& dst) {
    dst.params["gamma"] = CopyOut(mod->weight, dst, "gamma");
    dst.params["beta"] = CopyOut(mod->bias, dst, "beta");
    dst.params["mean"] = CopyOut(mod->running_mean, dst, "mean");
    dst.params["var"] = CopyOut(mod->running_var, dst, "var");
  };
  return t;
}

TorchLayer BatchNorm(const Layer& l, const Shape& in, const std::string&) {
  if (in.size() == 3)
    return BatchNormLayer(
        torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(l.in_channels).eps(l.eps)));
  return BatchNormLayer(
      torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(l.in_channels).eps(l.eps)));
}

TorchLayer Stateless(std::function<torch::Tensor(const std::vector<torch::Tensor>&)> f) {
  TorchLayer t;
  t.forward = std::move(f);
  return t;
}

TorchLayer AvgPool2d(const Layer& l, const Shape&, const std::string&) {
  return Stateless([l](const std::vector<torch::Tensor>& in) {
    return torch::avg_pool2d(in[0], {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                             {l.pad_h, l.pad_w}, /*ceil_mode=*/false, /*count_include_pad=*/true);
  });
}

TorchLayer MaxPool2d(const Layer& l, const Shape&, const std::string&) {
  return Stateless([l](const std::vector<torch::Tensor>& in) {
    return torch::max_pool2d(in[0], {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                             {l.pad_h, l.pad_w});
  });
}

TorchLayer GlobalAvgPool(const Layer&, const Shape&, const std::string&) {
  return Stateless([](const std::vector<torch::Tensor>& in) { return in[0].mean({2, 3}); });
}

TorchLayer Relu(const Layer&, const Shape&, const std::string&) {
  return Stateless([](const std::vector<torch::Tensor>& in) { return torch::relu(in[0]); });
}

TorchLayer Flatten(const Layer&, const Shape&, const std::string&) {
  return Stateless([](const std::vector<torch::Tensor>& in) { return in[0].flatten(1); });
}

TorchLayer Add(const Layer&, const Shape&, const std::string&) {
  return Stateless([](const std::vector<torch::Tensor>& in) { return in[0] + in[1]; });
}

std::map<std::string, TorchOpFactory, std::less<>>& Factories() {
  static std::map<std::string, TorchOpFactory, std::less<>> m = {
      {"conv2d", &Conv2d},       {"linear", &Linear},       {"batchnorm", &BatchNorm},
      {"avgpool2d", &AvgPool2d}, {"maxpool2d", &MaxPool2d}, {"global_avgpool", &GlobalAvgPool},
      {"relu", &Relu},           {"flatten", &Flatten},     {"add", &Add},
  };
  return m;
}

}  // namespace

void RegisterTorchOp(const std::string& name, TorchOpFactory factory) {
  Check(Factories().emplace(name, factory).second,
        "RegisterTorchOp: op '" + name + "' already has a torch equivalent");
}

TorchOpFactory FindTorchOp(const Layer& l) {
  auto it = Factories().find(l.kind.name());
  Check(it != Factories().end(), Where(l) + ": this op has no libtorch equivalent (train/)");
  return it->second;
}

}  // namespace qaccel::train
