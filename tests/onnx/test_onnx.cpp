// ONNX import and export against the real tools (docs/interop.md):
//   - PyTorch (/usr/bin/python3, python3-torch) writes LeNet-5 and a
//     BatchNorm/residual/MatMul net with torch.onnx.export at test time;
//     qaccel's float engine must match PyTorch's logits within 1e-5;
//   - ONNX Runtime (npm onnxruntime-node) runs qaccel's float export with the
//     same logits and its QDQ export with >= 99.5% top-1 agreement;
//   - unsupported nodes and malformed files give one clear line.
// The tools missing -> GTEST_SKIP with the reason.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../common/test_models.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/onnx/onnx_io.h"
#include "qaccel/quant/quantize.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {

const char* kPython = "/usr/bin/python3";

fs::path TempDir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("qaccel_onnx_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

bool HaveTorch() {
  static const bool ok = Shell(std::string(kPython) + " -c 'import torch'") == 0;
  return ok;
}

fs::path OrtModule() {
  if (const char* e = std::getenv("QACCEL_ORT_MODULE")) return e;
  return fs::path(QACCEL_SOURCE_DIR) / "third_party/npm/node_modules/onnxruntime-node";
}
bool HaveOrt() {
  static const bool ok = fs::exists(OrtModule() / "package.json") && Shell("node --version") == 0;
  return ok;
}

std::vector<float> ReadF32(const fs::path& p) {
  const auto b = ReadBinaryFile(p);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// Runs tests/onnx/torch_to_onnx.py once per argument set; returns its output
// directory, kept in onnx_models/ beside the test binary (generated, never
// committed) and reused while newer than the script. Written to a temporary
// sibling and renamed, so tests running in parallel never see half of it.
fs::path TorchExport(const std::string& model, int opset, int epochs, int limit) {
  const fs::path script = fs::path(QACCEL_SOURCE_DIR) / "tests/onnx/torch_to_onnx.py";
  const fs::path dir = fs::read_symlink("/proc/self/exe").parent_path() / "onnx_models" /
                       (model + "_opset" + std::to_string(opset) + "_epochs" +
                        std::to_string(epochs) + "_limit" + std::to_string(limit));
  std::error_code ec;
  if (fs::exists(dir / "info.json") &&
      fs::last_write_time(dir / "info.json") > fs::last_write_time(script))
    return dir;
  const fs::path tmp = dir.string() + ".tmp" + std::to_string(::getpid());
  fs::remove_all(tmp);
  const std::string cmd = std::string(kPython) + " " + script.string() + " --model " + model +
                          " --opset " + std::to_string(opset) + " --epochs " +
                          std::to_string(epochs) + " --limit " + std::to_string(limit) + " --out " +
                          tmp.string();
  EXPECT_EQ(Shell(cmd), 0) << cmd;
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp);  // another test renamed the same export into place first
  return dir;
}

// The mnist images torch_to_onnx.py used (qaccel's split, as raw bytes).
data::Dataset Images(const fs::path& dir, const std::string& split) {
  data::Dataset d;
  d.name = "mnist/" + split;
  d.c = 1, d.h = 28, d.w = 28;
  d.pixels = ReadBinaryFile(dir / (split + "_images.u8"));
  d.labels = ReadBinaryFile(dir / (split + "_labels.u8"));
  d.n = static_cast<int64_t>(d.labels.size());
  EXPECT_EQ(d.pixels.size(), d.labels.size() * 784);
  return d;
}

int Argmax(const float* p, int64_t n) { return static_cast<int>(std::max_element(p, p + n) - p); }

struct Diff {
  double max_abs = 0;
  int64_t argmax_equal = 0;
};
Diff Compare(const std::vector<float>& a, const std::vector<float>& b, int64_t classes) {
  Diff d;
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    d.max_abs = std::max(d.max_abs, std::abs(double(a[i]) - double(b[i])));
  for (size_t i = 0; i + classes <= std::min(a.size(), b.size()); i += classes)
    d.argmax_equal += Argmax(&a[i], classes) == Argmax(&b[i], classes);
  return d;
}

// Logits of ONNX Runtime on the first n test images.
std::vector<float> RunOrt(const fs::path& model, const data::Dataset& ds, int64_t n,
                          const std::string& level = "all") {
  const fs::path dir = model.parent_path();  // a test's own directory
  AtomicWriteBinary(dir / "pixels.u8", ds.pixels.data(), static_cast<size_t>(n * ds.image_size()));
  const std::string cmd = "QACCEL_ORT_MODULE=" + OrtModule().string() + " node " +
                          QACCEL_SOURCE_DIR + "/tests/onnx/ort_run.js " + model.string() + " " +
                          (dir / "pixels.u8").string() + " " + std::to_string(n) + " " +
                          std::to_string(ds.c) + " " + std::to_string(ds.h) + " " +
                          std::to_string(ds.w) + " " + (dir / "ort.f32").string() + " " + level;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return ReadF32(dir / "ort.f32");
}

std::string ImportError(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  try {
    onnxio::ImportOnnx(std::vector<uint8_t>(s.begin(), s.end()), "t.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A one-Conv model: input [N, 1, 8, 8], weight [2, 1, 3, 3].
onnx::ModelProto TinyConv() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 1, 8, 8}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int d : {2, 1, 3, 3}) w->add_dims(d);
  for (int i = 0; i < 18; ++i) w->add_float_data(0.1f * static_cast<float>(i));
  auto* n = g->add_node();
  n->set_name("conv_a");
  n->set_op_type("Conv");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

}  // namespace

TEST(OnnxImport, TorchLenet5MatchesPyTorchLogits) {
  if (!HaveTorch()) GTEST_SKIP() << "no torch in /usr/bin/python3 (apt-get install python3-torch)";
  for (int opset : {9, 13, 17}) {
    const fs::path dir = TorchExport("lenet5", opset, 0, 200);
    Graph g = LoadModel(dir / "model.onnx");  // the hook every command uses
    ASSERT_EQ(g.layers.size(), 13u) << "opset " << opset;
    EXPECT_TRUE(g.input_transform.IsDefault());
    const std::vector<float> want = ReadF32(dir / "logits.f32");
    engine::Engine e(g, {1, false});
    const std::vector<float> got = e.Run(Images(dir, "test").pixels.data(), 200);
    const Diff d = Compare(got, want, 10);
    EXPECT_LE(d.max_abs, 1e-5) << "opset " << opset;
    EXPECT_EQ(d.argmax_equal, 200);
    std::printf("lenet5 opset %d: max |dlogit| vs PyTorch = %.3g on 200 images\n", opset,
                d.max_abs);
  }
}

// x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(OnnxImport, TorchViewBySizeIsAFlatten) {
  if (!HaveTorch()) GTEST_SKIP() << "no torch in /usr/bin/python3 (apt-get install python3-torch)";
  for (int opset : {11, 13}) {  // Unsqueeze's axes: an attribute, then an input
    const fs::path dir = TorchExport("lenet5view", opset, 0, 50);
    Graph g = LoadModel(dir / "model.onnx");
    ASSERT_EQ(g.layers.size(), 13u) << "opset " << opset;
    EXPECT_EQ(g.layers[7].kind, OpKind::kFlatten);
    engine::Engine e(g, {1, false});
    const Diff d =
        Compare(e.Run(Images(dir, "test").pixels.data(), 50), ReadF32(dir / "logits.f32"), 10);
    EXPECT_LE(d.max_abs, 1e-5) << "opset " << opset;
  }
}

