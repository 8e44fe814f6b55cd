// Graph -> SCALE-Sim topology (see topology_from_graph.h for the mapping).
#include "qaccel/accel/topology_from_graph.h"

#include <algorithm>
#include <sstream>

#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"
#include "qaccel/graph/op_registry.h"

namespace qaccel::accel {

int64_t Topology::unmapped_ops() const {
  int64_t s = 0;
  for (auto& u : unmapped) s += u.ops;
  return s;
}

bool IsGemmShaped(const LayerSpec& s) {
  return s.filter_h == 1 && s.filter_w == s.ifmap_w && s.channels == 1 && s.stride_h == 1 &&
         s.stride_w == 1;
}

Topology TopologyFromGraph(const Graph& graph, const TopologyOptions& opt) {
  Check(opt.batch >= 1, "topology: batch must be >= 1, got " + std::to_string(opt.batch));
  Graph g = graph;
  g.InferShapes();
  const analysis::GraphCost cost = analysis::Analyze(g);
  Topology t;
  t.model = g.name;
  t.batch = opt.batch;
  int max_bits = 0, act_bits = 0, weight_bits = 0;
  bool any_quantized = false;
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const OpDef& def = FindOp(l.kind);
    if (def.array_role == ArrayRole::kArray) {
      if (l.quant.quantized) {
        any_quantized = true;
        max_bits = std::max({max_bits, l.quant.act_bits, l.quant.weight_bits});
        act_bits = std::max(act_bits, l.quant.act_bits);
        weight_bits = std::max(weight_bits, l.quant.weight_bits);
      } else {
        max_bits = std::max(max_bits, 32);
      }
      const size_t first = t.layers.size();
      def.map_to_array(g, l, {opt.batch, opt.gemm}, t.layers);
      // Per-operand widths below 8 bits go to the simulator per layer (the
      // weights, and the activations this layer reads); 8-bit layers keep 0
      // so that their reports stay SCALE-Sim's.
      if (l.quant.quantized && !l.inputs.empty()) {
        const int wb = l.quant.weight_bits;
        const int ab = g.layers[static_cast<size_t>(l.inputs[0])].quant.act_bits;
        if (wb < 8 || ab < 8)
          for (size_t k = first; k < t.layers.size(); ++k) {
            t.layers[k].weight_bits = wb;
            t.layers[k].act_bits = ab;
          }
      }
    } else if (def.array_role == ArrayRole::kUnmapped) {
      t.unmapped.push_back({l.name, def.name, cost.layers[i].other_ops * opt.batch});
    }
  }
  Check(!t.layers.empty(),
        "model '" + g.name + "' has no conv2d or linear layer to map onto the array");
  t.act_bits = any_quantized ? act_bits : 32;
  t.weight_bits = any_quantized ? weight_bits : 32;
  t.word_bytes = std::max(1, (max_bits + 7) / 8);
  return t;
}

namespace {

void CheckName(const LayerSpec& s) {
  Check(s.name.find(',') == std::string::npos && s.name.find('\n') == std::string::npos,
        "topology CSV: layer name '" + s.name + "' contains a comma or newline");
}

}  // namespace

std::string TopologyConvCsv(const std::vector<LayerSpec>& layers) {
  std::ostringstream o;
  o << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
       "Strides,\n";
  for (const LayerSpec& s : layers) {
    CheckName(s);
    Check(s.stride_h == s.stride_w,
          "topology CSV: layer '" + s.name + "' has stride " + std::to_string(s.stride_h) + "x" +
              std::to_string(s.stride_w) + "; SCALE-Sim's conv row has one stride (use --gemm)");
    o << s.name << ", " << s.ifmap_h << ", " << s.ifmap_w << ", " << s.filter_h << ", "
      << s.filter_w << ", " << s.channels << ", " << s.num_filters << ", " << s.stride_h << ",\n";
  }
  return o.str();
}

std::string TopologyGemmCsv(const std::vector<LayerSpec>& layers) {
  std::ostringstream o;
  o << "Layer, M, N, K,\n";
  for (const LayerSpec& s : layers) {
    CheckName(s);
    o << s.name << ", " << s.ofmap_h() * s.ofmap_w() << ", " << s.num_filters << ", "
      << s.window_size() << ",\n";
  }
  return o.str();
}

}  // namespace qaccel::accel
