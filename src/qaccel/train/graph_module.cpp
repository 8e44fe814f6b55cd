// GraphModule (a qaccel::Graph executed by libtorch) and the torch-free
// bridge functions of bridge.h (a libtorch translation unit of train/).
#include "qaccel/train/graph_module.h"

#include <torch/version.h>

#include <algorithm>
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

}  // namespace

GraphModuleImpl::GraphModuleImpl(const Graph& g, const std::string& init) {
  Check(init == "torch" || init == "kaiming",
        "unknown initialization '" + init + "' (torch, kaiming)");
  Check(!g.quantized(), "graph '" + g.name +
                            "' is quantized; the torch bridge needs a float model (train or "
                            "fine-tune the float model, then quantize again)");
  structure_.name = g.name;
  structure_.input_transform = g.input_transform;
  for (const Layer& l : g.layers) {
    Layer s = l;
    s.params.clear();
    structure_.layers.push_back(std::move(s));
  }
  structure_.InferShapes();
  nodes_.resize(structure_.layers.size());
  for (size_t i = 1; i < structure_.layers.size(); ++i) {
    const Layer& l = structure_.layers[i];
    const Shape& in = structure_.layers[static_cast<size_t>(l.inputs.at(0))].out_shape;
    nodes_[i] = FindTorchOp(l)(l, in, init);
    if (nodes_[i].module) register_module(ModuleName(l), nodes_[i].module);
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
  out[0] = x;
  std::vector<torch::Tensor> in;
  for (size_t i = 1; i < layers.size(); ++i) {
    in.clear();
    for (int k : layers[i].inputs) in.push_back(out[static_cast<size_t>(k)]);
    out[i] = nodes_[i].forward(in);
  }
  return out.back();
}

std::vector<torch::Tensor> GraphModuleImpl::forward_outputs(const torch::Tensor& x,
                                                            const std::vector<int>& want) {
  const auto& layers = structure_.layers;
  size_t last = 0;
  for (int k : want) {
    Check(k > 0 && static_cast<size_t>(k) < layers.size(), "forward_outputs: no layer " + std::to_string(k));
    last = std::max(last, static_cast<size_t>(k));
  }
  std::vector<torch::Tensor> out(last + 1);
  out[0] = x;
  std::vector<torch::Tensor> in;
  for (size_t i = 1; i <= last; ++i) {
    in.clear();
    for (int k : layers[i].inputs) in.push_back(out[static_cast<size_t>(k)]);
    out[i] = nodes_[i].forward(in);
  }
  std::vector<torch::Tensor> r;
  for (int k : want) r.push_back(out[static_cast<size_t>(k)]);
  return r;
}

void GraphModuleImpl::LoadParameters(const Graph& g) {
  Check(g.layers.size() == structure_.layers.size(),
        "graph '" + g.name + "' has " + std::to_string(g.layers.size()) +
            " layers, the torch module was built for " + std::to_string(structure_.layers.size()));
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    Check(l.kind == structure_.layers[i].kind && l.name == structure_.layers[i].name,
          Where(l) + ": does not match the torch module's layer " + std::to_string(i));
    if (nodes_[i].load) nodes_[i].load(l);
  }
}

void GraphModuleImpl::StoreParameters(Graph& g) const {
  Check(g.layers.size() == structure_.layers.size(),
        "graph '" + g.name + "': layer count differs from the torch module's");
  for (size_t i = 0; i < g.layers.size(); ++i)
    if (nodes_[i].store) nodes_[i].store(g.layers[i]);
}

torch::Tensor PixelsToInput(const InputTransform& t, const uint8_t* pixels, int64_t n, int64_t c,
                            int64_t h, int64_t w) {
  const std::vector<float> table = t.FloatTable(c);
  torch::Tensor x = torch::empty({n, c, h, w}, torch::kFloat32);
  float* out = x.data_ptr<float>();
  const int64_t hw = h * w;
  for (int64_t k = 0; k < n * c * hw; ++k) out[k] = table[(k / hw) % c * 256 + pixels[k]];
  return x;
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
    auto x = PixelsToInput(m->input_transform(), d.image(start), b, d.c, d.h, d.w);
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