TEST(OnnxImport, TorchBatchNormResidualMatMulNet) {
  if (!HaveTorch()) GTEST_SKIP() << "no torch in /usr/bin/python3 (apt-get install python3-torch)";
  for (int opset : {9, 17}) {
    const fs::path dir = TorchExport("bnnet", opset, 0, 200);
    Graph g = LoadModel(dir / "model.onnx");
    // (x - 0.1307) / 0.3081 became the input transform.
    ASSERT_EQ(g.input_transform.mean.size(), 1u);
    EXPECT_NEAR(g.input_transform.mean[0], 0.1307, 1e-6);
    EXPECT_NEAR(g.input_transform.std[0], 0.3081, 1e-6);
    int bn = 0, add = 0, gap = 0;
    for (const Layer& l : g.layers) {
      bn += l.kind == OpKind::kBatchNorm;
      add += l.kind == OpKind::kAdd;
      gap += l.kind == OpKind::kGlobalAvgPool;
    }
    EXPECT_EQ(bn, 2);
    EXPECT_EQ(add, 1);
    EXPECT_EQ(gap, 1);
    EXPECT_TRUE(g.layers.back().has_bias);  // MatMul + Add -> one linear layer
    engine::Engine e(g, {1, false});
    const Diff d =
        Compare(e.Run(Images(dir, "test").pixels.data(), 200), ReadF32(dir / "logits.f32"), 10);
    EXPECT_LE(d.max_abs, 1e-5) << "opset " << opset;
    EXPECT_EQ(d.argmax_equal, 200);
  }
}

