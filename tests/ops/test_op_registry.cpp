// The op registry is open from outside the library: this file defines a toy
// op, "negate" (out = -in), with shape inference, counting, float and int8
// kernels, a quantization rule and an export record, registers it at run
// time, and runs a graph containing it through every stage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <type_traits>
#include <utility>

#include "../common/test_models.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/engine/engine.h"
#include "qaccel/engine/op_kernel.h"
#include "qaccel/export/export.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/quant/op_quant.h"
#include "qaccel/quant/quantize.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {

// int8: real = s * (q - zp), so -real = s * ((-1 - q) - (-1 - zp)): the
// output keeps the scale, its zero point is -1 - zp and q' = -1 - q, exact.
class NegateKernel : public engine::OpKernel {
 public:
  explicit NegateKernel(int64_t n) : n_(n) {}
  void EvalFloat(const engine::KernelIO<float>& io) const override {
    for (int64_t i = 0; i < n_; ++i) io.out[i] = -io.in[0][i];
  }
  void EvalInt8(const engine::KernelIO<int8_t>& io) const override {
    for (int64_t i = 0; i < n_; ++i) io.out[i] = static_cast<int8_t>(-1 - io.in[0][i]);
  }

 private:
  int64_t n_;
};

OpDef NegateOp() {
  OpDef d;
  d.name = "negate";
  d.infer_shape = [](Layer& l, const std::vector<const Shape*>& in, const std::string&) {
    l.out_shape = *in[0];
  };
  d.count = [](const Layer& l, const std::vector<const Shape*>&) {
    OpCost c;
    c.other_ops = NumElements(l.out_shape);
    return c;
  };
  d.prepare = [](const engine::PrepareContext& c) -> std::unique_ptr<engine::OpKernel> {
    return std::make_unique<NegateKernel>(NumElements(c.layer().out_shape));
  };
  d.quantize = [](quant::OpQuantContext& ctx) {
    const QuantParams& in = ctx.input();
    QuantParams& q = ctx.layer().quant;
    q.out_scale = in.out_scale;
    q.out_zero_point = -1 - in.out_zero_point;
    q.act_min = -1 - in.act_max;
    q.act_max = -1 - in.act_min;
    q.observer = "negated input";
  };
  d.export_record = [](const Graph&, const Layer&) -> nlohmann::json {
    return {{"integer_ops", {"out = -1 - in  (zero point -1 - input_zero_point, same scale)"}}};
  };
  d.array_role = ArrayRole::kUnmapped;
  return d;
}

const OpKind& Negate() {
  static const OpKind kind =
      HasOp("negate") ? FindOp("negate").kind() : RegisterOp(NegateOp()).kind();
  return kind;
}

// input [1, 8, 8] -> conv 4x3x3 -> relu -> negate -> flatten -> linear 5
Graph ModelWithNegate() {
  Graph g;
  g.name = "negate_net";
  int x = g.AddInput("input", {1, 8, 8});
  x = g.AddConv("conv", x, 4, 3);
  x = g.AddRelu("relu", x);
  Layer neg;
  neg.name = "neg";
  neg.kind = Negate();
  neg.inputs = {x};
  g.layers.push_back(neg);
  g.InferLayerShape(g.layers.size() - 1);
  x = static_cast<int>(g.layers.size()) - 1;
  x = g.AddFlatten("flatten", x);
  g.AddLinear("fc", x, 5);
  qaccel::testing::FillRandomFloat(g, 3);
  return g;
}

// The outputs of layers a and b for one image (float or int8 engine).
template <typename T>
std::pair<std::vector<T>, std::vector<T>> TwoLayerOutputs(const engine::Engine& e,
                                                          const uint8_t* image, int a, int b) {
  std::pair<std::vector<T>, std::vector<T>> out;
  auto tap = [&](int layer, const T* v, int64_t n) {
    if (layer == a) out.first.assign(v, v + n);
    if (layer == b) out.second.assign(v, v + n);
  };
  if constexpr (std::is_same_v<T, float>)
    e.RunTapped(image, tap);
  else
    e.RunTappedInt8(image, tap);
  return out;
}

}  // namespace

