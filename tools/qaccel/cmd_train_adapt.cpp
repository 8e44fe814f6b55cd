// `qaccel adapt MODEL.qmodel --data D --metric M --budget B [-c ARRAY.cfg] -o DIR`:
// NetAdapt with the simulator in the loop (docs/adapt.md). Fine-tunes, so it
// lives in qaccel-train (the one executable linking libtorch); `qaccel adapt`
// hands over to it like `qaccel train`. The search itself is torch-free
// (src/qaccel/adapt/); train/finetune.h supplies the fine-tuning.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "qaccel/accel/scalesim_io.h"
#include "qaccel/adapt/netadapt.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/core/output_dir.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"
#include "qaccel/train/bridge.h"
#include "qaccel/train/finetune.h"
#include "qaccel/train/trainer.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Opts {
  std::string model, data = "mnist", config, out, resume_dir, latency_lut;
  qaccel::adapt::AdaptOptions a;
  int64_t short_term_iters = 100, holdout = 1000, limit_train = 0;
  double short_term_lr = 0.01, long_term_lr = 0.01;
  int long_term_epochs = 10, train_threads = 1;
  bool quiet = false;
};

// FNV-1a of a file's bytes: the identity of the model and array a run belongs to.
std::string FileDigest(const std::string& path) {
  if (path.empty()) return "";
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : qaccel::ReadBinaryFile(path)) h = (h ^ b) * 1099511628211ULL;
  char s[20];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

qaccel::Graph LoadStartModel(const std::string& spec) {
  using namespace qaccel;
  if (!fs::exists(spec) && IsZooModel(spec)) {
    const bool imagenet = BuildZooModel(spec).input_shape().size() == 3 &&
                          BuildZooModel(spec).input_shape()[1] > 64;
    throw Error(spec + (imagenet ? " is a topology-only zoo model (ImageNet layers, no weights, "
                                   "no data set here): it cannot be adapted"
                                 : " is a zoo model without weights") +
                "; adapt a trained float .qmodel (qaccel train --model lenet5 --data mnist -o "
                "f.qmodel)");
  }
  Check(fs::exists(spec), spec + ": no such model file");
  Graph g = LoadModel(spec);
  Check(!g.quantized(), spec + " is quantized; adapt the float model and quantize the result");
  g.ValidateParameters();
  return g;
}