TEST(OnnxImport, CliImportWritesAQmodel) {
  if (!HaveTorch()) GTEST_SKIP() << "no torch in /usr/bin/python3 (apt-get install python3-torch)";
  const fs::path dir = TorchExport("lenet5", 9, 0, 200), work = TempDir("cli");
  auto r = qaccel::testing::RunCli(
      "import " + (dir / "model.onnx").string() + " -o " + (work / "m.qmodel").string(), work);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("416520 MACs"), std::string::npos) << r.out;
  EXPECT_EQ(LoadModel(work / "m.qmodel").layers.size(), 13u);
  r = qaccel::testing::RunCli("info " + (dir / "model.onnx").string(),
                              dir);  // .onnx taken directly
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(OnnxImport, UnsupportedNodesAreOneLineNamingNodeOpAndAttribute) {
  onnx::ModelProto m = TinyConv();
  auto* dil = m.mutable_graph()->mutable_node(0)->add_attribute();
  dil->set_name("dilations");
  dil->set_type(onnx::AttributeProto::INTS);
  dil->add_ints(2);
  dil->add_ints(2);
  EXPECT_EQ(ImportError(m),
            "t.onnx: node 'conv_a' (Conv): attribute 'dilations' = 2 is not supported (only 1)");

  m = TinyConv();
  m.mutable_graph()->mutable_node(0)->set_op_type("Softmax");
  EXPECT_NE(ImportError(m).find("t.onnx: node 'conv_a' (Softmax): op type not supported"),
            std::string::npos);

  m = TinyConv();
  auto* pads = m.mutable_graph()->mutable_node(0)->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int p : {0, 0, 1, 1}) pads->add_ints(p);
  EXPECT_NE(
      ImportError(m).find("node 'conv_a' (Conv): attribute 'pads' = [0, 0, 1, 1] is asymmetric"),
      std::string::npos);

  m = TinyConv();
  m.mutable_opset_import(0)->set_version(18);
  EXPECT_EQ(ImportError(m), "t.onnx: opset 18 is not supported (9 to 17)");

  EXPECT_EQ(ImportError(TinyConv()), "");
}

