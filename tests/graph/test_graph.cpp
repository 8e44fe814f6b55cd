#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "qaccel/core/rng.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {
void FillRandom(Graph& g, DType weight_type) {
  Rng rng(1);
  for (auto& l : g.layers) {
    if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear) continue;
    Tensor w(weight_type, ExpectedParamShape(l, "weight"));
    if (weight_type == DType::kF32)
      for (auto& v : w.data<float>()) v = static_cast<float>(rng.Normal());
    else
      for (auto& v : w.data<int8_t>()) v = static_cast<int8_t>(rng.Below(256) - 128);
    l.params["weight"] = w;
    if (l.has_bias)
      l.params["bias"] = Tensor(weight_type == DType::kF32 ? DType::kF32 : DType::kI32,
                                ExpectedParamShape(l, "bias"));
  }
}
}  // namespace

TEST(Graph, Lenet5Shapes) {
  Graph g = BuildZooModel("lenet5");
  EXPECT_EQ(g.layers[g.Find("conv1")].out_shape, (Shape{6, 28, 28}));
  EXPECT_EQ(g.layers[g.Find("pool2")].out_shape, (Shape{16, 5, 5}));
  EXPECT_EQ(g.layers[g.Find("flatten")].out_shape, (Shape{400}));
  EXPECT_EQ(g.output_shape(), (Shape{10}));
}

TEST(Graph, RejectsInconsistentShapes) {
  Graph g = BuildZooModel("lenet5");
  g.layers[g.Find("fc1")].in_channels = 399;
  EXPECT_THROW(g.InferShapes(), Error);
  Graph h = BuildZooModel("lenet5");
  h.layers[h.Find("conv1")].params["weight"] = Tensor(DType::kF32, {6, 1, 3, 3});
  try {
    h.InferShapes();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv1"), std::string::npos);
  }
}

TEST(ModelFile, RoundTripAndInt8IsAQuarter) {
  fs::path dir = fs::temp_directory_path() / ("qaccel_test_model_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Graph f = BuildZooModel("lenet5");
  FillRandom(f, DType::kF32);
  f.metadata["seed"] = 7;
  SaveModel(f, dir / "m.float");
  Graph back = LoadModel(dir / "m.float");
  ASSERT_EQ(back.layers.size(), f.layers.size());
  auto a = f.layers[1].params["weight"].data<float>();
  auto b = back.layers[1].params["weight"].data<float>();
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  EXPECT_EQ(back.metadata["seed"], 7);

  Graph q = BuildZooModel("lenet5");
  FillRandom(q, DType::kI8);
  for (auto& l : q.layers) {
    l.quant.quantized = true;
    l.quant.multiplier = {1 << 30};
    l.quant.shift = {-3};
  }
  SaveModel(q, dir / "m.int8");
  Graph qb = LoadModel(dir / "m.int8");
  EXPECT_TRUE(qb.quantized());
  EXPECT_EQ(qb.layers[1].quant.shift[0], -3);
  double ratio =
      static_cast<double>(fs::file_size(dir / "m.int8")) / fs::file_size(dir / "m.float");
  EXPECT_LT(ratio, 0.30) << "int8 file must be at most 30% of the fp32 one";
  fs::remove_all(dir);
}

TEST(ModelFile, RejectsCorruptFiles) {
  fs::path dir =
      fs::temp_directory_path() / ("qaccel_test_model_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Graph f = BuildZooModel("lenet5");
  FillRandom(f, DType::kF32);
  SaveModel(f, dir / "ok.qmodel");
  auto size = fs::file_size(dir / "ok.qmodel");
  fs::copy_file(dir / "ok.qmodel", dir / "trunc.qmodel");
  fs::resize_file(dir / "trunc.qmodel", size / 2);
  EXPECT_THROW(LoadModel(dir / "trunc.qmodel"), Error);
  EXPECT_THROW(LoadModel(dir / "missing.qmodel"), Error);
  EXPECT_THROW(LoadModelOrZoo("not-a-model"), Error);
  fs::remove_all(dir);
}
