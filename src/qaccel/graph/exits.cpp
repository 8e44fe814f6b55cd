// Early exits in a Graph: metadata["exits"] parsing and validation, the trunk
// without its heads, and the branchy zoo models (exits.h).
#include "qaccel/graph/exits.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "qaccel/core/error.h"

namespace qaccel {
namespace {

std::string ExitWhere(const Graph& g, size_t i) {
  return "model '" + g.name + "': metadata.exits[" + std::to_string(i) + "]";
}

}  // namespace

bool HasExits(const Graph& g) {
  return g.metadata.is_object() && g.metadata.contains("exits") && !g.metadata["exits"].empty();
}

std::vector<ExitSpec> ParseExits(const Graph& g) {
  std::vector<ExitSpec> out;
  if (!HasExits(g)) return out;
  const nlohmann::json& js = g.metadata["exits"];
  Check(js.is_array(), "model '" + g.name + "': metadata.exits must be a list");
  std::set<int> head_layers;
  int prev_out = 0;
  for (size_t i = 0; i < js.size(); ++i) {
    const nlohmann::json& j = js[i];
    const std::string w = ExitWhere(g, i);
    Check(j.is_object() && j.contains("name") && j["name"].is_string() && j.contains("attach") &&
              j["attach"].is_string() && j.contains("layers") && j["layers"].is_array() &&
              !j["layers"].empty(),
          w + ": needs a string 'name', a string 'attach' and a non-empty list 'layers'");
    ExitSpec e;
    e.name = j["name"].get<std::string>();
    e.attach = g.Find(j["attach"].get<std::string>());
    Check(e.attach > 0, w + ": attach layer '" + j["attach"].get<std::string>() + "' not found");
    for (const auto& ln : j["layers"]) {
      Check(ln.is_string(), w + ": layer names must be strings");
      const int k = g.Find(ln.get<std::string>());
      Check(k > e.attach, w + ": head layer '" + ln.get<std::string>() +
                              "' not found after the attach layer");
      Check(e.layers.empty() || k > e.layers.back(), w + ": head layers must be in layer order");
      Check(head_layers.insert(k).second, w + ": layer '" + ln.get<std::string>() +
                                             "' belongs to two heads");
      e.layers.push_back(k);
    }
    if (j.contains("threshold")) {
      Check(j["threshold"].is_number(), w + ": threshold must be a number");
      e.threshold = j["threshold"].get<double>();
      Check(std::isfinite(e.threshold) && e.threshold >= 0,
            w + ": threshold must be a finite number >= 0");
    }
    Check(e.output() > prev_out, w + ": exits must be listed in layer order");
    Check(e.output() + 1 < static_cast<int>(g.layers.size()),
          w + ": a side exit cannot be the graph's last layer (that is the final exit)");
    prev_out = e.output();
    out.push_back(std::move(e));
  }
  // Head inputs: the attach layer or the same head; nobody else reads a head.
  for (size_t i = 0; i < out.size(); ++i) {
    const ExitSpec& e = out[i];
    const std::set<int> own(e.layers.begin(), e.layers.end());
    for (int k : e.layers)
      for (int in : g.layers[static_cast<size_t>(k)].inputs)
        Check(in == e.attach || own.count(in),
              ExitWhere(g, i) + ": head layer '" + g.layers[static_cast<size_t>(k)].name +
                  "' reads '" + g.layers[static_cast<size_t>(in)].name +
                  "', which is neither the attach layer nor in the head");
    for (size_t k = 0; k < g.layers.size(); ++k) {
      if (own.count(static_cast<int>(k))) continue;
      for (int in : g.layers[k].inputs)
        Check(!own.count(in), ExitWhere(g, i) + ": layer '" + g.layers[k].name +
                                  "' outside the head reads head layer '" +
                                  g.layers[static_cast<size_t>(in)].name + "'");
    }
    if (!g.layers.back().out_shape.empty()) {
      const Shape& s = g.layers[static_cast<size_t>(e.output())].out_shape;
      Check(s.size() == 1 && s == g.output_shape(),
            ExitWhere(g, i) + ": the head's logits must have the output's shape " +
                ShapeToString(g.output_shape()) + ", not " + ShapeToString(s));
    }
  }
  return out;
}

void SetExitThresholds(Graph& g, const std::vector<double>& thresholds) {
  std::vector<ExitSpec> ex = ParseExits(g);
  Check(thresholds.size() == ex.size(), "model '" + g.name + "' has " +
                                            std::to_string(ex.size()) + " side exits but " +
                                            std::to_string(thresholds.size()) +
                                            " thresholds were given");
  for (size_t i = 0; i < ex.size(); ++i) {
    Check(std::isfinite(thresholds[i]) && thresholds[i] >= 0, "exit thresholds must be >= 0");
    g.metadata["exits"][i]["threshold"] = thresholds[i];
  }
}

std::vector<int> ExitHeadLayers(const Graph& g) {
  std::vector<int> h;
  for (const ExitSpec& e : ParseExits(g)) h.insert(h.end(), e.layers.begin(), e.layers.end());
  std::sort(h.begin(), h.end());
  return h;
}

Graph StripExits(const Graph& g) {
  const std::vector<int> heads = ExitHeadLayers(g);
  Graph t;
  t.name = g.name;
  t.metadata = g.metadata;
  t.metadata.erase("exits");
  t.input_transform = g.input_transform;
  std::vector<int> remap(g.layers.size(), -1);
  for (size_t i = 0; i < g.layers.size(); ++i) {
    if (std::binary_search(heads.begin(), heads.end(), static_cast<int>(i))) continue;
    Layer l = g.layers[i];
    for (int& in : l.inputs) in = remap[static_cast<size_t>(in)];
    remap[i] = static_cast<int>(t.layers.size());
    t.layers.push_back(std::move(l));
  }
  return t;
}

std::vector<double> CheckExitWeights(const Graph& g, const std::vector<double>& weights) {
  const size_t n = ParseExits(g).size() + 1;
  if (weights.empty()) return std::vector<double>(n, 1.0);
  Check(weights.size() == n,
        "--exit-weights: " + std::to_string(weights.size()) + " weight(s) given, model '" +
            g.name + "' has " + std::to_string(n) + " exit(s) (" + std::to_string(n - 1) +
            " side exit(s), then the final output)");
  double sum = 0;
  for (double w : weights) {
    Check(std::isfinite(w) && w >= 0, "--exit-weights: each weight must be finite and >= 0");
    sum += w;
  }
  Check(sum > 0, "--exit-weights: at least one weight must be > 0");
  return weights;
}

int CopyTrunkParameters(Graph& g, const Graph& from) {
  Check(!from.quantized(), "--trunk: model '" + from.name + "' is quantized; give its float model");
  int copied = 0;
  for (const Layer& src : from.layers) {
    if (src.params.empty()) continue;
    const int k = g.Find(src.name);
    if (k < 0) continue;
    Layer& dst = g.layers[static_cast<size_t>(k)];
    if (!(dst.kind == src.kind)) continue;
    bool ok = true;
    for (const auto& [pn, t] : src.params) ok = ok && t.shape() == ExpectedParamShape(dst, pn);
    if (!ok) continue;
    dst.params = src.params;
    ++copied;
  }
  Check(copied > 0, "--trunk: no layer of '" + from.name + "' matches a layer of '" + g.name + "'");
  return copied;
}

void RecordExit(Graph& g, const std::string& name, int attach, int first, int last) {
  nlohmann::json layers = nlohmann::json::array();
  for (int k = first; k <= last; ++k) layers.push_back(g.layers[static_cast<size_t>(k)].name);
  if (!g.metadata.contains("exits")) g.metadata["exits"] = nlohmann::json::array();
  g.metadata["exits"].push_back({{"name", name},
                                 {"attach", g.layers[static_cast<size_t>(attach)].name},
                                 {"layers", layers},
                                 {"threshold", 0.0}});
}

namespace {
int64_t Or(int64_t v, int64_t d) { return v > 0 ? v : d; }
}  // namespace

Graph BuildLenet5Branchy(const ZooOptions& opt) {
  const int64_t classes = Or(opt.num_classes, 10);
  Graph g;
  g.name = "lenet5-branchy";
  int x = g.AddInput("input", {Or(opt.in_channels, 1), Or(opt.height, 28), Or(opt.width, 28)});
  x = g.AddConv("conv1", x, 6, 5, 1, 2);
  x = g.AddRelu("relu1", x);
  x = g.AddAvgPool("pool1", x, 2, 2);
  AddExitHead(g, "exit1", x, [&](Graph& gg, int a) {
    int y = gg.AddConv("exit1.conv", a, 8, 2, 2, 0);
    y = gg.AddRelu("exit1.relu", y);
    y = gg.AddFlatten("exit1.flatten", y);
    return gg.AddLinear("exit1.fc", y, classes);
  });
  x = g.AddConv("conv2", x, 16, 5);
  x = g.AddRelu("relu2", x);
  x = g.AddAvgPool("pool2", x, 2, 2);
  x = g.AddFlatten("flatten", x);
  x = g.AddLinear("fc1", x, 120);
  x = g.AddRelu("relu3", x);
  x = g.AddLinear("fc2", x, 84);
  x = g.AddRelu("relu4", x);
  g.AddLinear("fc3", x, classes);
  return g;
}

Graph BuildResnet20Branchy(const ZooOptions& opt) {
  const int64_t classes = Or(opt.num_classes, 10);
  Graph g;
  g.name = "resnet20-branchy";
  int x = AddResnet20Body(g, opt, [&](int s, int out) {
    if (s == 2) return;  // the final exit is the trunk's own
    const std::string e = "exit" + std::to_string(s + 1);
    const int64_t width = g.layers[static_cast<size_t>(out)].out_shape[0];
    AddExitHead(g, e, out, [&](Graph& gg, int a) {
      int y = gg.AddConv(e + ".conv", a, width, 2, 2, 0, false);
      y = gg.AddBatchNorm(e + ".bn", y);
      y = gg.AddRelu(e + ".relu", y);
      y = gg.AddGlobalAvgPool(e + ".avgpool", y);
      return gg.AddLinear(e + ".fc", y, classes);
    });
  });
  x = g.AddGlobalAvgPool("avgpool", x);
  g.AddLinear("fc", x, classes);
  return g;
}

}  // namespace qaccel