void Run(Opts p) {
  using namespace qaccel;
  Check(!p.out.empty() || !p.resume_dir.empty(), "-o DIR (or --resume DIR) is required");
  Check(p.out.empty() || p.resume_dir.empty() || fs::path(p.out) == fs::path(p.resume_dir),
        "-o and --resume name different directories");
  const bool resume = !p.resume_dir.empty();
  const std::string out = resume ? p.resume_dir : p.out;
  p.a.progress = !p.quiet;
  adapt::ValidateAdaptOptions(p.a);
  const std::string metric = adapt::CanonicalMetric(p.a.metric);
  Check(p.short_term_iters >= 1, "--short-term-iters must be >= 1");
  Check(p.long_term_epochs >= 0, "--long-term-epochs must be >= 0");
  Check(p.short_term_lr > 0 && p.long_term_lr > 0, "--short-term-lr and --long-term-lr must be > 0");
  Check(p.train_threads >= 1 && p.train_threads <= 256, "--train-threads must be in 1..256");
  Graph start = LoadStartModel(p.model);
  std::vector<fs::path> inputs = {p.model};
  if (!p.config.empty()) inputs.push_back(p.config);
  if (!p.latency_lut.empty()) inputs.push_back(p.latency_lut);
  CheckReplaceableOutputDir(out, "manifest.json", "\"tool\": \"qaccel adapt\"", inputs);

  adapt::ResourceContext ctx;
  if (!p.config.empty()) {
    accel::ScaleSimConfigFile cfg = accel::ReadScaleSimConfig(p.config);
    ctx.arch = cfg.arch;
    ctx.energy = cfg.energy;
    ctx.area = cfg.area;
  }
  if (metric == "latency")
    ctx.latency = std::make_shared<adapt::LatencyTable>(
        p.latency_lut.empty() ? (adapt::WorkDirFor(out) / "latency_lut.tsv").string()
                              : p.latency_lut);

  data::Split split = data::LoadNamedDataset(p.data);
  if (p.limit_train > 0 && p.limit_train < split.train.n) {
    // N images spread evenly over the training split (as `qaccel train --limit-train`).
    data::Dataset& t = split.train;
    data::Dataset sub = t;
    sub.n = p.limit_train;
    sub.pixels.clear();
    sub.labels.clear();
    for (int64_t i = 0; i < sub.n; ++i) {
      const int64_t j = i * t.n / sub.n;
      sub.pixels.insert(sub.pixels.end(), t.image(j), t.image(j) + t.image_size());
      sub.labels.push_back(t.labels[static_cast<size_t>(j)]);
    }
    t = std::move(sub);
  }
  train::FineTuneSetup s;
  std::tie(s.rest, s.holdout) = train::CarveHoldout(split.train, p.holdout);
  s.full_train = split.train;
  s.data_name = p.data;
  const train::TrainOptions base = train::RecipeOptions("default", p.data);
  s.short_term = train::ShortTermOptions(base, p.short_term_iters, p.short_term_lr, s.rest.n);
  s.long_term = train::LongTermOptions(base, std::max(p.long_term_epochs, 1), p.long_term_lr,
                                       p.train_threads, !p.quiet);
  s.long_term.seed = adapt::CandidateSeed(p.a.seed, 0, -1);  // data order of the long-term fine-tune
  adapt::FineTuner ft = train::MakeFineTuner(s);
  if (p.long_term_epochs == 0) ft.long_term = [](Graph&, const fs::path&) {};

  const json identity = {
      {"model", p.model},
      {"model_digest", FileDigest(p.model)},
      {"data", p.data},
      {"train_images", split.train.n},
      {"holdout", p.holdout},
      {"limit_train", p.limit_train},
      {"config", p.config},
      {"config_digest", FileDigest(p.config)},
      {"metric", metric},
      {"budget", p.a.budget},
      {"init_reduction", p.a.init_reduction},
      {"decay", p.a.decay},
      {"max_iters", p.a.max_iters},
      {"granularity", p.a.granularity},
      {"select", p.a.select},
      {"seed", p.a.seed},
      {"short_term_iters", p.short_term_iters},
      {"short_term_lr", p.short_term_lr},
      {"long_term_epochs", p.long_term_epochs},
      {"long_term_lr", p.long_term_lr},
      {"train_threads", p.train_threads}};
  const json extra = {{"command_line", cli::CommandLine()},
                      {"data_source", split.source},
                      {"qaccel_version", QACCEL_VERSION},
                      {"libtorch_version", train::TorchVersion()}};
  if (!p.quiet)
    std::fprintf(stderr,
                 "adapt %s on %s: %s to %s, %lld training / %lld holdout images, seed %llu\n",
                 start.name.c_str(), p.data.c_str(), metric.c_str(), p.a.budget.c_str(),
                 static_cast<long long>(s.rest.n), static_cast<long long>(s.holdout.n),
                 static_cast<unsigned long long>(p.a.seed));
  const adapt::AdaptResult r =
      adapt::RunNetAdapt(start, p.a, ctx, ft, out, resume, identity, extra);
  std::printf("%s: %s %.6g -> %.6g %s (%.1f%% of the start, budget %.6g) in %d iterations (%s)\n",
              out.c_str(), metric.c_str(), r.start_value, r.final_value,
              adapt::MetricUnit(metric).c_str(), 100 * r.final_value / r.start_value,
              r.budget_value, r.history.back().iteration, r.stop_reason.c_str());
  std::printf("holdout accuracy %.2f%% -> %.2f%% (after the long-term fine-tune)\n",
              100 * r.history.front().holdout_accuracy, 100 * r.final_holdout_accuracy);
  std::printf("wrote %s/adapted.qmodel, history.csv, iter_<i>.qmodel, accuracy_vs_%s.svg, "
              "manifest.json\n",
              out.c_str(), metric.c_str());
}

