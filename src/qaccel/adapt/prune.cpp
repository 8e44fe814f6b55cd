#include "qaccel/adapt/prune.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "qaccel/core/error.h"

namespace qaccel::adapt {
namespace {

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int x) {
    while (parent[static_cast<size_t>(x)] != x)
      x = parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    return x;
  }
  void Union(int a, int b) {
    a = Find(a), b = Find(b);
    if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  }
};

bool IsProducer(const Layer& l) {
  return l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear;
}

// Ops that pass every channel through unchanged (one output channel per input channel).
bool IsChannelwise(const Layer& l) {
  return l.kind == OpKind::kRelu || l.kind == OpKind::kBatchNorm ||
         l.kind == OpKind::kMaxPool2d || l.kind == OpKind::kAvgPool2d ||
         l.kind == OpKind::kGlobalAvgPool;
}

Tensor SliceDim(const Tensor& t, size_t dim, const std::vector<int64_t>& keep, int64_t inner_block) {
  // Keeps, along `dim`, the blocks of `inner_block` consecutive indices
  // keep[i]*inner_block .. +inner_block-1 (inner_block = 1: plain indices).
  Shape s = t.shape();
  const int64_t outer = NumElements(Shape(s.begin(), s.begin() + static_cast<long>(dim)));
  const int64_t inner = NumElements(Shape(s.begin() + static_cast<long>(dim) + 1, s.end()));
  const int64_t n = s[dim];
  Shape ns = s;
  ns[dim] = static_cast<int64_t>(keep.size()) * inner_block;
  Tensor out(DType::kF32, ns);
  auto src = t.data<float>();
  auto dst = out.data<float>();
  size_t o = 0;
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t k : keep)
      for (int64_t j = 0; j < inner_block; ++j) {
        const float* p = src.data() + (a * n + k * inner_block + j) * inner;
        std::copy(p, p + inner, dst.data() + o);
        o += static_cast<size_t>(inner);
      }
  return out;
}

}  // namespace

std::vector<Block> FindBlocks(const Graph& g) {
  Check(!g.quantized(), "model '" + g.name + "' is quantized; adapt a float model");
  const size_t n = g.layers.size();
  std::vector<int> src(n, -1);       // producer whose channels layer i's output carries; -1: none
  std::vector<int64_t> hw(n, 1);     // input positions per channel in layer i's output (flatten)
  UnionFind uf(n);
  std::set<int> fixed;               // producers (any member of a group) that may not be pruned
  std::vector<std::pair<int, int>> bn_of;                   // (producer, batchnorm)
  std::vector<std::tuple<int, int, int64_t>> consumer_of;   // (producer, consumer, positions)
  auto fix = [&](int p) {
    if (p >= 0) fixed.insert(p);
  };
  for (size_t i = 0; i < n; ++i) {
    const Layer& l = g.layers[i];
    const int in0 = l.inputs.empty() ? -1 : l.inputs[0];
    const int s0 = in0 >= 0 ? src[static_cast<size_t>(in0)] : -1;
    if (l.kind == OpKind::kInput) continue;
    if (IsProducer(l)) {
      if (l.kind == OpKind::kConv2d && l.groups != 1) {
        fix(s0);
        fixed.insert(static_cast<int>(i));
      } else if (s0 >= 0) {
        consumer_of.emplace_back(s0, static_cast<int>(i), hw[static_cast<size_t>(in0)]);
      }
      src[i] = static_cast<int>(i);
    } else if (IsChannelwise(l)) {
      src[i] = s0;
      if (l.kind == OpKind::kBatchNorm && s0 >= 0) bn_of.emplace_back(s0, static_cast<int>(i));
    } else if (l.kind == OpKind::kFlatten) {
      src[i] = s0;
      const Shape& in_shape = g.layers[static_cast<size_t>(in0)].out_shape;
      hw[i] = in_shape.size() == 3 ? in_shape[1] * in_shape[2] : hw[static_cast<size_t>(in0)];
    } else if (l.kind == OpKind::kAdd) {
      const int s1 = src[static_cast<size_t>(l.inputs.at(1))];
      if (s0 < 0 || s1 < 0) {
        fix(s0), fix(s1);
      } else {
        uf.Union(s0, s1);
      }
      src[i] = s0 >= 0 ? s0 : s1;
      hw[i] = hw[static_cast<size_t>(in0)];
    } else {  // an op this file does not know: its inputs keep their widths
      for (int in : l.inputs) fix(src[static_cast<size_t>(in)]);
      src[i] = -1;
    }
  }
  fix(src[n - 1]);  // the network output
  std::set<int> fixed_roots;
  for (int p : fixed) fixed_roots.insert(uf.Find(p));

  std::map<int, Block> by_root;
  for (size_t i = 0; i < n; ++i) {
    if (!IsProducer(g.layers[i])) continue;
    const int root = uf.Find(static_cast<int>(i));
    if (fixed_roots.count(root)) continue;
    Block& b = by_root[root];
    b.producers.push_back(static_cast<int>(i));
    b.width = g.layers[i].out_channels;
  }
  for (auto [p, bn] : bn_of) {
    auto it = by_root.find(uf.Find(p));
    if (it != by_root.end()) it->second.batchnorms.push_back(bn);
  }
  for (auto [p, c, pos] : consumer_of) {
    auto it = by_root.find(uf.Find(p));
    if (it != by_root.end()) it->second.consumers.emplace_back(c, pos);
  }
  std::vector<Block> blocks;
  for (auto& [root, b] : by_root) {
    b.name = g.layers[static_cast<size_t>(b.producers[0])].name;
    if (b.producers.size() > 1) {
      b.name += '+';
      b.name += std::to_string(b.producers.size() - 1);
    }
    blocks.push_back(std::move(b));
  }
  std::sort(blocks.begin(), blocks.end(),
            [](const Block& a, const Block& b) { return a.producers[0] < b.producers[0]; });
  return blocks;
}

