// Post-training static quantization (see quantize.h for the scheme).
#include "qaccel/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qaccel/core/error.h"
#include "qaccel/core/rng.h"
#include "qaccel/engine/engine.h"
#include "qaccel/kernels/reference/numeric_contract.h"

namespace qaccel::quant {
namespace {

using kernels::kInt8Max;
using kernels::kInt8Min;

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
}

std::vector<std::vector<int>> Consumers(const Graph& g) {
  std::vector<std::vector<int>> c(g.layers.size());
  for (size_t i = 0; i < g.layers.size(); ++i)
    for (int in : g.layers[i].inputs) c[static_cast<size_t>(in)].push_back(static_cast<int>(i));
  return c;
}

// Folds every batchnorm into the conv before it (float, in place).
void FoldBatchNorms(Graph& g, const std::vector<std::vector<int>>& consumers) {
  for (Layer& bn : g.layers) {
    if (bn.kind != OpKind::kBatchNorm) continue;
    Layer& conv = g.layers[static_cast<size_t>(bn.inputs[0])];
    Check(conv.kind == OpKind::kConv2d && consumers[static_cast<size_t>(bn.inputs[0])].size() == 1,
          Where(bn) +
              ": int8 quantization folds batchnorm into the conv before it; this one does not "
              "directly follow a conv used only by it");
    const auto gamma = bn.params.at("gamma").data<float>(),
               beta = bn.params.at("beta").data<float>(), mean = bn.params.at("mean").data<float>(),
               var = bn.params.at("var").data<float>();
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
}

struct WeightQuant {
  Tensor q;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
};

WeightQuant QuantizeWeights(const Tensor& w, int64_t out_channels, const std::string& scheme) {
  const auto v = w.data<float>();
  const int64_t per_out = static_cast<int64_t>(v.size()) / out_channels;
  WeightQuant r;
  r.q = Tensor(DType::kI8, w.shape());
  auto q = r.q.data<int8_t>();
  if (scheme == kPerTensorAsymmetric) {
    const float lo = std::min(0.0f, *std::min_element(v.begin(), v.end()));
    const float hi = std::max(0.0f, *std::max_element(v.begin(), v.end()));
    const AffineQuant a = ChooseActivationQuant(lo, hi);  // same affine rule as activations
    r.scale = {a.scale};
    r.zero_point = {a.zero_point};
    for (size_t i = 0; i < v.size(); ++i)
      q[i] = static_cast<int8_t>(
          kernels::QuantizeValue(v[i], a.scale, a.zero_point, kInt8Min, kInt8Max));
  } else {
    for (int64_t o = 0; o < out_channels; ++o) {
      float amax = 0;
      for (int64_t j = 0; j < per_out; ++j) amax = std::max(amax, std::fabs(v[o * per_out + j]));
      const float scale = amax > 0 ? amax / 127.0f : 1.0f;
      r.scale.push_back(scale);
      r.zero_point.push_back(0);
      for (int64_t j = 0; j < per_out; ++j)
        q[o * per_out + j] =
            static_cast<int8_t>(kernels::QuantizeValue(v[o * per_out + j], scale, 0, -127, 127));
    }
  }
  return r;
}

}  // namespace

std::string ParseWeightScheme(const std::string& s) {
  if (s == "per-tensor" || s == kPerTensorAsymmetric) return kPerTensorAsymmetric;
  if (s == "per-channel" || s == kPerChannelSymmetric) return kPerChannelSymmetric;
  throw Error("unknown weight scheme '" + s + "' (choose per-tensor or per-channel)");
}

AffineQuant ChooseActivationQuant(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  AffineQuant a;
  if (!(hi - lo > 1e-12f)) {  // all zeros: any scale represents it; zp at the bottom
    a.scale = 1.0f / 255.0f;
    a.zero_point = kInt8Min;
    return a;
  }
  a.scale = (hi - lo) / 255.0f;
  // zp = round(-128 - lo / scale): the integer that represents real 0 exactly.
  a.zero_point =
      std::clamp(kInt8Min - static_cast<int32_t>(std::round(static_cast<double>(lo) / a.scale)),
                 kInt8Min, kInt8Max);
  return a;
}

void CheckFiniteParameters(const Graph& g) {
  for (const Layer& l : g.layers)
    for (auto& [name, t] : l.params) {
      if (t.dtype() != DType::kF32) continue;
      auto v = t.data<float>();
      for (size_t i = 0; i < v.size(); ++i)
        Check(std::isfinite(v[i]), Where(l) + ": parameter '" + name + "' element " +
                                       std::to_string(i) + " is " +
                                       (std::isnan(v[i]) ? "NaN" : "Inf") +
                                       " (the model is broken; retrain or fix the file)");
    }
}

Graph QuantizeGraph(const Graph& float_graph, const data::Dataset& source,
                    const QuantizeOptions& opt) {
  Check(!float_graph.quantized(),
        "graph '" + float_graph.name + "' is already quantized; quantize its float parent");
  Check(opt.calibration > 0, "--calibration must be at least 1 image (got " +
                                 std::to_string(opt.calibration) +
                                 "): activation ranges come from calibration images");
  Check(source.n > 0, "calibration data set '" + source.name + "' is empty");
  const std::string scheme = ParseWeightScheme(opt.weight_scheme);
  MakeObserver(opt.observer, opt.observer_options);  // validates the name and options early
  float_graph.ValidateParameters();
  for (const Layer& l : float_graph.layers)
    for (auto& [name, t] : l.params)
      Check(t.dtype() == DType::kF32, Where(l) + ": parameter '" + name + "' is " +
                                          std::string(DTypeName(t.dtype())) +
                                          ", a float model is needed");
  CheckFiniteParameters(float_graph);
  if (float_graph.metadata.contains("input_transform")) {
    const auto& it = float_graph.metadata["input_transform"];
    Check(it.is_string() && it.get<std::string>() == "pixel/255",
          "graph '" + float_graph.name + "': metadata input_transform is " + it.dump() +
              "; qaccel's engines and quantizer use pixel/255");
  }
  Check(NumElements(float_graph.input_shape()) == source.image_size(),
        "model '" + float_graph.name + "' expects input " +
            ShapeToString(float_graph.input_shape()) + " but the calibration images are " +
            std::to_string(source.c) + "x" + std::to_string(source.h) + "x" +
            std::to_string(source.w));

  const auto consumers = Consumers(float_graph);
  const size_t nl = float_graph.layers.size();

  // Observation points: conv / linear / add outputs, observed at the end of their
  // chain of single-consumer batchnorm / ReLU layers.
  std::vector<int> observe_at(nl, -1);  // for an observed layer: where its values are read
  std::vector<bool> relu_fused(nl, false);
  for (size_t i = 0; i < nl; ++i) {
    const OpKind k = float_graph.layers[i].kind;
    if (k != OpKind::kConv2d && k != OpKind::kLinear && k != OpKind::kAdd) continue;
    size_t j = i;
    while (consumers[j].size() == 1) {
      const Layer& next = float_graph.layers[static_cast<size_t>(consumers[j][0])];
      if (next.kind == OpKind::kBatchNorm && j == i && k == OpKind::kConv2d) {
        j = static_cast<size_t>(consumers[j][0]);
      } else if (next.kind == OpKind::kRelu) {
        j = static_cast<size_t>(consumers[j][0]);
        relu_fused[i] = true;
        break;
      } else {
        break;
      }
    }
    observe_at[i] = static_cast<int>(j);
  }

  // Calibration: seeded choice of images, float engine with a tap.
  const int64_t n_cal = std::min(opt.calibration, source.n);
  std::vector<int64_t> order(static_cast<size_t>(source.n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(opt.seed);
  rng.Shuffle(order);
  order.resize(static_cast<size_t>(n_cal));

  std::vector<std::unique_ptr<Observer>> observers(nl);
  std::vector<int> observer_of_point(nl, -1);  // float layer index -> observed layer
  int max_passes = 1;
  for (size_t i = 0; i < nl; ++i)
    if (observe_at[i] >= 0) {
      observers[i] = MakeObserver(opt.observer, opt.observer_options);
      observer_of_point[static_cast<size_t>(observe_at[i])] = static_cast<int>(i);
      max_passes = std::max(max_passes, observers[i]->passes());
    }
  engine::Engine fe(float_graph, {1});
  for (int pass = 0; pass < max_passes; ++pass) {
    for (int64_t b = 0; b < n_cal; b += opt.batch) {
      const int64_t e = std::min(n_cal, b + opt.batch);
      for (int64_t s = b; s < e; ++s)
        fe.RunTapped(source.image(order[static_cast<size_t>(s)]),
                     [&](int layer, const float* v, int64_t n) {
                       const int obs = observer_of_point[static_cast<size_t>(layer)];
                       if (obs >= 0 && pass < observers[static_cast<size_t>(obs)]->passes())
                         observers[static_cast<size_t>(obs)]->Observe(v, n, pass);
                     });
      for (auto& o : observers)
        if (o && pass < o->passes()) o->EndBatch(pass);
    }
  }

  // Build the quantized graph from the batchnorm-folded float graph.
  Graph g = float_graph;
  FoldBatchNorms(g, consumers);
  for (size_t i = 0; i < nl; ++i) {
    Layer& l = g.layers[i];
    QuantParams& q = l.quant;
    q.quantized = true;
    q.act_bits = 8;
    const QuantParams* in_q =
        l.inputs.empty() ? nullptr : &g.layers[static_cast<size_t>(l.inputs[0])].quant;
    switch (l.kind) {
      case OpKind::kInput:
        q.out_scale = 1.0f / 255.0f;
        q.out_zero_point = -128;
        q.observer = "fixed: pixel/255";
        break;
      case OpKind::kConv2d:
      case OpKind::kLinear:
      case OpKind::kAdd: {
        auto [lo, hi] = observers[i]->Range();
        Check(std::isfinite(lo) && std::isfinite(hi),
              Where(l) +
                  ": observed activation range is not finite (NaN/Inf activations in calibration)");
        if (relu_fused[i]) lo = 0.0f;
        const AffineQuant a = ChooseActivationQuant(lo, hi);
        q.out_scale = a.scale;
        q.out_zero_point = a.zero_point;
        q.act_min = relu_fused[i] ? std::max(kInt8Min, a.zero_point) : kInt8Min;
        q.act_max = kInt8Max;
        q.observer = opt.observer;
        if (l.kind == OpKind::kAdd) {
          const double sa = in_q->out_scale,
                       sb = g.layers[static_cast<size_t>(l.inputs[1])].quant.out_scale;
          const double t = 2 * std::max(sa, sb);
          const double mo = t / (std::ldexp(1.0, kernels::kAddLeftShift) * q.out_scale);
          q.multiplier.clear();
          q.shift.clear();
          for (double m : {sa / t, sb / t, mo}) {
            auto qm = kernels::QuantizeMultiplier(m);
            q.multiplier.push_back(qm.multiplier);
            q.shift.push_back(qm.shift);
          }
          break;
        }
        // Weights, bias, per-channel multipliers.
        WeightQuant wq = QuantizeWeights(l.params.at("weight"), l.out_channels, scheme);
        q.weight_bits = 8;
        q.weight_scheme = scheme;
        q.weight_scale = wq.scale;
        q.weight_zero_point = wq.zero_point;
        q.multiplier.clear();
        q.shift.clear();
        const int64_t depth = NumElements(l.params.at("weight").shape()) / l.out_channels;
        Check(depth <= kernels::kMaxAccumulationDepth,
              Where(l) + ": accumulation depth " + std::to_string(depth) +
                  " exceeds the int32 bound " + std::to_string(kernels::kMaxAccumulationDepth));
        std::vector<int32_t> bias_q;
        const float* bias = l.has_bias ? l.params.at("bias").data<float>().data() : nullptr;
        for (int64_t o = 0; o < l.out_channels; ++o) {
          const size_t c = wq.scale.size() == 1 ? 0 : static_cast<size_t>(o);
          const double s_acc = static_cast<double>(in_q->out_scale) * wq.scale[c];
          if (o == 0 || wq.scale.size() > 1) {
            auto qm = kernels::QuantizeMultiplier(s_acc / q.out_scale);
            q.multiplier.push_back(qm.multiplier);
            q.shift.push_back(qm.shift);
          }
          if (bias) {
            const double b = std::round(bias[o] / s_acc);
            Check(std::fabs(b) <= static_cast<double>(kernels::MaxBiasMagnitude(depth)),
                  Where(l) + ": bias[" + std::to_string(o) + "] = " + std::to_string(bias[o]) +
                      " does not fit the int32 accumulator at scale s_in*s_w (numeric_contract.h)");
            bias_q.push_back(static_cast<int32_t>(b));
          }
        }
        l.params["weight"] = std::move(wq.q);
        if (bias) l.params["bias"] = Tensor::From<int32_t>({l.out_channels}, bias_q);
        break;
      }
      case OpKind::kRelu:
        q.out_scale = in_q->out_scale;
        q.out_zero_point = in_q->out_zero_point;
        q.act_min = std::max(in_q->act_min, in_q->out_zero_point);
        q.act_max = in_q->act_max;
        q.observer = "same as input";
        break;
      case OpKind::kAvgPool2d:
      case OpKind::kMaxPool2d:
      case OpKind::kGlobalAvgPool:
      case OpKind::kFlatten:
      case OpKind::kBatchNorm:
        q.out_scale = in_q->out_scale;
        q.out_zero_point = in_q->out_zero_point;
        q.act_min = in_q->act_min;
        q.act_max = in_q->act_max;
        q.observer = "same as input";
        break;
    }
  }
  g.metadata["quantization"] = {
      {"observer", opt.observer},
      {"weight_scheme", scheme},
      {"calibration_images", n_cal},
      {"calibration_source", source.name},
      {"calibration_batch", opt.batch},
      {"seed", opt.seed},
      {"percentile", opt.observer_options.percentile},
      {"input", "pixel/255: scale 1/255, zero point -128, q = pixel - 128"},
  };
  g.metadata["input_transform"] = "pixel/255";
  if (g.metadata.contains("test_accuracy")) {  // that number is the float model's
    g.metadata["float_test_accuracy"] = g.metadata["test_accuracy"];
    g.metadata.erase("test_accuracy");
  }
  g.InferShapes();
  return g;
}

}  // namespace qaccel::quant
