// `qaccel quantize MODEL --data mnist -o OUT [--observer ...] [--weight-scheme ...]
//  [--calibration N] [--seed S] [--percentile P]`: post-training static int8
// quantization of a float model, calibrated on N training images.
#include <cstdio>
#include <filesystem>

#include "command.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/quant/quantize.h"
#include "qaccel/quant/weight_scheme.h"

namespace {

struct Opts {
  std::string model, data = "mnist", output, observer = "histogram", scheme = "per-channel";
  int64_t calibration = 1000;
  uint64_t seed = 1;
  double percentile = 99.99;
  int weight_bits = 0, act_bits = 8;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Float model (.qmodel)")->required();
  qaccel::cli::AddDataOption(sub, o->data, "calibration images come from its training split");
  sub->add_option("-o,--output", o->output, "Quantized model to write (.qmodel)")->required();
  sub->add_option("--observer", o->observer,
                  "Activation observer: " + qaccel::quant::ObserverNames())
      ->capture_default_str();
  sub->add_option(
         "--weight-scheme", o->scheme,
         "Weights: per-tensor (asymmetric, the source's), per-channel (symmetric, TFLite's; "
         "--weight-bits 2..8) or binary (1 bit, alpha = mean |w| per channel)")
      ->capture_default_str();
  sub->add_option("--weight-bits", o->weight_bits,
                  "Weight width for the scheme (default: its own, 8; per-channel takes 2..8)");
  sub->add_option("--act-bits", o->act_bits,
                  "Activation width of conv/linear/add outputs, 2..8 (the input stays 8-bit)")
      ->capture_default_str();
  sub->add_option("--calibration", o->calibration, "Number of training images for calibration")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed choosing the calibration images")
      ->capture_default_str()
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--percentile", o->percentile, "Percentile for --observer percentile")
      ->capture_default_str();
  sub->callback([o] {
    using namespace qaccel;
    namespace fs = std::filesystem;
    quant::QuantizeOptions q;
    q.observer = o->observer;
    q.weight_scheme = quant::ParseWeightScheme(o->scheme);
    q.weight_bits = o->weight_bits;
    q.act_bits = o->act_bits;
    if (q.weight_bits != 0)
      quant::CheckWeightBits(quant::FindWeightScheme(q.weight_scheme), q.weight_bits,
                             "--weight-bits");
    Check(q.act_bits >= 2 && q.act_bits <= 8,
          "--act-bits must be 2..8 (got " + std::to_string(q.act_bits) + ")");
    q.calibration = o->calibration;
    q.seed = o->seed;
    q.observer_options.percentile = o->percentile;
    Check(q.calibration > 0,
          "--calibration must be at least 1 image (got " + std::to_string(q.calibration) + ")");
    quant::MakeObserver(q.observer,
                        q.observer_options);  // unknown name -> error before loading anything
    std::error_code same_ec;
    Check(!fs::exists(o->output, same_ec) || !fs::equivalent(o->model, o->output, same_ec),
          "-o " + o->output + " is the input model; write the quantized model to another file");
    Graph g = LoadModel(o->model);
    data::Split split = data::LoadNamedDataset(o->data);
    Graph qg = quant::QuantizeGraph(g, split.train, q);
    std::error_code ec;
    qg.metadata["quantization"]["float_model"] = fs::absolute(o->model, ec).string();
    qg.metadata["quantization"]["data"] = o->data;
    qg.metadata["quantization"]["data_source"] = split.source;
    qg.metadata["quantization"]["command"] = cli::CommandLine();
    qg.metadata["quantization"]["qaccel_version"] = QACCEL_VERSION;
    SaveModel(qg, o->output);
    std::printf(
        "quantized %s -> %s: observer %s, weights %s, %lld calibration images (seed %llu); "
        "file %lld bytes (float %lld bytes)\n",
        o->model.c_str(), o->output.c_str(), q.observer.c_str(), q.weight_scheme.c_str(),
        static_cast<long long>(qg.metadata["quantization"]["calibration_images"].get<int64_t>()),
        static_cast<unsigned long long>(q.seed), static_cast<long long>(fs::file_size(o->output)),
        static_cast<long long>(fs::file_size(o->model)));
  });
}

}  // namespace

QACCEL_COMMAND(quantize, "Post-training int8 quantization of a float model (calibrated observers)",
               Setup);
