// Quantization-aware training: the fake-quantized forward pass, the binary
// sign states and the conversion to the integer graph (qat.h, qat_model.h).
// A libtorch translation unit of train/.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include "qaccel/core/error.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/train/qat_model.h"

namespace qaccel::train {
namespace {

bool IsWeighted(const Layer& l) { return l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear; }

constexpr float kObserverConstant = 0.01f;  // moving-average min/max (as PyTorch's observer)

std::string SignsToHex(const torch::Tensor& s) {
  auto c = s.contiguous();
  const float* v = c.data_ptr<float>();
  const int64_t n = c.numel();
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (int64_t i = 0; i < n; i += 4) {
    int d = 0;
    for (int64_t b = 0; b < 4 && i + b < n; ++b)
      if (v[i + b] > 0) d |= 1 << b;
    hex += digits[d];
  }
  return hex;
}

void HexToSigns(const std::string& hex, torch::Tensor& s, const std::string& where) {
  const int64_t n = s.numel();
  Check(static_cast<int64_t>(hex.size()) == (n + 3) / 4,
        where + ": sign state has the wrong length");
  auto flat = s.view({-1});
  float* v = flat.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const char ch = hex[static_cast<size_t>(i / 4)];
    const int d = ch <= '9' ? ch - '0' : ch - 'a' + 10;
    Check(d >= 0 && d < 16, where + ": bad sign state");
    v[i] = (d >> (i % 4)) & 1 ? 1.0f : -1.0f;
  }
}

}  // namespace

QatModel::QatModel(GraphModule& m, const QatOptions& o, int epochs) : m_(m), o_(o) {
  const Graph& g = m_->structure();
  const size_t n = g.layers.size();
  freeze_epoch_ = epochs / 2 + 1;  // observe in the first half (rounded up), then frozen
  wbits_.assign(n, 0);
  bn_of_.assign(n, -1);
  folded_.assign(n, false);
  act_at_.assign(n, -1);
  act_.resize(n);
  sign_.resize(n);
  std::vector<std::vector<int>> consumers(n);
  for (size_t i = 0; i < n; ++i)
    for (int in : g.layers[i].inputs)
      consumers[static_cast<size_t>(in)].push_back(static_cast<int>(i));
  std::vector<size_t> weighted;
  for (size_t i = 1; i < n; ++i)
    if (IsWeighted(g.layers[i])) weighted.push_back(i);
  Check(!weighted.empty(), "--qat: model '" + g.name + "' has no conv or linear layer");
  for (size_t i : weighted) {
    const bool edge = i == weighted.front() || i == weighted.back();
    wbits_[i] = edge && !o_.binary_all ? 8 : o_.weight_bits;
  }
  // Activation points: where the post-training quantizer observes (quantize.cpp):
  // a conv/linear/add output at the end of its folded batchnorm and fused ReLU.
  for (size_t i = 1; i < n; ++i) {
    const OpDef& def = FindOp(g.layers[i].kind);
    if (def.quant_role != QuantRole::kObserved) continue;
    size_t j = i;
    bool relu = false;
    while (consumers[j].size() == 1) {
      const size_t next = static_cast<size_t>(consumers[j][0]);
      const QuantRole role = FindOp(g.layers[next].kind).quant_role;
      if (role == QuantRole::kFoldsIntoProducer && j == i && def.accepts_fold) {
        bn_of_[i] = static_cast<int>(next);
        folded_[next] = true;
        j = next;
      } else if (role == QuantRole::kFusedActivation) {
        j = next;
        relu = true;
        break;
      } else {
        break;
      }
    }
    act_at_[j] = static_cast<int>(i);
    act_[i].relu = relu;
    act_[i].bits = j == n - 1 ? 8 : o_.act_bits;  // the logits stay 8-bit
  }
  torch::NoGradGuard no_grad;
  for (size_t i : weighted)
    if (wbits_[i] == 1) {
      auto w = m_->LayerModule(i)->named_parameters(false)["weight"];
      w.clamp_(-1.0, 1.0);
      sign_[i] = torch::where(w >= 0, torch::ones_like(w), -torch::ones_like(w));
      binary_weights_ += w.numel();
    }
}

