// `qaccel import model.onnx -o m.qmodel`: an ONNX model (docs/interop.md) as
// a float qaccel model file. Every other command also takes the .onnx directly.
#include <cstdio>

#include "command.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/onnx/onnx_io.h"

namespace {

struct Opts {
  std::string model, output;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model (.onnx, opset 9 to 17)")->required();
  sub->add_option("-o,--output", o->output, "Output model file (.qmodel)")->required();
  sub->callback([o] {
    using namespace qaccel;
    Graph g = onnxio::ImportOnnxFile(o->model);
    SaveModel(g, o->output);
    const auto cost = analysis::Analyze(g);
    std::printf("imported %s: %zu layers, input %s (%s), %lld parameters, %lld MACs -> %s\n",
                o->model.c_str(), g.layers.size(), ShapeToString(g.input_shape()).c_str(),
                g.input_transform.Describe().c_str(), static_cast<long long>(cost.total_params),
                static_cast<long long>(cost.total_macs), o->output.c_str());
  });
}

}  // namespace

QACCEL_COMMAND(import, "Import an ONNX model (Conv, Gemm, pools, BatchNorm, ...) as a .qmodel",
               Setup);
