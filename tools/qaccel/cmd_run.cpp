// `qaccel run MODEL --data D [--limit N] [--layers] [--format txt|hex|both] -o DIR`:
// golden test vectors for an RTL test bench. Runs the bit-exact integer engine
// on the first N images of the data set's test split and writes, per image,
// the int8 input as the network consumes it, the int8 logits, and (with
// --layers) every layer's int8 output; predictions.csv lists label and
// prediction per image, and manifest.json gives every tensor's shape, layout,
// scale and zero point (real = scale * (q - zero_point)). Layout of a file:
//
//   DIR/manifest.json, DIR/predictions.csv
//   DIR/img00000/input.{txt,hex}   DIR/img00000/logits.{txt,hex}
//   DIR/img00000/layers/<LL>_<layer>.{txt,hex}   (--layers; LL = layer index)
//
// txt: one signed decimal per line; hex: two hex digits per line, two's
// complement, for Verilog $readmemh. Elements in row-major order of the shape
// ([C, H, W] for feature maps, [F] for vectors). The directory appears only
// when complete (AtomicWriteDirectory). No randomness: the images are the
// first N of the test split, in order.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/core/progress.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Opts {
  std::string model, data = "mnist", out, format = "both";
  int64_t limit = 16;
  bool layers = false;
};

// `width` digits, zero-padded (more when the number needs them).
std::string ZeroPadded(int64_t v, size_t width) {
  std::string s = std::to_string(v);
  return std::string(s.size() < width ? width - s.size() : 0, '0') + s;
}

std::string ImageDir(int64_t i) { return "img" + ZeroPadded(i, 5); }

std::string LayerStem(const qaccel::Graph& g, size_t i) {
  return ZeroPadded(static_cast<int64_t>(i), 2) + "_" + g.layers[i].name;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.flush();
  qaccel::Check(static_cast<bool>(f), path.string() + ": write failed (disk full?)");
}

// Writes one int8 tensor as <stem>.txt and/or <stem>.hex.
void WriteTensor(const fs::path& stem, const int8_t* v, int64_t n, const std::string& format) {
  auto write = [&](const char* ext, bool hex) {
    std::string text;
    text.reserve(static_cast<size_t>(n) * 5);
    char b[8];
    for (int64_t k = 0; k < n; ++k) {
      int len = hex ? std::snprintf(b, sizeof b, "%02x\n", static_cast<uint8_t>(v[k]))
                    : std::snprintf(b, sizeof b, "%d\n", static_cast<int>(v[k]));
      text.append(b, static_cast<size_t>(len));
    }
    WriteFile(stem.string() + ext, text);
  };
  if (format != "hex") write(".txt", false);
  if (format != "txt") write(".hex", true);
}

json TensorRecord(const qaccel::Layer& l, const std::string& file) {
  return json{{"layer", l.name},
              {"kind", std::string(qaccel::OpKindName(l.kind))},
              {"file", file},
              {"shape", l.out_shape},
              {"layout", l.out_shape.size() == 3 ? "CHW row-major" : "vector"},
              {"dtype", "int8"},
              {"scale", l.quant.out_scale},
              {"zero_point", l.quant.out_zero_point}};
}

json BuildManifest(const Opts& o, const qaccel::Graph& g, const qaccel::data::Dataset& test,
                   int64_t n) {
  json layers = json::array();
  if (o.layers)
    for (size_t i = 0; i < g.layers.size(); ++i)
      layers.push_back(TensorRecord(g.layers[i], "imgNNNNN/layers/" + LayerStem(g, i)));
  json formats = json::array();
  if (o.format != "hex")
    formats.push_back({{"ext", "txt"}, {"text", "one signed decimal per line"}});
  if (o.format != "txt")
    formats.push_back(
        {{"ext", "hex"}, {"text", "two hex digits per line, two's complement ($readmemh)"}});
  return json{
      {"format", "qaccel golden vectors"},
      {"version", 1},
      {"qaccel_version", QACCEL_VERSION},
      {"command_line", qaccel::cli::CommandLine()},
      {"model", o.model},
      {"model_name", g.name},
      {"data", o.data},
      {"split", test.name},
      {"images", n},
      {"image_selection", "the first N images of the test split, in order (no randomness)"},
      {"formats", formats},
      {"dequantize", "real = scale * (q - zero_point)"},
      {"input", TensorRecord(g.layers.front(), "imgNNNNN/input")},
      {"logits", TensorRecord(g.layers.back(), "imgNNNNN/logits")},
      {"prediction", "index of the largest int8 logit, the first on ties (predictions.csv)"},
      {"layers", layers}};
}