torch::Tensor QatModel::WeightFq(size_t i, const torch::Tensor& w) const {
  const int bits = wbits_[i];
  const int64_t out = w.size(0);
  std::vector<int64_t> view(static_cast<size_t>(w.dim()), 1);
  view[0] = out;
  if (bits == 1) {
    auto alpha = w.detach().reshape({out, -1}).abs().mean(1).view(view);
    auto wb = alpha * sign_[i];
    auto mask = (w.detach().abs() <= 1.0).to(torch::kFloat32);
    return wb.detach() + w * mask - (w * mask).detach();
  }
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  auto amax = w.detach().reshape({out, -1}).abs().amax(1);
  auto scale = torch::where(amax > 0, amax / qmax, torch::ones_like(amax)).view(view);
  auto wq = torch::clamp(torch::round(w.detach() / scale), -qmax, qmax) * scale;
  return wq + w - w.detach();
}

torch::Tensor QatModel::ActFq(size_t i, const torch::Tensor& x, bool training) {
  Act& a = act_[i];
  if ((training && !frozen_) || !a.init) {
    const float lo = x.detach().min().item<float>(), hi = x.detach().max().item<float>();
    if (!a.init) {
      a.lo = lo;
      a.hi = hi;
      a.init = true;
    } else {
      a.lo += kObserverConstant * (lo - a.lo);
      a.hi += kObserverConstant * (hi - a.hi);
    }
  }
  const quant::AffineQuant q = quant::ChooseActivationQuant(a.relu ? 0.0f : a.lo, a.hi, a.bits);
  const float qmin = a.relu ? static_cast<float>(std::max(-128, q.zero_point)) : -128.0f;
  const float qmax = static_cast<float>(quant::ActivationQMax(a.bits));
  const float zp = static_cast<float>(q.zero_point), s = q.scale;
  auto y = (torch::clamp(torch::round(x.detach() / s) + zp, qmin, qmax) - zp) * s;
  auto mask =
      ((x.detach() >= (qmin - zp) * s) & (x.detach() <= (qmax - zp) * s)).to(torch::kFloat32);
  return y + x * mask - (x * mask).detach();
}

std::pair<torch::Tensor, torch::Tensor> QatModel::Effective(size_t i) const {
  auto params = m_->LayerModule(i)->named_parameters(false);
  torch::Tensor w = WeightFq(i, params["weight"]);
  torch::Tensor b = params.contains("bias") ? params["bias"] : torch::Tensor();
  if (bn_of_[i] < 0) return {w, b};
  const Layer& bn = m_->structure().layers[static_cast<size_t>(bn_of_[i])];
  auto bm = m_->LayerModule(static_cast<size_t>(bn_of_[i]));
  auto bp = bm->named_parameters(false);
  auto bb = bm->named_buffers(false);
  auto k = bp["weight"] / torch::sqrt(bb["running_var"] + static_cast<double>(bn.eps));
  std::vector<int64_t> view(static_cast<size_t>(w.dim()), 1);
  view[0] = w.size(0);
  auto b0 = b.defined() ? b : torch::zeros_like(bb["running_mean"]);
  return {w * k.view(view), (b0 - bb["running_mean"]) * k + bp["bias"]};
}

torch::Tensor QatModel::Forward(const torch::Tensor& x, bool training) {
  const Graph& g = m_->structure();
  std::vector<torch::Tensor> out(g.layers.size());
  out[0] = x;
  // The quantization grid (scale, zero point) of each output where known:
  // set at the activation points, passed through by ops that keep their
  // input's grid. Average pools then round their mean onto the grid as the
  // engine does (RoundingDivide of the sum of q, half away from zero),
  // which matters at a few activation bits.
  std::vector<std::optional<quant::AffineQuant>> grid(g.layers.size());
  std::vector<torch::Tensor> in;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    in.clear();
    for (int k : l.inputs) in.push_back(out[static_cast<size_t>(k)]);
    torch::Tensor y;
    if (wbits_[i] > 0) {
      auto [w, b] = Effective(i);
      if (l.kind == OpKind::kConv2d)
        y = torch::conv2d(in[0], w, b, {l.stride_h, l.stride_w}, {l.pad_h, l.pad_w}, {1, 1},
                          l.groups);
      else
        y = torch::linear(in[0], w, b);
    } else if (folded_[i]) {
      y = in[0];
    } else {
      y = m_->ForwardLayer(i, in);
    }
    const auto& g_in = grid[static_cast<size_t>(l.inputs.at(0))];
    if (g_in && (l.kind == OpKind::kAvgPool2d || l.kind == OpKind::kGlobalAvgPool)) {
      const double count = l.kind == OpKind::kAvgPool2d
                               ? static_cast<double>(l.kernel_h * l.kernel_w)
                               : static_cast<double>(in[0].size(2) * in[0].size(3));
      const float s = g_in->scale, zp = static_cast<float>(g_in->zero_point);
      auto sum = torch::round((y.detach() / s + zp) * count);  // the integer sum of q
      auto r = torch::sign(sum) * torch::floor((sum.abs() + std::floor(count / 2)) / count);
      y = y + ((r - zp) * s - y).detach();
    }
    if (act_at_[i] >= 0) {
      const Act& a = act_[static_cast<size_t>(act_at_[i])];
      y = ActFq(static_cast<size_t>(act_at_[i]), y, training);
      grid[i] = quant::ChooseActivationQuant(a.relu ? 0.0f : a.lo, a.hi, a.bits);
    } else if (l.kind == OpKind::kRelu || l.kind == OpKind::kMaxPool2d ||
               l.kind == OpKind::kAvgPool2d || l.kind == OpKind::kGlobalAvgPool ||
               l.kind == OpKind::kFlatten || folded_[i]) {
      grid[i] = g_in;
    }
    out[i] = y;
  }
  return out.back();
}

