// Malformed .qmodel files, built inside each test from a valid one: every
// load error starts with the file's path and names the layer and field, and
// nothing is read out of bounds, allocated from a declared size, or wrapped.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"

namespace fs = std::filesystem;
using namespace qaccel;
using nlohmann::json;

namespace {

// A model file split into its JSON header and its tensor blob.
struct ModelParts {
  json header;
  std::vector<uint8_t> blob;
};

ModelParts Split(const fs::path& p) {
  std::vector<uint8_t> b = ReadBinaryFile(p);
  uint64_t hlen;
  std::memcpy(&hlen, b.data() + 16, 8);
  ModelParts m;
  m.header = json::parse(b.begin() + 24, b.begin() + 24 + static_cast<int64_t>(hlen));
  m.blob.assign(b.begin() + static_cast<int64_t>((24 + hlen + 15) / 16 * 16), b.end());
  return m;
}

void Write(const fs::path& p, const ModelParts& m) {
  const std::string hs = m.header.dump();
  std::ofstream os(p, std::ios::binary);
  const uint32_t version = 1, reserved = 0;
  const uint64_t hlen = hs.size();
  os.write("QACCELMF", 8);
  os.write(reinterpret_cast<const char*>(&version), 4);
  os.write(reinterpret_cast<const char*>(&reserved), 4);
  os.write(reinterpret_cast<const char*>(&hlen), 8);
  os << hs;
  const char zeros[16] = {};
  os.write(zeros, static_cast<std::streamsize>((16 - (24 + hs.size()) % 16) % 16));
  os.write(reinterpret_cast<const char*>(m.blob.data()), static_cast<std::streamsize>(m.blob.size()));
}

class MalformedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qaccel_test_malformed_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    Graph g = BuildZooModel("lenet5");
    Rng rng(3);
    for (Layer& l : g.layers)
      for (const char* name : {"weight", "bias"}) {
        if (name == std::string("bias") && !l.has_bias) continue;
        if (l.kind != OpKind::kConv2d && l.kind != OpKind::kLinear) continue;
        Tensor t(DType::kF32, ExpectedParamShape(l, name));
        for (float& v : t.data<float>()) v = static_cast<float>(rng.Normal());
        l.params[name] = t;
      }
    SaveModel(g, dir_ / "ok.qmodel");
    parts_ = Split(dir_ / "ok.qmodel");
  }
  void TearDown() override { fs::remove_all(dir_); }

  json& LayerJson(const std::string& name) {
    for (json& l : parts_.header["layers"])
      if (l["name"] == name) return l;
    throw std::runtime_error("no layer " + name);
  }
  // A plausible quant record for conv1 (6 output channels) that loads.
  void AddConv1Quant() {
    LayerJson("conv1")["quant"] = {{"act_bits", 8},
                                   {"out_scale", 0.05},
                                   {"out_zero_point", -10},
                                   {"act_min", -10},
                                   {"act_max", 127},
                                   {"weight_bits", 8},
                                   {"weight_scheme", "per-channel-symmetric"},
                                   {"weight_scale", std::vector<float>(6, 0.01f)},
                                   {"weight_zero_point", std::vector<int>(6, 0)},
                                   {"multiplier", std::vector<int64_t>(6, 1 << 30)},
                                   {"shift", std::vector<int>(6, -4)}};
  }
  // Writes the current parts and returns the load error ("" if it loaded).
  std::string LoadError() {
    const fs::path p = dir_ / "bad.qmodel";
    Write(p, parts_);
    try {
      LoadModel(p);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(p.string() + ": ", 0), 0u) << "does not start with the path: " << msg;
      EXPECT_EQ(msg.find(p.string(), 1), std::string::npos) << "path repeated: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_EQ(msg.find("json.exception"), std::string::npos) << msg;
      return msg;
    }
    return "";
  }
  void ExpectError(const std::vector<std::string>& parts) {
    const std::string msg = LoadError();
    ASSERT_FALSE(msg.empty()) << "loaded without error";
    for (const std::string& s : parts) EXPECT_NE(msg.find(s), std::string::npos) << msg;
  }

  fs::path dir_;
  ModelParts parts_;
};

}  // namespace

TEST_F(MalformedModel, RewrittenValidFileLoads) {
  EXPECT_EQ(LoadError(), "");
  AddConv1Quant();
  EXPECT_EQ(LoadError(), "");
}

// Finding 1: an offset near 2^64 wrapped the bounds check (SIGSEGV / junk weights).
TEST_F(MalformedModel, TensorOffsetNear2To64IsRejected) {
  json& w = LayerJson("conv1")["params"]["weight"];
  for (uint64_t off : {~uint64_t{0} - 15, ~uint64_t{0} - w["nbytes"].get<uint64_t>() + 1,
                       uint64_t{1} << 63, static_cast<uint64_t>(parts_.blob.size())}) {
    w["offset"] = off;
    ExpectError({"layers[1] ('conv1').params.weight", "offset " + std::to_string(off)});
  }
}

// Finding 2: a small file declaring a [50000, 50000] tensor allocated 10 GB first.
TEST_F(MalformedModel, DeclaredTensorLargerThanFileIsRejectedBeforeAllocation) {
  json& w = LayerJson("fc1")["params"]["weight"];
  w["shape"] = {50000, 50000};
  w["nbytes"] = uint64_t{50000} * 50000 * 4;
  ExpectError({"params.weight", "beyond the end"});
  w["shape"] = {int64_t{1} << 40, int64_t{1} << 40};
  ExpectError({"params.weight.shape", "2^64"});
  w["shape"] = {-4, 100};
  ExpectError({"params.weight.shape", "negative"});
}

