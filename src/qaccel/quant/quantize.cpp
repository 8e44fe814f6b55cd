// Post-training static quantization (see quantize.h for the scheme).
#include "qaccel/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "qaccel/core/error.h"
#include "qaccel/core/rng.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/quant/op_quant.h"
#include "qaccel/quant/weight_scheme.h"

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

// Folds every kFoldsIntoProducer layer (batchnorm) into its producer (float, in place).
void FoldIntoProducers(Graph& g, const std::vector<std::vector<int>>& consumers) {
  for (Layer& l : g.layers) {
    const OpDef& def = FindOp(l.kind);
    if (def.quant_role != QuantRole::kFoldsIntoProducer) continue;
    const size_t p = static_cast<size_t>(l.inputs[0]);
    Layer& producer = g.layers[p];
    Check(FindOp(producer.kind).accepts_fold && consumers[p].size() == 1,
          Where(l) + ": int8 quantization folds " + def.name +
              " into the layer before it; this one does not directly follow a layer that "
              "accepts it (conv2d) used only by it");
    def.fold_into_producer(l, producer);
  }
}

// Where each observed layer's output range is read: at the end of its chain
// of single-consumer folded / fused-activation layers.
struct ObservationPlan {
  std::vector<int> observe_at;  // per layer: where its values are read (-1: not observed)
  std::vector<bool> relu_fused;
};

ObservationPlan PlanObservation(const Graph& g, const std::vector<std::vector<int>>& consumers) {
  const size_t nl = g.layers.size();
  ObservationPlan plan{std::vector<int>(nl, -1), std::vector<bool>(nl, false)};
  for (size_t i = 0; i < nl; ++i) {
    const OpDef& def = FindOp(g.layers[i].kind);
    if (def.quant_role != QuantRole::kObserved) continue;
    size_t j = i;
    while (consumers[j].size() == 1) {
      const size_t next = static_cast<size_t>(consumers[j][0]);
      const QuantRole role = FindOp(g.layers[next].kind).quant_role;
      if (role == QuantRole::kFoldsIntoProducer && j == i && def.accepts_fold) {
        j = next;
      } else if (role == QuantRole::kFusedActivation) {
        j = next;
        plan.relu_fused[i] = true;
        break;
      } else {
        break;
      }
    }
    plan.observe_at[i] = static_cast<int>(j);
  }
  return plan;
}

