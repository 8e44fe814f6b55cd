// Graph -> SCALE-Sim topology (see topology_from_graph.h for the mapping).
#include "qaccel/accel/topology_from_graph.h"

#include <algorithm>
#include <sstream>

#include "qaccel/analysis/analysis.h"
#include "qaccel/core/error.h"

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
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      if (l.quant.quantized) {
        any_quantized = true;
        max_bits = std::max({max_bits, l.quant.act_bits, l.quant.weight_bits});
        act_bits = std::max(act_bits, l.quant.act_bits);
        weight_bits = std::max(weight_bits, l.quant.weight_bits);
      } else {
        max_bits = std::max(max_bits, 32);
      }
    }
    switch (l.kind) {
      case OpKind::kConv2d: {
        const Shape& in = g.layers[l.inputs[0]].out_shape;
        const int64_t cg = l.in_channels / l.groups, og = l.out_channels / l.groups;
        for (int64_t grp = 0; grp < l.groups; ++grp) {
          const std::string name = l.groups == 1 ? l.name : l.name + ".g" + std::to_string(grp);
          if (opt.gemm || opt.batch > 1) {
            const int64_t oh = l.out_shape[1], ow = l.out_shape[2];
            t.layers.push_back(
                LayerSpec::Gemm(name, opt.batch * oh * ow, og, l.kernel_h * l.kernel_w * cg));
          } else {
            LayerSpec s;
            s.name = name;
            s.ifmap_h = in[1] + 2 * l.pad_h;
            s.ifmap_w = in[2] + 2 * l.pad_w;
            s.filter_h = l.kernel_h;
            s.filter_w = l.kernel_w;
            s.channels = cg;
            s.num_filters = og;
            s.stride_h = l.stride_h;
            s.stride_w = l.stride_w;
            t.layers.push_back(s);
          }
        }
        break;
      }
      case OpKind::kLinear:
        t.layers.push_back(LayerSpec::Gemm(l.name, opt.batch, l.out_channels, l.in_channels));
        break;
      case OpKind::kInput:
      case OpKind::kFlatten:
        break;
      default:
        t.unmapped.push_back(
            {l.name, std::string(OpKindName(l.kind)), cost.layers[i].other_ops * opt.batch});
        break;
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