// Finding 3: quant params out of the numeric contract are load errors naming the field.
TEST_F(MalformedModel, QuantParamsOutOfContractAreRejected) {
  const std::vector<std::pair<std::string, json>> bad = {
      {"shift", std::vector<int>(6, 40)},
      {"shift", std::vector<int>(6, -64)},
      {"weight_zero_point", std::vector<int64_t>(6, INT32_MAX)},
      {"multiplier", std::vector<int64_t>(6, 5)},
      {"multiplier", std::vector<int64_t>(6, -(int64_t{1} << 30))},
      {"act_min", -129},
      {"act_max", 300},
      {"act_max", -20},  // below act_min
      {"out_zero_point", 1000},
      {"out_scale", -1.0},
      {"out_scale", 0.0},
      {"weight_scale", std::vector<double>(6, 0.0)},
      {"multiplier", std::vector<int64_t>(4, 1 << 30)},  // not 1 or out_channels
      {"act_bits", 64},
  };
  for (const auto& [field, value] : bad) {
    AddConv1Quant();
    LayerJson("conv1")["quant"][field] = value;
    SCOPED_TRACE(field + " = " + value.dump());
    ExpectError({"conv1", field});
  }
  AddConv1Quant();
  LayerJson("conv1")["quant"]["out_zero_point"] = uint64_t{1} << 32;  // would wrap to 0
  ExpectError({"('conv1').quant", "out_zero_point", "range"});
  AddConv1Quant();
  LayerJson("conv1")["quant"]["out_scale"] = "0.1";
  ExpectError({"('conv1').quant", "out_scale", "wrong type"});
}

// An int32 bias beyond the accumulator's headroom would overflow int32 (UB).
TEST_F(MalformedModel, Int32BiasBeyondTheAccumulatorBoundIsRejected) {
  AddConv1Quant();
  json& b = LayerJson("conv1")["params"]["bias"];
  b["dtype"] = "i32";  // 6 entries: the same 24 bytes as the f32 bias
  const size_t off = b["offset"].get<size_t>();
  for (size_t c = 0; c < 6; ++c) {
    const int32_t v = c == 3 ? INT32_MAX : 1000;
    std::memcpy(parts_.blob.data() + off + 4 * c, &v, 4);
  }
  ExpectError({"('conv1').quant.bias[3]", "2147483647"});
}

TEST_F(MalformedModel, InputTransformIsRangeChecked) {
  parts_.header["input_transform"]["scale"] = 1e300;
  parts_.header["input_transform"]["std"] = {1e-300};
  ExpectError({"input transform", "beyond float range"});
  parts_.header["input_transform"]["dtype"] = "f16";
  ExpectError({"input_transform.dtype", "f16"});
}

// Finding 5: every load error names the file; no raw json exceptions.
TEST_F(MalformedModel, ErrorsNameTheFileAndField) {
  ModelParts ok = parts_;
  LayerJson("conv1")["kind"] = "conv3d";
  ExpectError({"('conv1').kind", "conv3d"});
  parts_ = ok;
  LayerJson("conv1")["params"]["weight"]["dtype"] = "f64";
  ExpectError({"('conv1').params.weight.dtype", "f64"});
  parts_ = ok;
  parts_.header["layers"][0]["out_shape"] = {1, -28, 28};
  ExpectError({"out_shape"});
  parts_ = ok;
  LayerJson("conv1")["kind"] = 7;
  ExpectError({"('conv1'): field 'kind' has the wrong type"});
  parts_ = ok;
  LayerJson("conv1")["params"]["weight"]["dtype"] = 7;
  ExpectError({"('conv1').params.weight: field 'dtype' has the wrong type"});
  parts_ = ok;
  LayerJson("conv1")["name"] = 7;
  ExpectError({"layers[1]", "'name'", "wrong type"});
  parts_ = ok;
  parts_.header["name"] = json::array();
  ExpectError({"'name'", "wrong type"});
  parts_ = ok;
  AddConv1Quant();
  LayerJson("conv1")["quant"]["observer"] = 3;
  ExpectError({"('conv1').quant", "'observer'"});
  parts_ = ok;
  AddConv1Quant();
  LayerJson("conv1")["quant"]["weight_scheme"] = false;
  ExpectError({"('conv1').quant", "'weight_scheme'"});
  parts_ = ok;
  LayerJson("conv1")["groups"] = "1";
  ExpectError({"layers[1]", "'groups'"});
  parts_ = ok;
  LayerJson("conv1")["padding"] = {int64_t{1} << 62, 0};
  ExpectError({"('conv1').padding", "kMaxModelDimension"});
  parts_ = ok;
  parts_.header["layers"][1] = 5;
  ExpectError({"layers[1]", "object"});
}

TEST_F(MalformedModel, DuplicateLayerNamesAreRejected) {
  LayerJson("conv2")["name"] = "conv1";
  ExpectError({"duplicate layer name 'conv1'"});
}

// Element counts of shapes from a file overflow int64 in NumElements: the
// error names the layer.
TEST(ShapeOverflow, ElementCountPast2To63NamesTheLayer) {
  Graph g;
  g.name = "huge";
  const int64_t d = kMaxModelDimension;
  const int x = g.AddInput("input", {d, d, d});
  try {
    g.AddFlatten("flat", x);
    FAIL() << "no overflow error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'flat'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2^63"), std::string::npos) << e.what();
  }
}
