// `qaccel train --model lenet5 --data mnist -o lenet5.qmodel`: trains a zoo
// model (or continues from a float .qmodel) with libtorch and writes the
// model, <out>.history.csv (per-epoch loss/accuracy) and <out>.curves.svg.
// Options start from --recipe (default: tuned per data set; source: the
// source documents' settings) and any flag given explicitly overrides it.
// Built only with -DQACCEL_BUILD_TRAIN=ON.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/trainer.h"

namespace {

struct Opts {
  std::string model = "lenet5", data = "mnist", out, recipe = "default";
  qaccel::train::TrainOptions o;  // values of explicitly given flags
  bool quiet = false;
};

void Setup(CLI::App* sub) {
  auto p = std::make_shared<Opts>();
  auto& o = p->o;
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
  auto* epochs = sub->add_option("--epochs", o.epochs, "Epochs");
  auto* batch = sub->add_option("--batch-size", o.batch_size, "Training batch size");
  auto* lr = sub->add_option("--lr", o.lr, "Peak learning rate");
  auto* momentum = sub->add_option("--momentum", o.momentum, "SGD momentum");
  auto* wd = sub->add_option("--weight-decay", o.weight_decay, "L2 weight decay");
  auto* nesterov = sub->add_option("--nesterov", o.nesterov, "Nesterov momentum (true/false)");
  auto* schedule =
      sub->add_option("--schedule", o.schedule,
                      "Learning-rate schedule: constant, step (x0.1 at 50% and 75%), cosine");
  auto* warmup = sub->add_option("--warmup", o.warmup_epochs,
                                 "Linear warmup length in epochs (fractions allowed)");
  auto* augment = sub->add_option(
      "--augment", o.augment,
      "Augmentation: none, shift (random +-2 px translation), shift-flip (+ horizontal flip)");
  auto* init =
      sub->add_option("--init", o.init,
                      "Initialization: torch (PyTorch default) or kaiming (He uniform, zero bias)");
  auto* seed =
      sub->add_option("--seed", o.seed, "Seed for initialization, data order and augmentation")
          ->check(qaccel::cli::NonNegative());
  auto* threads = sub->add_option("--threads", o.threads,
                                  "Torch threads (results reproducible per thread count)")
                      ->check(qaccel::cli::ThreadsRange());
  auto* limit = sub->add_option("--limit-train", o.limit_train,
                                "Use only N training images, spread evenly over the set (0 = all)")
                    ->check(qaccel::cli::NonNegative());
  sub->add_flag("--quiet,-q", p->quiet, "No progress bars");
  sub->callback([=] {
    using namespace qaccel;
    // Options: the recipe, then explicit flags. Validated before any data is read.
    train::TrainOptions t = train::RecipeOptions(p->recipe, p->data);
    const auto& e = p->o;
    if (epochs->count()) t.epochs = e.epochs;
    if (batch->count()) t.batch_size = e.batch_size;
    if (lr->count()) t.lr = e.lr;
    if (momentum->count()) t.momentum = e.momentum;
    if (wd->count()) t.weight_decay = e.weight_decay;
    if (nesterov->count()) t.nesterov = e.nesterov;
    if (schedule->count()) t.schedule = e.schedule;
    if (warmup->count()) t.warmup_epochs = e.warmup_epochs;
    if (augment->count()) t.augment = e.augment;
    if (seed->count()) t.seed = e.seed;
    if (init->count()) t.init = e.init;
    if (threads->count()) t.threads = e.threads;
    if (limit->count()) t.limit_train = e.limit_train;
    t.progress = !p->quiet;
    train::ValidateOptions(t);
    Check(!p->out.empty(), "-o: output path is empty");
    {
      std::error_code ec;
      Check(!std::filesystem::equivalent(p->model, p->out, ec),
            "-o " + p->out + " is the input model; write the trained model to another file");
    }
    Check(IsZooModel(p->model) || std::filesystem::exists(p->model),
          "--model " + p->model +
              ": no such model file, and not a zoo model (see `qaccel info --list-zoo`)");

    data::Split split = data::LoadNamedDataset(p->data);
    Graph g;
    std::string initialized_from = "zoo:" + p->model + " (fresh initialization)";
    if (IsZooModel(p->model) && !std::filesystem::exists(p->model)) {
      // Zoo models train at the resolution they are defined for (channels and
      // classes follow the data): ImageNet topologies such as resnet50 are for
      // the simulator and DSE, and would silently become other networks at 28x28.
      const Shape defined = BuildZooModel(p->model).input_shape();
      Check(defined.size() == 3 && defined[1] == split.train.h && defined[2] == split.train.w,
            "--model " + p->model + " is defined for " + ShapeToString(defined) + " inputs, " +
                p->data + " images are " + std::to_string(split.train.h) + "x" +
                std::to_string(split.train.w) +
                "; train a model defined at that size (lenet5, resnet20)");
      ZooOptions zo;
      zo.in_channels = split.train.c;
      zo.height = split.train.h;
      zo.width = split.train.w;
      zo.num_classes = split.train.num_classes;
      g = BuildZooModel(p->model, zo);
    } else {
      g = LoadModelOrZoo(p->model);
      initialized_from = p->model;  // fine-tuning: its float weights are the start
    }
    std::fprintf(
        stderr,
        "train %s on %s (%lld train / %lld validation images), recipe %s, seed %llu, %d threads\n",
        g.name.c_str(), p->data.c_str(), static_cast<long long>(split.train.n),
        static_cast<long long>(split.test.n), t.recipe.c_str(),
        static_cast<unsigned long long>(t.seed), t.threads);
    train::TrainResult r = train::Train(g, split.train, split.test, t, p->data);
    g.metadata["training"]["data_source"] = split.source;
    g.metadata["training"]["command_line"] = cli::CommandLine();
    g.metadata["training"]["initialized_from"] = initialized_from;

    const std::string out = p->out;
    SaveModel(g, out);
    AtomicWriteText(out + ".history.csv", train::HistoryCsv(r, t.seed));
    AtomicWriteText(
        out + ".curves.svg",
        train::HistorySvg(r, g.name + " on " + p->data + " (seed " + std::to_string(t.seed) + ")"));
    const auto& last = r.history.back();
    std::printf("%s: train accuracy %.2f%%, validation accuracy %.2f%% after %d epochs, %.1f s\n",
                out.c_str(), 100 * last.train_accuracy, 100 * last.val_accuracy, last.epoch,
                r.wall_seconds);
    std::printf("wrote %s, %s.history.csv, %s.curves.svg\n", out.c_str(), out.c_str(), out.c_str());
  });
}

}  // namespace

QACCEL_COMMAND(train,
               "Train a model with libtorch (SGD, seeded, deterministic); writes .qmodel + curves",
               Setup);
