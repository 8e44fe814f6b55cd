#include "qaccel/analysis/analysis.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/graph/op_registry.h"

namespace qaccel::analysis {

namespace {

// One layer's costs; every count is overflow-checked (CountProduct / CountSum).
LayerCost AnalyzeLayer(const Graph& g, const Layer& l) {
  LayerCost lc;
  lc.name = l.name;
  lc.kind = std::string(OpKindName(l.kind));
  lc.out_shape = l.out_shape;
  if (l.quant.quantized) {
    lc.act_bits = l.quant.act_bits;
    lc.weight_bits = l.quant.weight_bits;
  }
  const OpDef& def = FindOp(l.kind);
  if (def.count) {
    std::vector<const Shape*> in;
    for (int k : l.inputs) in.push_back(&g.layers[static_cast<size_t>(k)].out_shape);
    const OpCost oc = def.count(l, in);
    lc.params = CountSum(oc.weights, oc.params32);
    lc.macs = oc.macs;
    lc.other_ops = oc.other_ops;
    lc.param_bytes = CountSum(CountSum(CountProduct({oc.weights, lc.weight_bits}), 7) / 8,
                              CountProduct({oc.params32, 4}));
  }
  lc.flops = CountProduct({2, lc.macs});
  lc.activation_bytes = CountSum(CountProduct({NumElements(l.out_shape), lc.act_bits}), 7) / 8;
  return lc;
}

}  // namespace

GraphCost Analyze(const Graph& graph) {
  Graph g = graph;
  g.InferShapes();
  GraphCost c;
  for (const Layer& l : g.layers) {
    LayerCost lc;
    try {
      lc = AnalyzeLayer(g, l);
    } catch (const Error& e) {
      throw Error("layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + "): " + e.what());
    }
    try {
      c.total_params = CountSum(c.total_params, lc.params);
      c.total_macs = CountSum(c.total_macs, lc.macs);
      c.total_flops = CountSum(c.total_flops, lc.flops);
      c.total_other_ops = CountSum(c.total_other_ops, lc.other_ops);
      c.total_param_bytes = CountSum(c.total_param_bytes, lc.param_bytes);
    } catch (const Error& e) {
      throw Error("model totals up to layer '" + l.name + "': " + e.what());
    }
    c.peak_activation_bytes = std::max(c.peak_activation_bytes, lc.activation_bytes);
    if (lc.macs > 0) {
      // The operands of a MAC: this layer's weights and its input's activations.
      std::string key = "float";
      if (l.quant.quantized && !l.inputs.empty()) {
        key = "w";
        key += std::to_string(l.quant.weight_bits);
        key += "a";
        key += std::to_string(g.layers[static_cast<size_t>(l.inputs[0])].quant.act_bits);
      }
      auto it = std::find_if(c.macs_by_precision.begin(), c.macs_by_precision.end(),
                             [&](const auto& e) { return e.first == key; });
      if (it == c.macs_by_precision.end())
        c.macs_by_precision.emplace_back(key, lc.macs);
      else
        it->second = CountSum(it->second, lc.macs);
    }
    c.layers.push_back(lc);
  }
  return c;
}

nlohmann::json ToJson(const GraphCost& c) {
  nlohmann::json layers = nlohmann::json::array();
  for (auto& l : c.layers)
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"out_shape", l.out_shape},
                      {"params", l.params},
                      {"macs", l.macs},
                      {"flops", l.flops},
                      {"other_ops", l.other_ops},
                      {"weight_bits", l.weight_bits},
                      {"act_bits", l.act_bits},
                      {"param_bytes", l.param_bytes},
                      {"activation_bytes", l.activation_bytes}});
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [k, v] : c.macs_by_precision) by[k] = v;
  return {{"layers", layers},
          {"macs_by_precision", by},
          {"total_params", c.total_params},
          {"total_macs", c.total_macs},
          {"total_flops", c.total_flops},
          {"total_other_ops", c.total_other_ops},
          {"total_param_bytes", c.total_param_bytes},
          {"peak_activation_bytes", c.peak_activation_bytes}};
}

std::string ToTable(const GraphCost& c) {
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-22s %-14s %-16s %10s %12s %10s %6s %11s\n", "layer", "kind",
                "out_shape", "params", "MACs", "other_ops", "bits", "param_bytes");
  os << buf;
  for (auto& l : c.layers) {
    std::string bits = l.kind == "conv2d" || l.kind == "linear"
                           ? std::to_string(l.weight_bits) + "/" + std::to_string(l.act_bits)
                           : std::to_string(l.act_bits);
    std::snprintf(buf, sizeof buf, "%-22s %-14s %-16s %10lld %12lld %10lld %6s %11lld\n",
                  l.name.c_str(), l.kind.c_str(), ShapeToString(l.out_shape).c_str(),
                  static_cast<long long>(l.params), static_cast<long long>(l.macs),
                  static_cast<long long>(l.other_ops), bits.c_str(),
                  static_cast<long long>(l.param_bytes));
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "%-22s %-14s %-16s %10lld %12lld %10lld %6s %11lld\n", "total", "",
                "", static_cast<long long>(c.total_params), static_cast<long long>(c.total_macs),
                static_cast<long long>(c.total_other_ops), "",
                static_cast<long long>(c.total_param_bytes));
  os << buf;
  if (!c.macs_by_precision.empty() &&
      !(c.macs_by_precision.size() == 1 && c.macs_by_precision[0].first == "float")) {
    os << "MACs by precision (weights/activations):";
    for (const auto& [k, v] : c.macs_by_precision) {
      std::snprintf(buf, sizeof buf, " %s %lld (%.1f%%)", k.c_str(), static_cast<long long>(v),
                    c.total_macs > 0
                        ? 100.0 * static_cast<double>(v) / static_cast<double>(c.total_macs)
                        : 0.0);
      os << buf;
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace qaccel::analysis