void Run(const Opts& o) {
  using namespace qaccel;
  Check(o.limit >= 0, "--limit must be >= 0 (0: the whole test split)");
  Check(o.format == "txt" || o.format == "hex" || o.format == "both",
        "--format must be txt, hex or both, got '" + o.format + "'");
  Check(!o.out.empty(), "-o: output directory is empty");
  Graph g = LoadModel(o.model);
  Check(g.quantized(), o.model +
                           ": a float model; golden vectors are integer: quantize it first "
                           "(qaccel quantize MODEL --data D -o M.qmodel)");
  data::Split split = data::LoadNamedDataset(o.data);
  const data::Dataset& test = split.test;
  engine::Engine eng(g, engine::EngineOptions{1});
  Check(test.image_size() == eng.input_numel(),
        o.data + ": images of " + std::to_string(test.image_size()) +
            " values do not fit the model's input " + ShapeToString(g.input_shape()));
  const int64_t n = o.limit == 0 ? test.n : std::min(o.limit, test.n);
  const size_t last = g.layers.size() - 1;

  CheckReplaceableOutputDir(o.out, "manifest.json", "\"qaccel golden vectors\"", {o.model});
  AtomicWriteDirectory(o.out, [&](const fs::path& dir) {
    std::ostringstream csv;
    csv << "image,label,prediction,correct\n";
    int64_t correct = 0;
    ProgressBar bar("golden vectors", n);
    for (int64_t i = 0; i < n; ++i) {
      const fs::path img = dir / ImageDir(i);
      fs::create_directories(o.layers ? img / "layers" : img);
      int64_t pred = 0;
      eng.RunTappedInt8(test.image(i), [&](int li, const int8_t* v, int64_t numel) {
        const size_t idx = static_cast<size_t>(li);
        if (idx == 0) WriteTensor(img / "input", v, numel, o.format);
        if (idx == last) {
          WriteTensor(img / "logits", v, numel, o.format);
          for (int64_t k = 1; k < numel; ++k)
            if (v[k] > v[pred]) pred = k;
        }
        if (o.layers) WriteTensor(img / "layers" / LayerStem(g, idx), v, numel, o.format);
      });
      const int label = test.labels[static_cast<size_t>(i)];
      correct += pred == label;
      csv << ImageDir(i) << "," << label << "," << pred << "," << (pred == label ? 1 : 0) << "\n";
      bar.Tick();
    }
    bar.Finish();
    WriteFile(dir / "predictions.csv", csv.str());
    WriteFile(dir / "manifest.json", BuildManifest(o, g, test, n).dump(2) + "\n");
    std::printf("%s: %lld images of %s, %lld correct; wrote %s\n", o.out.c_str(),
                static_cast<long long>(n), test.name.c_str(), static_cast<long long>(correct),
                o.layers ? "input, logits and every layer's output" : "input and logits");
  });
}

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Quantized model (.qmodel)")->required();
  qaccel::cli::AddDataOption(sub, o->data, "its test split is used");
  sub->add_option("--limit", o->limit, "The first N test images (0: all)")
      ->capture_default_str()
      ->check(qaccel::cli::NonNegative());
  sub->add_flag("--layers", o->layers, "Also write every layer's int8 output");
  sub->add_option("--format", o->format, "txt, hex ($readmemh) or both")->capture_default_str();
  sub->add_option("-o,--output", o->out, "Output directory (replaced when complete)")->required();
  sub->callback([o] { Run(*o); });
}

}  // namespace

QACCEL_COMMAND(run, "Golden test vectors for RTL: per-image int8 input, logits, layer outputs",
               Setup);