TEST(OpRegistry, ToyOpRunsThroughEveryStage) {
  const Graph fg = ModelWithNegate();
  const int neg = fg.Find("neg"), relu = fg.Find("relu");
  EXPECT_EQ(fg.layers[neg].out_shape, (Shape{4, 6, 6}));

  // Counting, as `qaccel info` prints it.
  const analysis::GraphCost cost = analysis::Analyze(fg);
  EXPECT_EQ(cost.layers[neg].kind, "negate");
  EXPECT_EQ(cost.layers[neg].other_ops, 4 * 6 * 6);
  EXPECT_NE(analysis::ToTable(cost).find("negate"), std::string::npos);

  // Float engine: the negate layer's output is minus its input.
  const data::Dataset images = qaccel::testing::SyntheticImages(16, 1, 8, 8, 5);
  engine::Engine fe(fg, {1});
  const auto [relu_out, neg_out] = TwoLayerOutputs<float>(fe, images.image(0), relu, neg);
  ASSERT_EQ(neg_out.size(), relu_out.size());
  for (size_t i = 0; i < neg_out.size(); ++i) EXPECT_EQ(neg_out[i], -relu_out[i]);

  // Quantization applies the op's rule.
  quant::QuantizeOptions qo;
  qo.calibration = 16;
  qo.observer = "minmax";
  const Graph qg = quant::QuantizeGraph(fg, images, qo);
  const QuantParams& nq = qg.layers[neg].quant;
  EXPECT_EQ(nq.observer, "negated input");
  EXPECT_EQ(nq.out_zero_point, -1 - qg.layers[relu].quant.out_zero_point);
  EXPECT_EQ(nq.out_scale, qg.layers[relu].quant.out_scale);

  // Int8 engine: q' = -1 - q exactly; the dequantized logits track the float ones.
  engine::Engine qe(qg, {1});
  const auto [qin, qout] = TwoLayerOutputs<int8_t>(qe, images.image(0), relu, neg);
  ASSERT_EQ(qin.size(), qout.size());
  for (size_t i = 0; i < qin.size(); ++i) EXPECT_EQ(qout[i], -1 - qin[i]);
  const std::vector<float> fl = fe.Run(images.pixels.data(), images.n);
  const std::vector<float> ql = qe.Run(images.pixels.data(), images.n);
  float max_abs = 0, max_err = 0;
  for (size_t i = 0; i < fl.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(fl[i]));
    max_err = std::max(max_err, std::fabs(fl[i] - ql[i]));
  }
  EXPECT_LT(max_err, 0.1f * max_abs + 1e-3f);

  // Export, every format: the manifest carries the op's record.
  const fs::path dir = qaccel::testing::ScratchDir("ops_negate_export");
  for (const char* format : {"txt", "hex", "bin"}) {
    exporter::ExportOptions eo;
    eo.format = format;
    exporter::ExportModel(qg, dir / format, eo);
    std::ifstream f(dir / format / "manifest.json");
    const nlohmann::json m = nlohmann::json::parse(f);
    EXPECT_EQ(m["layers"][neg]["kind"], "negate");
    EXPECT_EQ(m["layers"][neg]["integer_ops"].size(), 1u);
    EXPECT_TRUE(fs::exists(dir / format / "neg_scale_zero.txt"));
    EXPECT_TRUE(fs::exists(dir / format / (std::string("fc.weight.") + format)));
  }

  // The simulator lists it beside the array with its op count; the model
  // file round-trips it.
  const accel::Topology t = accel::TopologyFromGraph(qg);
  ASSERT_EQ(t.unmapped.size(), 2u);  // relu, negate
  EXPECT_EQ(t.unmapped[1].kind, "negate");
  EXPECT_EQ(t.unmapped[1].ops, 4 * 6 * 6);
  SaveModel(qg, dir / "q.qmodel");
  const Graph back = LoadModel(dir / "q.qmodel");
  EXPECT_EQ(back.layers[neg].kind, Negate());
  engine::Engine be(back, {1});
  EXPECT_EQ(be.RunInt8(images.pixels.data(), images.n), qe.RunInt8(images.pixels.data(), images.n));
}

TEST(OpRegistry, UnknownKindListsTheRegisteredOnes) {
  try {
    ParseOpKind("conv3d");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d"), std::string::npos);
  }
  EXPECT_THROW(RegisterOp(FindOp("relu")), Error);  // names are unique
}