// Runs the float engine over the seeded calibration images; one observer
// per observed layer. Returns them indexed by layer (null where not observed).
std::vector<std::unique_ptr<Observer>> Calibrate(const Graph& g, const data::Dataset& source,
                                                 const QuantizeOptions& opt,
                                                 const ObservationPlan& plan, int64_t n_cal) {
  const size_t nl = g.layers.size();
  std::vector<int64_t> order(static_cast<size_t>(source.n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(opt.seed);
  rng.Shuffle(order);
  order.resize(static_cast<size_t>(n_cal));

  std::vector<std::unique_ptr<Observer>> observers(nl);
  std::vector<int> observer_of_point(nl, -1);  // float layer index -> observed layer
  int max_passes = 1;
  for (size_t i = 0; i < nl; ++i)
    if (plan.observe_at[i] >= 0) {
      observers[i] = MakeObserver(opt.observer, opt.observer_options);
      observer_of_point[static_cast<size_t>(plan.observe_at[i])] = static_cast<int>(i);
      max_passes = std::max(max_passes, observers[i]->passes());
    }
  engine::Engine fe(g, {1});
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
  return observers;
}

// The metadata's account of the input quantization.
std::string InputDescription(const Graph& g) {
  if (g.input_transform.IsDefault())
    return "pixel/255: scale 1/255, zero point -128, q = pixel - 128";
  const QuantParams& q = g.layers[0].quant;
  return g.input_transform.Describe() + ": scale " + std::to_string(q.out_scale) + ", zero point " +
         std::to_string(q.out_zero_point);
}

// The checks QuantizeGraph makes before any work (see quantize.h).
void CheckQuantizable(const Graph& fg, const data::Dataset& source, const QuantizeOptions& opt) {
  Check(!fg.quantized(), "graph '" + fg.name + "' is already quantized; quantize its float parent");
  Check(opt.calibration > 0, "--calibration must be at least 1 image (got " +
                                 std::to_string(opt.calibration) +
                                 "): activation ranges come from calibration images");
  Check(source.n > 0, "calibration data set '" + source.name + "' is empty");
  const WeightSchemeInfo& scheme = FindWeightScheme(opt.weight_scheme);
  if (opt.weight_bits != 0) CheckWeightBits(scheme, opt.weight_bits, "--weight-bits");
  Check(opt.act_bits >= 2 && opt.act_bits <= 8,
        "--act-bits must be 2..8 (got " + std::to_string(opt.act_bits) + ")");
  for (const auto& [name, o] : opt.layers) {
    Check(fg.Find(name) >= 0, "quantization override for unknown layer '" + name + "'");
    const WeightSchemeInfo& s =
        FindWeightScheme(o.weight_scheme.empty() ? opt.weight_scheme : o.weight_scheme);
    if (o.weight_bits != 0) CheckWeightBits(s, o.weight_bits, "layer '" + name + "' weight bits");
    Check(o.act_bits == 0 || (o.act_bits >= 2 && o.act_bits <= 8),
          "layer '" + name + "': activation bits must be 2..8");
  }
  MakeObserver(opt.observer, opt.observer_options);  // validates the name and options early
  fg.ValidateParameters();
  for (const Layer& l : fg.layers)
    for (auto& [name, t] : l.params)
      Check(t.dtype() == DType::kF32, Where(l) + ": parameter '" + name + "' is " +
                                          std::string(DTypeName(t.dtype())) +
                                          ", a float model is needed");
  CheckFiniteParameters(fg);
  Check(NumElements(fg.input_shape()) == source.image_size(),
        "model '" + fg.name + "' expects input " + ShapeToString(fg.input_shape()) +
            " but the calibration images are " + std::to_string(source.c) + "x" +
            std::to_string(source.h) + "x" + std::to_string(source.w));
}

}  // namespace

std::string ParseWeightScheme(const std::string& s) { return FindWeightScheme(s).name; }

AffineQuant ChooseActivationQuant(float lo, float hi, int bits) {
  Check(bits >= 2 && bits <= 8, "activation bits must be 2..8 (got " + std::to_string(bits) + ")");
  const int32_t qmax = ActivationQMax(bits);
  const float levels = static_cast<float>((1 << bits) - 1);
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  AffineQuant a;
  if (!(hi - lo > 1e-12f)) {  // all zeros: any scale represents it; zp at the bottom
    a.scale = 1.0f / levels;
    a.zero_point = kInt8Min;
    return a;
  }
  a.scale = (hi - lo) / levels;
  // zp = round(-128 - lo / scale): the integer that represents real 0 exactly.
  a.zero_point =
      std::clamp(kInt8Min - static_cast<int32_t>(std::round(static_cast<double>(lo) / a.scale)),
                 kInt8Min, qmax);
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
  CheckQuantizable(float_graph, source, opt);
  const WeightSchemeInfo& scheme = FindWeightScheme(opt.weight_scheme);
  const auto consumers = Consumers(float_graph);
  const ObservationPlan plan = PlanObservation(float_graph, consumers);
  const int64_t n_cal = std::min(opt.calibration, source.n);
  const auto observers = Calibrate(float_graph, source, opt, plan, n_cal);

  // Build the quantized graph from the folded float graph, layer by layer.
  Graph g = float_graph;
  FoldIntoProducers(g, consumers);
  for (size_t i = 0; i < g.layers.size(); ++i) {
    QuantParams& q = g.layers[i].quant;
    q.quantized = true;
    q.act_bits = 8;
    OpQuantContext ctx{g, i};
    if (observers[i]) std::tie(ctx.lo, ctx.hi) = observers[i]->Range();
    ctx.relu_fused = plan.relu_fused[i];
    ctx.observer = opt.observer;
    ctx.weight_scheme = &scheme;
    ctx.weight_bits = opt.weight_bits != 0 ? opt.weight_bits : scheme.bits;
    ctx.act_bits = opt.act_bits;
    if (auto it = opt.layers.find(g.layers[i].name); it != opt.layers.end()) {
      const QuantizeOptions::LayerOverride& o = it->second;
      if (!o.weight_scheme.empty()) {
        ctx.weight_scheme = &FindWeightScheme(o.weight_scheme);
        ctx.weight_bits = ctx.weight_scheme->bits;
      }
      if (o.weight_bits != 0) ctx.weight_bits = o.weight_bits;
      if (o.act_bits != 0) ctx.act_bits = o.act_bits;
      if (o.has_range) {
        ctx.lo = o.lo;
        ctx.hi = o.hi;
        ctx.observer = "qat (moving-average min/max, frozen)";
      }
    }
    const OpDef& def = FindOp(g.layers[i].kind);
    Check(def.quantize != nullptr, Where(g.layers[i]) + ": this op has no quantization rule");
    def.quantize(ctx);
  }
  g.metadata["quantization"] = {
      {"observer", opt.observer},
      {"weight_scheme", scheme.name},
      {"weight_bits", opt.weight_bits != 0 ? opt.weight_bits : scheme.bits},
      {"act_bits", opt.act_bits},
      {"calibration_images", n_cal},
      {"calibration_source", source.name},
      {"calibration_batch", opt.batch},
      {"seed", opt.seed},
      {"percentile", opt.observer_options.percentile},
      {"input", InputDescription(g)},
  };
  g.metadata["input_transform"] = g.input_transform.Describe();
  if (g.metadata.contains("test_accuracy")) {  // that number is the float model's
    g.metadata["float_test_accuracy"] = g.metadata["test_accuracy"];
    g.metadata.erase("test_accuracy");
  }
  g.InferShapes();
  return g;
}

}  // namespace qaccel::quant