void QatModel::BeginEpoch(int epoch) { frozen_ = epoch >= freeze_epoch_; }

void QatModel::AfterStep() {
  torch::NoGradGuard no_grad;
  const double t = o_.flip_threshold;
  for (size_t i = 0; i < sign_.size(); ++i) {
    if (!sign_[i].defined()) continue;
    auto w = m_->LayerModule(i)->named_parameters(false)["weight"];
    w.clamp_(-1.0, 1.0);
    auto& s = sign_[i];
    torch::Tensor next;
    if (t == 0) {
      next = torch::where(w >= 0, torch::ones_like(w), -torch::ones_like(w));
    } else {
      next = torch::where((s > 0) & (w < -t), -torch::ones_like(w),
                          torch::where((s < 0) & (w > t), torch::ones_like(w), s));
    }
    flips_ += next.ne(s).sum().item<int64_t>();
    s = next;
  }
}

double QatModel::TakeFlipRatio() {
  if (binary_weights_ == 0) return std::nan("");
  const double r = static_cast<double>(flips_) / static_cast<double>(binary_weights_);
  flips_ = 0;
  return r;
}

nlohmann::json QatModel::State() const {
  nlohmann::json acts = nlohmann::json::array(), signs = nlohmann::json::object();
  for (size_t i = 0; i < act_.size(); ++i)
    if (act_[i].init) acts.push_back({{"layer", i}, {"lo", act_[i].lo}, {"hi", act_[i].hi}});
  for (size_t i = 0; i < sign_.size(); ++i)
    if (sign_[i].defined()) signs[std::to_string(i)] = SignsToHex(sign_[i]);
  return {{"activations", acts}, {"signs", signs}};
}

void QatModel::LoadState(const nlohmann::json& j, const std::string& where) {
  Check(j.is_object() && j.contains("activations") && j.contains("signs"),
        where + ": checkpoint has no QAT state");
  for (const auto& a : j["activations"]) {
    const size_t i = a.at("layer").get<size_t>();
    Check(i < act_.size(), where + ": QAT state for an unknown layer");
    act_[i].lo = a.at("lo").get<float>();
    act_[i].hi = a.at("hi").get<float>();
    act_[i].init = true;
  }
  for (size_t i = 0; i < sign_.size(); ++i)
    if (sign_[i].defined())
      HexToSigns(j["signs"].at(std::to_string(i)).get<std::string>(), sign_[i], where);
}

