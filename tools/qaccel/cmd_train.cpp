// `qaccel train --model lenet5 --data mnist -o lenet5.qmodel`: trains a zoo
// model (or continues from a float .qmodel) with libtorch and writes the
// model, <out>.history.csv (per-epoch loss/accuracy) and <out>.curves.svg:
// the two side files first, the model last, each atomically, and the side
// files are removed again if the model cannot be written, so either all
// three appear or none. After every epoch <out>.ckpt is replaced atomically
// (train/checkpoint.h); `--resume` continues from it, and it is removed once
// the outputs are written.
// Options start from --recipe (default: tuned per data set; source: the
// source documents' settings) and any flag given explicitly overrides it.
// Built only with -DQACCEL_BUILD_TRAIN=ON.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "command.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/trainer.h"

namespace {

using qaccel::train::TrainOptions;

struct Opts {
  std::string model = "lenet5", data = "mnist", out, recipe = "default";
  TrainOptions given;  // values of the flags (applied only when given)
  std::vector<std::function<void(TrainOptions&)>> overrides;
  bool quiet = false, resume = false;
  std::string qat;  // --qat wNaM
  double flip_threshold = 0.1;
  bool binary_all = false;
  CLI::Option* flip_opt = nullptr;
  std::string trunk;  // early exits: start the trunk from this trained model's weights
};

// A flag that overrides one field of the recipe's TrainOptions when given.
template <typename T>
CLI::Option* Override(CLI::App* sub, const std::shared_ptr<Opts>& p, const std::string& name,
                      T TrainOptions::*field, const std::string& help) {
  CLI::Option* opt = sub->add_option(name, p->given.*field, help);
  Opts* raw = p.get();  // p outlives the callbacks (captured by the command's callback)
  p->overrides.push_back([opt, raw, field](TrainOptions& t) {
    if (opt->count()) t.*field = raw->given.*field;
  });
  return opt;
}

void AddRecipeFlags(CLI::App* sub, const std::shared_ptr<Opts>& p) {
  Override(sub, p, "--epochs", &TrainOptions::epochs, "Epochs");
  Override(sub, p, "--batch-size", &TrainOptions::batch_size, "Training batch size");
  Override(sub, p, "--lr", &TrainOptions::lr, "Peak learning rate");
  Override(sub, p, "--momentum", &TrainOptions::momentum, "SGD momentum");
  Override(sub, p, "--weight-decay", &TrainOptions::weight_decay, "L2 weight decay");
  Override(sub, p, "--nesterov", &TrainOptions::nesterov, "Nesterov momentum (true/false)");
  Override(sub, p, "--schedule", &TrainOptions::schedule,
           "Learning-rate schedule: constant, step (x0.1 at 50% and 75%), cosine");
  Override(sub, p, "--warmup", &TrainOptions::warmup_epochs,
           "Linear warmup length in epochs (fractions allowed)");
  Override(sub, p, "--augment", &TrainOptions::augment,
           "Augmentation: none, shift (random +-2 px translation), shift-flip (+ horizontal flip)");
  Override(sub, p, "--init", &TrainOptions::init,
           "Initialization: torch (PyTorch default) or kaiming (He uniform, zero bias)");
  Override(sub, p, "--seed", &TrainOptions::seed,
           "Seed for initialization, data order and augmentation")
      ->check(qaccel::cli::NonNegative());
  Override(sub, p, "--threads", &TrainOptions::threads,
           "Torch threads (results reproducible per thread count)")
      ->check(qaccel::cli::ThreadsRange());
  Override(sub, p, "--exit-weights", &TrainOptions::exit_weights,
           "Early-exit models: joint loss weights, side exits then the final one (e.g. 1,0.3)")
      ->delimiter(',');
  Override(sub, p, "--limit-train", &TrainOptions::limit_train,
           "Use only N training images, spread evenly over the set (0 = all)")
      ->check(qaccel::cli::NonNegative());
}

// Zoo models train at the resolution they are defined for (channels and
// classes follow the data): ImageNet topologies such as resnet50 are for the
// simulator and DSE, and would silently become other networks at 28x28.
qaccel::Graph ZooModelForData(const Opts& p, const qaccel::data::Dataset& train) {
  using namespace qaccel;
  const Shape defined = BuildZooModel(p.model).input_shape();
  Check(defined.size() == 3 && defined[1] == train.h && defined[2] == train.w,
        "--model " + p.model + " is defined for " + ShapeToString(defined) + " inputs, " + p.data +
            " images are " + std::to_string(train.h) + "x" + std::to_string(train.w) +
            "; train a model defined at that size (lenet5, resnet20)");
  ZooOptions zo;
  zo.in_channels = train.c;
  zo.height = train.h;
  zo.width = train.w;
  zo.num_classes = train.num_classes;
  return BuildZooModel(p.model, zo);
}

void CheckPaths(const Opts& p) {
  using namespace qaccel;
  Check(!p.out.empty(), "-o: output path is empty");
  std::error_code ec;
  Check(!std::filesystem::equivalent(p.model, p.out, ec),
        "-o " + p.out + " is the input model; write the trained model to another file");
  Check(IsZooModel(p.model) || std::filesystem::exists(p.model),
        "--model " + p.model +
            ": no such model file, and not a zoo model (see `qaccel info --list-zoo`)");
}

// Writes history, curves, then the model (see the file comment).
void WriteOutputs(const std::string& out, const qaccel::Graph& g, const std::string& csv,
                  const std::string& svg) {
  using namespace qaccel;
  std::vector<std::string> written;
  try {
    for (const auto& [path, text] : {std::pair{out + ".history.csv", &csv},
                                     std::pair{out + ".curves.svg", &svg}}) {
      AtomicWriteText(path, *text);
      written.push_back(path);
    }
    SaveModel(g, out);
  } catch (...) {
    std::error_code ec;
    for (const std::string& f : written) std::filesystem::remove(f, ec);
    throw;
  }
}

// The command line as recorded in the model: without --resume, which does
// not change the result (a resumed model is byte-identical to an
// uninterrupted one).
std::string RecordedCommandLine() {
  std::string c = qaccel::cli::CommandLine();
  for (size_t at; (at = c.find(" --resume")) != std::string::npos;) c.erase(at, 9);
  return c;
}

void Run(const Opts& p) {
  using namespace qaccel;
  // Options: the recipe, then explicit flags. Validated before any data is read.
  TrainOptions t = train::RecipeOptions(p.recipe, p.data);
  for (const auto& apply : p.overrides) apply(t);
  if (!p.qat.empty()) {
    t.qat = train::ParseQatSpec(p.qat);
    t.qat.flip_threshold = p.flip_threshold;
    t.qat.binary_all = p.binary_all;
  } else {
    Check(!p.binary_all && p.flip_opt->count() == 0,
          "--binary-all and --flip-threshold need --qat (e.g. --qat w1a8)");
  }
  t.progress = !p.quiet;
  t.checkpoint = p.out + ".ckpt";
  t.resume = p.resume;
  train::ValidateOptions(t);
  CheckPaths(p);

  if (!t.exit_weights.empty())  // a count mismatch is reported before any data is read
    CheckExitWeights(LoadModelOrZoo(p.model), t.exit_weights);
  data::Split split = data::LoadNamedDataset(p.data);
  const bool fresh = IsZooModel(p.model) && !std::filesystem::exists(p.model);
  // Fine-tuning starts from the model file's float weights.
  Graph g = fresh ? ZooModelForData(p, split.train) : LoadModelOrZoo(p.model);
  if (!p.trunk.empty()) {
    const int n = CopyTrunkParameters(g, LoadModel(p.trunk));
    std::fprintf(stderr, "%d layers initialized from the trunk %s\n", n, p.trunk.c_str());
  }
  std::fprintf(
      stderr,
      "train %s on %s (%lld train / %lld validation images), recipe %s, seed %llu, %d threads\n",
      g.name.c_str(), p.data.c_str(), static_cast<long long>(split.train.n),
      static_cast<long long>(split.test.n), t.recipe.c_str(),
      static_cast<unsigned long long>(t.seed), t.threads);
  train::TrainResult r = train::Train(g, split.train, split.test, t, p.data);
  if (r.resumed_after_epoch > 0)
    std::fprintf(stderr, "resumed from %s after epoch %d\n", t.checkpoint.c_str(),
                 r.resumed_after_epoch);
  g.metadata["training"]["data_source"] = split.source;
  g.metadata["training"]["command_line"] = RecordedCommandLine();
  g.metadata["training"]["initialized_from"] =
      fresh ? "zoo:" + p.model + " (fresh initialization)" : p.model;
  if (!p.trunk.empty()) g.metadata["training"]["trunk_from"] = p.trunk;

  const std::string& out = p.out;
  WriteOutputs(out, g, train::HistoryCsv(r, t.seed),
               train::HistorySvg(r, g.name + " on " + p.data + " (seed " +
                                        std::to_string(t.seed) + ")"));
  std::error_code ec;
  std::filesystem::remove(t.checkpoint, ec);
  const auto& last = r.history.back();
  std::printf("%s: train accuracy %.2f%%, validation accuracy %.2f%% after %d epochs, %.1f s\n",
              out.c_str(), 100 * last.train_accuracy, 100 * last.val_accuracy, last.epoch,
              r.wall_seconds);
  if (r.record.contains("qat") && r.record["qat"].contains("engine_agreement"))
    std::printf("%s: --qat %s: integer engine accuracy %.2f%%, top-1 agreement with the "
                "fake-quantized forward pass %.2f%% (%lld images)\n",
                out.c_str(), t.qat.spec.c_str(),
                100 * r.record["qat"]["integer_engine_accuracy"].get<double>(),
                100 * r.record["qat"]["engine_agreement"].get<double>(),
                static_cast<long long>(r.record["qat"]["validation_images"].get<int64_t>()));
  std::printf("wrote %s, %s.history.csv, %s.curves.svg\n", out.c_str(), out.c_str(), out.c_str());
}

void Setup(CLI::App* sub) {
  auto p = std::make_shared<Opts>();
  sub->add_option("--model,-m", p->model,
                  "Zoo model name (lenet5, resnet20, ...) or a float .qmodel to fine-tune")
      ->capture_default_str();
  sub->add_option("--data,-d", p->data,
                  "Data set: mnist, fashion-mnist, or a directory of IDX files")
      ->capture_default_str();
  sub->add_option("-o,--output", p->out,
                  "Output model file (.qmodel); also writes <out>.history.csv and <out>.curves.svg")
      ->required();
  sub->add_option("--recipe", p->recipe,
                  "Starting settings: default (tuned per data set) or source (batch 32, lr 0.001, "
                  "momentum 0.9)")
      ->capture_default_str();
  AddRecipeFlags(sub, p);
  sub->add_option("--qat", p->qat,
                  "Quantization-aware training to wNaM (weights N = 1..8 bits, 1 = binary; "
                  "activations M = 2..8), e.g. w8a8, w4a4, w2a8, w1a8; writes the quantized model");
  p->flip_opt = sub->add_option("--flip-threshold", p->flip_threshold,
                                "QAT binary weights: a sign flips only when the latent weight "
                                "crosses this value on the other side (0 = plain sign)")
                    ->capture_default_str();
  sub->add_flag("--binary-all", p->binary_all,
                "QAT: quantize the first and last conv/linear layers to the --qat weight width "
                "too (default: they keep 8-bit weights)");
  sub->add_option("--trunk", p->trunk,
                  "Early-exit models: initialize the layers named as in this trained float model "
                  "(e.g. a lenet5 .qmodel for lenet5-branchy)");
  sub->add_flag("--quiet,-q", p->quiet, "No progress bars");
  sub->add_flag("--resume", p->resume,
                "Continue from <out>.ckpt (written after every epoch) if it exists; same seed, "
                "options and data required");
  sub->callback([p] { Run(*p); });
}

}  // namespace

QACCEL_COMMAND(train,
               "Train a model with libtorch (SGD, seeded, deterministic); writes .qmodel + curves",
               Setup);