void Setup(CLI::App* sub) {
  auto p = std::make_shared<Opts>();
  sub->add_option("model", p->model, "Trained float model (.qmodel)")->required();
  qaccel::cli::AddDataOption(sub, p->data, "training split: fine-tuning and the holdout");
  sub->add_option("--metric", p->a.metric,
                  "Resource to reduce: macs, params, cycles, energy, ... (the resource-metric "
                  "registry) or latency (engine on this CPU, per-layer look-up table)")
      ->capture_default_str();
  sub->add_option("--budget", p->a.budget,
                  "Target: an absolute value in the metric's unit, or a fraction of the start "
                  "(0.65x)")
      ->required();
  sub->add_option("-c,--config", p->config,
                  "Array .cfg (SCALE-Sim format) for cycles/energy (default: SCALE-Sim's defaults)");
  sub->add_option("-o,--output", p->out, "Output directory");
  sub->add_option("--resume", p->resume_dir,
                  "Continue the interrupted run writing DIR (same flags, model and data)");
  sub->add_option("--init-reduction", p->a.init_reduction,
                  "First iteration's reduction, fraction of the start")
      ->capture_default_str();
  sub->add_option("--decay", p->a.decay, "Reduction decay per iteration")->capture_default_str();
  sub->add_option("--max-iters", p->a.max_iters, "Maximum iterations")->capture_default_str();
  sub->add_option("--granularity", p->a.granularity, "Channels removed at a time")
      ->capture_default_str();
  sub->add_option("--short-term-iters", p->short_term_iters,
                  "Short-term fine-tune per candidate, in mini-batches")
      ->capture_default_str();
  sub->add_option("--short-term-lr", p->short_term_lr, "Short-term learning rate (constant)")
      ->capture_default_str();
  sub->add_option("--holdout", p->holdout,
                  "Holdout images carved from the training split (accuracy during the search)")
      ->capture_default_str();
  sub->add_option("--limit-train", p->limit_train,
                  "Use only N training images, spread evenly over the split (0 = all): fine-tunes "
                  "and the holdout")
      ->capture_default_str()
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--select", p->a.select, "highest-accuracy or least-drop-per-resource")
      ->capture_default_str();
  sub->add_option("--long-term-epochs", p->long_term_epochs,
                  "Long-term fine-tune at the end, epochs over the training split (0: none)")
      ->capture_default_str();
  sub->add_option("--long-term-lr", p->long_term_lr, "Long-term peak learning rate (cosine)")
      ->capture_default_str();
  sub->add_option("--seed", p->a.seed, "Seed of every fine-tune")
      ->capture_default_str()
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--threads", p->a.threads,
                  "Candidates fine-tuned in parallel (0: all cores; results independent of it)")
      ->capture_default_str()
      ->check(qaccel::cli::ThreadsRange());
  sub->add_option("--train-threads", p->train_threads,
                  "Torch threads of the long-term fine-tune (results reproducible per count)")
      ->capture_default_str();
  sub->add_option("--latency-lut", p->latency_lut,
                  "Latency look-up table file to read and extend (default: kept in DIR)");
  sub->add_flag("--quiet,-q", p->quiet, "No progress bars");
  sub->callback([p] { Run(*p); });
}

}  // namespace

QACCEL_COMMAND(adapt,
               "NetAdapt: prune a trained model to a cycles/energy/latency/MACs budget on an "
               "array, fine-tuning with libtorch",
               Setup);