Evaluation QatModel::Evaluate(const data::Dataset& d, int64_t batch) {
  const bool was_training = m_->is_training();
  m_->eval();
  torch::NoGradGuard no_grad;
  Evaluation e;
  double loss = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < d.n; start += batch) {
    const int64_t b = std::min(batch, d.n - start);
    auto x = PixelsToInput(m_->input_transform(), d.image(start), b, d.c, d.h, d.w);
    auto y = torch::from_blob(const_cast<uint8_t*>(d.labels.data() + start), {b}, torch::kUInt8)
                 .to(torch::kInt64);
    auto logits = Forward(x, false);
    loss += torch::nn::functional::cross_entropy(
                logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  e.count = d.n;
  if (d.n > 0) {
    e.loss = loss / static_cast<double>(d.n);
    e.accuracy = static_cast<double>(correct) / static_cast<double>(d.n);
  }
  m_->train(was_training);
  return e;
}

std::vector<int64_t> QatModel::Predict(const data::Dataset& d, int64_t batch) {
  const bool was_training = m_->is_training();
  m_->eval();
  torch::NoGradGuard no_grad;
  std::vector<int64_t> p;
  for (int64_t start = 0; start < d.n; start += batch) {
    const int64_t b = std::min(batch, d.n - start);
    auto x = PixelsToInput(m_->input_transform(), d.image(start), b, d.c, d.h, d.w);
    auto a = Forward(x, false).argmax(1).contiguous();
    p.insert(p.end(), a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + b);
  }
  m_->train(was_training);
  return p;
}

Graph QatModel::Convert(const Graph& trained, const data::Dataset& calibration) {
  torch::NoGradGuard no_grad;
  Graph fg = trained;
  quant::QuantizeOptions qo;
  qo.weight_scheme = quant::kPerChannelSymmetric;
  qo.observer = "minmax";
  qo.calibration = std::min<int64_t>(16, calibration.n);
  auto to_tensor = [](const torch::Tensor& t, const Shape& shape) {
    auto c = t.detach().to(torch::kFloat32).contiguous();
    Tensor r(DType::kF32, shape);
    std::memcpy(r.raw(), c.data_ptr<float>(), r.nbytes());
    return r;
  };
  for (size_t i = 1; i < fg.layers.size(); ++i) {
    Layer& l = fg.layers[i];
    quant::QuantizeOptions::LayerOverride ov;
    if (wbits_[i] > 0) {
      auto [w, b] = Effective(i);
      l.params["weight"] = to_tensor(w, ExpectedParamShape(l, "weight"));
      if (b.defined()) {
        l.has_bias = true;
        l.params["bias"] = to_tensor(b, {l.out_channels});
      }
      ov.weight_scheme = wbits_[i] == 1 ? "binary" : quant::kPerChannelSymmetric;
      ov.weight_bits = wbits_[i];
      if (bn_of_[i] >= 0) {  // now folded into the weights: an identity batchnorm
        Layer& bn = fg.layers[static_cast<size_t>(bn_of_[i])];
        const std::vector<float> one(static_cast<size_t>(bn.in_channels), 1.0f),
            zero(one.size(), 0.0f), var(one.size(), 1.0f - bn.eps);
        bn.params["gamma"] = Tensor::From<float>({bn.in_channels}, one);
        bn.params["beta"] = Tensor::From<float>({bn.in_channels}, zero);
        bn.params["mean"] = Tensor::From<float>({bn.in_channels}, zero);
        bn.params["var"] = Tensor::From<float>({bn.in_channels}, var);
      }
    }
    if (FindOp(l.kind).quant_role == QuantRole::kObserved) {
      ov.act_bits = act_[i].bits;
      ov.has_range = act_[i].init;
      ov.lo = act_[i].relu ? 0.0f : act_[i].lo;
      ov.hi = act_[i].hi;
      qo.layers[l.name] = ov;
    }
  }
  fg.InferShapes();
  Graph q = quant::QuantizeGraph(fg, calibration, qo);
  q.metadata["quantization"]["method"] = "quantization-aware training (--qat " + o_.spec + ")";
  q.metadata["quantization"]["observer"] = "qat moving-average min/max (frozen)";
  q.metadata["quantization"]["weight_scheme"] =
      o_.weight_bits == 1 ? "binary (per layer: qat.layers)" : "per-channel-symmetric";
  q.metadata["quantization"]["weight_bits"] = o_.weight_bits;
  q.metadata["quantization"]["act_bits"] = o_.act_bits;
  q.metadata["quantization"]["first_last_layers"] =
      o_.binary_all ? "at the --qat widths" : "8-bit weights";
  q.metadata["quantization"].erase("percentile");
  q.metadata["quantization"].erase("calibration_batch");
  return q;
}

nlohmann::json QatModel::Record() const {
  nlohmann::json layers = nlohmann::json::array();
  const Graph& g = m_->structure();
  for (size_t i = 0; i < g.layers.size(); ++i)
    if (wbits_[i] > 0)
      layers.push_back({{"layer", g.layers[i].name},
                        {"weight_bits", wbits_[i]},
                        {"act_bits", act_[i].bits},
                        {"batchnorm_folded", bn_of_[i] >= 0}});
  return {{"spec", o_.spec},
          {"weight_bits", o_.weight_bits},
          {"act_bits", o_.act_bits},
          {"flip_threshold", o_.flip_threshold},
          {"binary_all", o_.binary_all},
          {"observer", "moving-average min/max, constant 0.01, frozen from epoch " +
                           std::to_string(freeze_epoch_)},
          {"layers", layers}};
}

}  // namespace qaccel::train
