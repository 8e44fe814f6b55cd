// The input transform is a Graph attribute: the default reproduces
// pixel / 255 exactly, a normalizing one reaches the engines, the quantizer
// and the manifest, and model files keep it (older files without it load
// with the default).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "../common/test_models.h"
#include "qaccel/core/file_io.h"
#include "qaccel/engine/engine.h"
#include "qaccel/export/export.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/quant/quantize.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {

InputTransform Normalizing() {
  InputTransform t;
  t.scale = 1.0 / 255.0;
  t.mean = {0.1307};
  t.std = {0.3081};
  return t;
}

// Rewrites a model file without its "input_transform" header field, as the
// files written before the field existed.
void StripInputTransform(const fs::path& p) {
  std::vector<uint8_t> b = ReadBinaryFile(p);
  uint64_t hlen;
  std::memcpy(&hlen, b.data() + 16, 8);
  nlohmann::json h =
      nlohmann::json::parse(b.begin() + 24, b.begin() + 24 + static_cast<int64_t>(hlen));
  h.erase("input_transform");
  const std::string hs = h.dump();
  const size_t old_blob = (24 + hlen + 15) / 16 * 16, new_len = hs.size();
  std::string out(reinterpret_cast<const char*>(b.data()), 16);
  out.append(reinterpret_cast<const char*>(&new_len), 8);
  out += hs;
  out.append((16 - out.size() % 16) % 16, '\0');
  out.append(reinterpret_cast<const char*>(b.data()) + old_blob, b.size() - old_blob);
  std::ofstream(p, std::ios::binary) << out;
}

}  // namespace

TEST(InputTransform, DefaultIsExactlyPixelOver255) {
  const InputTransform t;
  EXPECT_TRUE(t.IsDefault());
  EXPECT_NEAR(Normalizing().Real(255, 0), (1 - 0.1307) / 0.3081, 1e-12);
  EXPECT_EQ(t.Describe(), "pixel/255");
  const std::vector<float> table = t.FloatTable(1);
  for (int p = 0; p < 256; ++p)
    EXPECT_EQ(table[static_cast<size_t>(p)], static_cast<float>(p) / 255.0f);
}

TEST(InputTransform, SavedInModelFilesAndDefaultForOlderOnes) {
  const fs::path dir = qaccel::testing::ScratchDir("input_transform_file");
  Graph g = qaccel::testing::RandomModel("lenet5", 1);
  g.input_transform = Normalizing();
  SaveModel(g, dir / "m.qmodel");
  const Graph back = LoadModel(dir / "m.qmodel");
  EXPECT_EQ(back.input_transform.mean, g.input_transform.mean);
  EXPECT_EQ(back.input_transform.std, g.input_transform.std);
  EXPECT_EQ(back.input_transform.scale, g.input_transform.scale);
  StripInputTransform(dir / "m.qmodel");
  EXPECT_TRUE(LoadModel(dir / "m.qmodel").input_transform.IsDefault());

  g.input_transform.std = {0.3, 0.3};  // lenet5 has 1 input channel
  EXPECT_THROW(g.InferShapes(), Error);
}

TEST(InputTransform, EnginesQuantizerAndManifestReadIt) {
  Graph f = qaccel::testing::RandomModel("lenet5", 4);
  f.input_transform = Normalizing();
  const data::Dataset images = qaccel::testing::SyntheticImages(24, 1, 28, 28, 6);
  engine::Engine fe(f, {1});
  fe.RunTapped(images.image(0), [&](int layer, const float* v, int64_t n) {
    if (layer != 0) return;
    for (int64_t k = 0; k < n; ++k)
      EXPECT_EQ(v[k], static_cast<float>(f.input_transform.Real(images.image(0)[k], 0)));
  });

  quant::QuantizeOptions o;
  o.calibration = 24;
  o.observer = "minmax";
  const Graph q = quant::QuantizeGraph(f, images, o);
  const QuantParams& iq = q.layers[0].quant;  // covers [-0.4242, 2.8215]
  EXPECT_NEAR(iq.out_scale * (127 - iq.out_zero_point), (1 - 0.1307) / 0.3081, 0.02);
  EXPECT_NEAR(iq.out_scale * (-128 - iq.out_zero_point), -0.1307 / 0.3081, 0.02);
  const std::vector<float> fl = fe.Run(images.pixels.data(), images.n);
  const std::vector<float> ql = engine::Engine(q, {1}).Run(images.pixels.data(), images.n);
  int64_t agree = 0;
  for (int64_t i = 0; i < images.n; ++i)
    agree += engine::ArgMax(fl.data() + i * 10, 10) == engine::ArgMax(ql.data() + i * 10, 10);
  EXPECT_GE(agree, images.n * 3 / 4);

  const nlohmann::json m = exporter::BuildManifest(q, {});
  EXPECT_EQ(m["input"]["transform"]["mean"][0], 0.1307);
  EXPECT_EQ(m["input"]["transform"]["std"][0], 0.3081);
  EXPECT_EQ(q.metadata["input_transform"], f.input_transform.Describe());
}