TEST(OnnxImport, MalformedFilesGiveOneLine) {
  std::string s;
  TinyConv().SerializeToString(&s);
  // Truncated in the middle of the initializer.
  std::vector<uint8_t> cut(s.begin(), s.begin() + static_cast<long>(s.size() / 2));
  try {
    onnxio::ImportOnnx(cut, "cut.onnx");
    FAIL() << "truncated file accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    EXPECT_EQ(std::string(e.what()).rfind("cut.onnx: ", 0), 0u) << e.what();
  }
  // Dimensions that promise far more data than the file holds.
  onnx::ModelProto m = TinyConv();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->set_dims(0, int64_t{1} << 40);
  EXPECT_NE(ImportError(m).find("dimension 1099511627776 out of range"), std::string::npos);
  w->set_dims(0, 1 << 20);
  EXPECT_NE(ImportError(m).find("holds 18 values, expected"), std::string::npos);
  // Garbage.
  EXPECT_NE(ImportError(onnx::ModelProto()).find("t.onnx: no opset"), std::string::npos);
  const std::vector<uint8_t> junk = {0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_THROW(onnxio::ImportOnnx(junk, "junk.onnx"), Error);
}

TEST(OnnxExport, RoundTripKeepsTheFloatGraph) {
  Graph g = qaccel::testing::RandomModel("resnet20", 3);
  g.input_transform.mean = {0.5};
  g.input_transform.std = {0.25};
  const fs::path dir = TempDir("roundtrip");
  onnxio::ExportOnnxFile(g, dir / "r.onnx");
  Graph back = LoadModel(dir / "r.onnx");
  ASSERT_EQ(back.layers.size(), g.layers.size());
  EXPECT_NEAR(back.input_transform.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(back.input_transform.std[0], 0.25, 1e-6);
  std::vector<uint8_t> pixels(50 * 784);
  Rng rng(5);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng.Uniform01() * 255.0);
  Graph g28 = qaccel::testing::RandomModel("lenet5", 4);
  onnxio::ExportOnnxFile(g28, dir / "l.onnx");
  Graph l28 = LoadModel(dir / "l.onnx");
  engine::Engine a(g28, {1, false}), b(l28, {1, false});
  EXPECT_EQ(a.Run(pixels.data(), 50), b.Run(pixels.data(), 50));  // bit-identical
}

// A trained LeNet-5 (3 epochs in PyTorch, seed 1), imported, quantized by qaccel,
// exported as float and QDQ ONNX and run by ONNX Runtime on every test image.
TEST(OnnxExport, OnnxRuntimeRunsFloatAndQdqExports) {
  if (!HaveTorch()) GTEST_SKIP() << "no torch in /usr/bin/python3 (apt-get install python3-torch)";
  if (!HaveOrt()) GTEST_SKIP() << "no onnxruntime-node in third_party/npm (bash scripts/deps)";
  const fs::path dir = TorchExport("lenet5", 13, 3, 0), work = TempDir("ort");
  const Graph g = LoadModel(dir / "model.onnx");
  const data::Dataset test = Images(dir, "test"), train = Images(dir, "train");
  const int64_t n = test.n;
  // qaccel's float engine vs PyTorch on every test image, and the accuracy.
  engine::Engine fe(g, {1, false});
  const std::vector<float> qf = fe.Run(test.pixels.data(), n);
  const Diff dt = Compare(qf, ReadF32(dir / "logits.f32"), 10);
  EXPECT_LE(dt.max_abs, 1e-5);
  EXPECT_EQ(dt.argmax_equal, n);

  onnxio::ExportOnnxFile(g, work / "float.onnx");
  const Diff df = Compare(RunOrt(work / "float.onnx", test, n), qf, 10);
  EXPECT_LE(df.max_abs, 1e-5);
  EXPECT_EQ(df.argmax_equal, n);

  quant::QuantizeOptions qo;
  qo.calibration = 1000;  // qaccel quantize's defaults: histogram, per-channel
  const Graph q = quant::QuantizeGraph(g, train, qo);
  onnxio::ExportOnnxFile(q, work / "qdq.onnx");
  engine::Engine qe(q, {1, false});
  const std::vector<float> qi = qe.Run(test.pixels.data(), n);
  for (const std::string level : {"all", "disabled"}) {
    const std::vector<float> ort = RunOrt(work / "qdq.onnx", test, n, level);
    const Diff dq = Compare(ort, qi, 10);
    // Logit differences in units of the output scale (one int8 step).
    const double steps = dq.max_abs / q.layers.back().quant.out_scale;
    int64_t differ = 0;
    for (size_t i = 0; i < ort.size(); ++i) differ += ort[i] != qi[i];
    std::printf(
        "QDQ in ONNX Runtime (%s): top-1 agreement %lld/%lld = %.2f%%, max |dlogit| = "
        "%.4g (%.1f output steps), %lld of %zu logits differ; float export max |dlogit| "
        "%.3g; vs PyTorch %.3g\n",
        level.c_str(), static_cast<long long>(dq.argmax_equal), static_cast<long long>(n),
        100.0 * double(dq.argmax_equal) / double(n), dq.max_abs, steps,
        static_cast<long long>(differ), ort.size(), df.max_abs, dt.max_abs);
    EXPECT_GE(double(dq.argmax_equal), 0.995 * double(n)) << level;
  }
}

TEST(OnnxImport, CliErrorsAreOneLineAndExitOne) {
  const fs::path dir = TempDir("cli_errors");
  std::string s;
  onnx::ModelProto m = TinyConv();
  auto* dil = m.mutable_graph()->mutable_node(0)->add_attribute();
  dil->set_name("dilations");
  dil->set_type(onnx::AttributeProto::INTS);
  dil->add_ints(2);
  m.SerializeToString(&s);
  AtomicWriteBinary(dir / "dilated.onnx", s.data(), s.size());
  auto r = qaccel::testing::RunCli(
      "import " + (dir / "dilated.onnx").string() + " -o " + (dir / "x.qmodel").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "qaccel import: error: " + (dir / "dilated.onnx").string() +
                       ": node 'conv_a' (Conv): attribute 'dilations' = 2 is not supported (only "
                       "1)\n");
  EXPECT_FALSE(fs::exists(dir / "x.qmodel"));
  TinyConv().SerializeToString(&s);
  AtomicWriteBinary(dir / "cut.onnx", s.data(), s.size() - 7);
  r = qaccel::testing::RunCli(
      "quantize " + (dir / "cut.onnx").string() + " -o " + (dir / "q.qmodel").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("cut.onnx: "), std::string::npos) << r.err;
}