std::vector<int64_t> ChannelsToKeep(const Graph& g, const Block& b, int64_t width) {
  Check(width >= 1 && width <= b.width, "block " + b.name + ": cannot keep " +
                                            std::to_string(width) + " of " +
                                            std::to_string(b.width) + " channels");
  std::vector<double> norm2(static_cast<size_t>(b.width), 0.0);
  bool have = false;
  for (int p : b.producers) {
    const Layer& l = g.layers[static_cast<size_t>(p)];
    auto it = l.params.find("weight");
    if (it == l.params.end()) continue;
    have = true;
    auto w = it->second.data<float>();
    const size_t per = w.size() / static_cast<size_t>(b.width);
    for (size_t c = 0; c < static_cast<size_t>(b.width); ++c)
      for (size_t k = 0; k < per; ++k) norm2[c] += double(w[c * per + k]) * double(w[c * per + k]);
  }
  std::vector<int64_t> order(static_cast<size_t>(b.width));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (have)
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return norm2[static_cast<size_t>(x)] > norm2[static_cast<size_t>(y)];
    });
  order.resize(static_cast<size_t>(width));
  std::sort(order.begin(), order.end());
  return order;
}

void PruneBlockChannels(Graph& g, const Block& b, const std::vector<int64_t>& keep) {
  const int64_t k = static_cast<int64_t>(keep.size());
  for (int p : b.producers) {
    Layer& l = g.layers[static_cast<size_t>(p)];
    l.out_channels = k;
    for (auto& [name, t] : l.params) t = SliceDim(t, 0, keep, 1);  // weight [O, ...], bias [O]
  }
  for (int bn : b.batchnorms) {
    Layer& l = g.layers[static_cast<size_t>(bn)];
    l.in_channels = l.out_channels = k;
    for (auto& [name, t] : l.params) t = SliceDim(t, 0, keep, 1);
  }
  for (auto [c, pos] : b.consumers) {
    Layer& l = g.layers[static_cast<size_t>(c)];
    l.in_channels = k * pos;
    auto it = l.params.find("weight");
    if (it != l.params.end()) it->second = SliceDim(it->second, 1, keep, pos);
  }
  g.InferShapes();
}

void PruneBlock(Graph& g, const Block& b, int64_t width) {
  PruneBlockChannels(g, b, ChannelsToKeep(g, b, width));
}

Graph StructureOf(const Graph& g) {
  Graph s = g;
  for (Layer& l : s.layers) l.params.clear();
  return s;
}

}  // namespace qaccel::adapt
