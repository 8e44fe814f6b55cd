// `qaccel export MODEL --format txt|hex|bin -o DIR`: the quantized model's
// integer parameters as files for hardware (per-layer text as in the source,
// $readmemh hex, raw binary) plus manifest.json. Atomic: DIR appears only
// when complete.
#include <cstdio>

#include "command.h"
#include "qaccel/export/export.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/onnx/onnx_io.h"

namespace {

struct Opts {
  std::string model, format = "txt", output;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Quantized model (.qmodel or .onnx); float too for --format onnx")->required();
  sub->add_option("--format", o->format,
                  "txt (decimal, the source's files), hex ($readmemh), bin (raw LE) or onnx (one file)")
      ->capture_default_str();
  sub->add_option("-o,--output", o->output, "Output directory (replaced if it exists); the .onnx file for --format onnx")->required();
  sub->callback([o] {
    using namespace qaccel;
    Check(o->format == "txt" || o->format == "hex" || o->format == "bin" || o->format == "onnx",
          "unknown --format '" + o->format + "' (choose txt, hex, bin or onnx)");
    Graph g = LoadModel(o->model);
    if (o->format == "onnx") {  // one file: plain ONNX (float) or QDQ ONNX (int8)
      onnxio::ExportOnnxFile(g, o->output);
      std::printf("exported %s as %s ONNX (opset %lld) to %s\n", o->model.c_str(),
                  g.quantized() ? "QDQ" : "float", static_cast<long long>(onnxio::kExportOpset),
                  o->output.c_str());
      return;
    }
    exporter::ExportOptions opt;
    opt.format = o->format;
    opt.command_line = cli::CommandLine();
    opt.source_model = o->model;
    exporter::ExportModel(g, o->output, opt);
    std::printf("exported %s (%s) to %s/ with manifest.json\n", o->model.c_str(), o->format.c_str(),
                o->output.c_str());
  });
}

}  // namespace

QACCEL_COMMAND(
    export, "Write a quantized model's integer parameters for hardware (txt, hex, bin + manifest)",
    Setup);
