// The training loop (see trainer.h for the contract). One of the two
// translation units of qaccel that compile torch headers.
#include "qaccel/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>

#include "qaccel/core/error.h"
#include "qaccel/core/progress.h"
#include "qaccel/core/rng.h"
#include "qaccel/graph/json_field.h"
#include "qaccel/train/checkpoint.h"
#include "qaccel/engine/engine.h"
#include "qaccel/train/exits_loss.h"
#include "qaccel/train/graph_module.h"
#include "qaccel/train/qat_model.h"

namespace qaccel::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Learning rate at iteration t (0-based) of T, per the schedule in trainer.h.
double LearningRate(const TrainOptions& o, int64_t t, int64_t iters_per_epoch) {
  const int64_t total = static_cast<int64_t>(o.epochs) * iters_per_epoch;
  const int64_t warm =
      static_cast<int64_t>(std::llround(o.warmup_epochs * static_cast<double>(iters_per_epoch)));
  if (t < warm) return o.lr * static_cast<double>(t + 1) / static_cast<double>(warm);
  if (o.schedule == "constant") return o.lr;
  if (o.schedule == "step") {
    double epoch = static_cast<double>(t) / static_cast<double>(iters_per_epoch);
    double lr = o.lr;
    if (epoch >= 0.5 * o.epochs) lr *= 0.1;
    if (epoch >= 0.75 * o.epochs) lr *= 0.1;
    return lr;
  }
  // cosine over the iterations after warmup
  double span = static_cast<double>(std::max<int64_t>(total - warm, 1));
  return 0.5 * o.lr * (1.0 + std::cos(kPi * static_cast<double>(t - warm) / span));
}

// Fills `out` (b x c x h x w floats, the model input: table[ch][pixel], see
// InputTransform::FloatTable) with the images of `idx`, augmented per
// o.augment with draws from rng (in index order, so the sequence depends only
// on the seed). Pixels shifted in from outside the image are 0 (black).
void MakeBatch(const data::Dataset& d, const std::vector<int64_t>& idx, const TrainOptions& o,
               const std::vector<float>& table, Rng& rng, std::vector<float>& out) {
  const int64_t c = d.c, h = d.h, w = d.w, hw = h * w;
  out.resize(idx.size() * static_cast<size_t>(c * hw));
  for (size_t k = 0; k < out.size(); ++k) out[k] = table[(k / static_cast<size_t>(hw)) % c * 256];
  const bool shift = o.augment == "shift" || o.augment == "shift-flip";
  const bool flip = o.augment == "shift-flip";
  const int64_t s = o.shift_pixels;
  for (size_t b = 0; b < idx.size(); ++b) {
    const uint8_t* src = d.image(idx[b]);
    float* dst = out.data() + b * static_cast<size_t>(c * hw);
    int64_t dx = 0, dy = 0;
    bool mirror = false;
    if (shift) {
      dx = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * s + 1))) - s;
      dy = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * s + 1))) - s;
    }
    if (flip) mirror = rng.Below(2) == 1;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y) {
        int64_t sy = y - dy;
        if (sy < 0 || sy >= h) continue;
        for (int64_t x = 0; x < w; ++x) {
          int64_t sx = x - dx;
          if (sx < 0 || sx >= w) continue;
          int64_t ox = mirror ? w - 1 - x : x;
          dst[ch * hw + y * w + ox] = table[ch * 256 + src[ch * hw + sy * w + sx]];
        }
      }
  }
}

// N images spread evenly over the set: indices floor(i * n / N), i < N. (Not
// the first N: the npm digits are stored sorted by label, so their first
// 1,000 images are all zeros.)
data::Dataset EvenSubset(const data::Dataset& d, int64_t count) {
  if (count >= d.n) return d;
  data::Dataset s = d;
  s.n = count;
  s.pixels.resize(static_cast<size_t>(count * d.image_size()));
  s.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    int64_t j = i * d.n / count;
    std::copy(d.image(j), d.image(j) + d.image_size(), s.pixels.begin() + i * d.image_size());
    s.labels[static_cast<size_t>(i)] = d.labels[static_cast<size_t>(j)];
  }
  return s;
}

std::string Percent(double f) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100.0 * f);
  return b;
}

// Throws Error unless the data fits the model (input shape, classes, labels).
void CheckTrainData(const Graph& g, const data::Dataset& train, const data::Dataset& train_full,
                    const data::Dataset& val) {
  Check(train.n > 0, "training set '" + train_full.name + "' is empty");
  Shape data_shape = {train.c, train.h, train.w};
  Check(g.input_shape() == data_shape,
        "model '" + g.name + "' expects input " + ShapeToString(g.input_shape()) +
            " but data set '" + train.name + "' has images " + ShapeToString(data_shape));
  Check(val.n == 0 || (val.c == train.c && val.h == train.h && val.w == train.w),
        "validation set '" + val.name + "' image size differs from the training set's");
  Check(g.output_shape() == Shape{train.num_classes},
        "model '" + g.name + "' has output " + ShapeToString(g.output_shape()) + " but data set '" +
            train.name + "' has " + std::to_string(train.num_classes) + " classes");
  for (uint8_t y : train.labels)
    if (y >= train.num_classes)
      throw Error("training set '" + train.name + "': label " + std::to_string(y) +
                  " >= number of classes " + std::to_string(train.num_classes));
}

// The data order and augmentation stream of epoch `epoch` (1-based): a
// function of the seed and the epoch number only, so that a run resumed from
// a checkpoint draws exactly what an uninterrupted run draws.
Rng EpochRng(uint64_t seed, int epoch) {
  return Rng(seed ^ 0x7261696e64617461ULL ^
             (static_cast<uint64_t>(epoch - 1) * 0x9e3779b97f4a7c15ULL));
}

// What the epochs of one run share.
struct TrainLoop {
  const data::Dataset& train;
  const TrainOptions& o;
  GraphModule& model;
  torch::optim::SGD& opt;
  std::vector<int64_t> order;  // the epoch's permutation of the training set
  const std::vector<float>& input_table;  // InputTransform::FloatTable of the model
  int64_t iters = 0;                      // per epoch
  int64_t t = 0;                          // iterations so far
  QatModel* qat = nullptr;                // quantization-aware training, when enabled
  ExitLoss exits;                         // the loss's exits and weights (exits_loss.h)
};

// One epoch of SGD over the shuffled training set: fills rec's train columns
// (the progress bar, when shown, is left for the caller to finish).
void RunEpoch(TrainLoop& L, int epoch, EpochRecord& rec, std::optional<ProgressBar>& bar) {
  const TrainOptions& o = L.o;
  const data::Dataset& train = L.train;
  Rng rng = EpochRng(o.seed, epoch);
  std::iota(L.order.begin(), L.order.end(), int64_t{0});
  rng.Shuffle(L.order);
  rec.epoch = epoch;
  rec.lr = LearningRate(o, L.t, L.iters);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  if (o.progress)
    bar.emplace("epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), L.iters);
  std::vector<float> batch;
  std::vector<int64_t> idx;
  for (int64_t it = 0; it < L.iters && (o.max_iterations <= 0 || L.t < o.max_iterations);
       ++it, ++L.t) {
    int64_t begin = it * o.batch_size, end = std::min(train.n, begin + o.batch_size);
    idx.assign(L.order.begin() + begin, L.order.begin() + end);
    MakeBatch(train, idx, o, L.input_table, rng, batch);
    const int64_t b = end - begin;
    auto x = torch::from_blob(batch.data(), {b, train.c, train.h, train.w}, torch::kFloat32);
    std::vector<int64_t> labels(static_cast<size_t>(b));
    for (int64_t k = 0; k < b; ++k)
      labels[static_cast<size_t>(k)] =
          train.labels[static_cast<size_t>(idx[static_cast<size_t>(k)])];
    auto y = torch::from_blob(labels.data(), {b}, torch::kInt64);
    const double lr = LearningRate(o, L.t, L.iters);
    for (auto& group : L.opt.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    L.opt.zero_grad();
    torch::Tensor logits, loss;
    if (L.qat) {  // QAT graphs have no exits (refused in Train)
      logits = L.qat->Forward(x, true);
      loss = torch::nn::functional::cross_entropy(logits, y);
    } else {
      loss = JointExitLoss(L.model, L.exits, x, y, logits);
    }
    loss.backward();
    L.opt.step();
    if (L.qat) L.qat->AfterStep();
    const double l = loss.item<double>();
    if (!std::isfinite(l))
      throw Error("training diverged at epoch " + std::to_string(epoch) + " iteration " +
                  std::to_string(it + 1) + " (loss " + std::to_string(l) +
                  "); lower --lr or add --warmup");
    loss_sum += l * static_cast<double>(b);
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += b;
    if (o.progress) {
      char s[96];
      std::snprintf(s, sizeof s, "loss %.4f acc %s lr %.4g", loss_sum / static_cast<double>(seen),
                    Percent(static_cast<double>(correct) / static_cast<double>(seen)).c_str(), lr);
      bar->SetSuffix(s);
      bar->Tick();
    }
  }
  rec.train_loss = loss_sum / static_cast<double>(seen);
  rec.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
}

// metadata["training"]: recipe, options, seed, data, final accuracies, versions.
nlohmann::json TrainingRecord(const TrainOptions& o, const std::string& data_name,
                              const data::Dataset& train_full, const data::Dataset& train,
                              const data::Dataset& val, const TrainResult& r) {
  const EpochRecord& last = r.history.back();
  nlohmann::json j;
  j["recipe"] = o.recipe;
  j["seed"] = o.seed;
  j["dataset"] = data_name;
  j["train_split"] = train_full.name;
  j["train_images"] = train.n;
  j["validation_split"] = val.n > 0 ? val.name : "";
  j["validation_images"] = val.n;
  j["validation_use"] = "curves only; final-epoch weights saved, no checkpoint selection";
  j["options"] = {{"epochs", o.epochs},
                  {"batch_size", o.batch_size},
                  {"test_batch_size", o.test_batch_size},
                  {"lr", o.lr},
                  {"momentum", o.momentum},
                  {"weight_decay", o.weight_decay},
                  {"nesterov", o.nesterov},
                  {"schedule", o.schedule},
                  {"warmup_epochs", o.warmup_epochs},
                  {"augment", o.augment},
                  {"shift_pixels", o.shift_pixels},
                  {"threads", o.threads},
                  {"init", o.init},
                  {"limit_train", o.limit_train},
                  {"optimizer", "SGD"},
                  {"loss", "cross-entropy"}};
  if (o.qat.enabled())  // only then, so float runs record (and resume) exactly as before
    j["options"]["qat"] = {{"spec", o.qat.spec},
                           {"flip_threshold", o.qat.flip_threshold},
                           {"binary_all", o.qat.binary_all}};
  if (!o.exit_weights.empty()) j["options"]["exit_weights"] = o.exit_weights;
  j["final_train_loss"] = last.train_loss;
  j["final_train_accuracy"] = last.train_accuracy;
  if (val.n > 0) {
    j["final_val_loss"] = last.val_loss;
    j["final_val_accuracy"] = last.val_accuracy;
  }
  j["versions"] = {{"qaccel", QACCEL_VERSION}, {"libtorch", TorchVersion()}};
  return j;
}

}  // namespace

namespace {

// What a checkpoint must match to be resumed: the run's seed, options and data.
nlohmann::json RunIdentity(const Graph& g, const TrainOptions& o, const std::string& data_name,
                           const data::Dataset& train_full, const data::Dataset& train,
                           const data::Dataset& val) {
  TrainResult none;
  none.history.resize(1);
  nlohmann::json rec = TrainingRecord(o, data_name, train_full, train, val, none);
  return {{"model", g.name},       {"seed", o.seed},
          {"dataset", data_name},  {"train_split", train_full.name},
          {"train_images", train.n}, {"validation_images", val.n},
          {"options", rec["options"]}};
}

// Reads o.checkpoint when resuming (nullopt: none, start fresh) and puts its
// weights into g; throws Error if it belongs to another run.
std::optional<Checkpoint> ResumeFrom(const TrainOptions& o, const nlohmann::json& run, Graph& g) {
  std::error_code ec;
  if (!o.resume || o.checkpoint.empty() || !std::filesystem::exists(o.checkpoint, ec))
    return std::nullopt;
  Checkpoint c = ReadCheckpoint(o.checkpoint);
  if (c.state.value("run", nlohmann::json()) != run)
    throw Error(o.checkpoint + ": checkpoint of a different run (seed, options or data differ: " +
                c.state.value("run", nlohmann::json()).dump() + "); delete it or drop --resume");
  Check(c.weights.layers.size() == g.layers.size(),
        o.checkpoint + ": checkpoint weights are for another model");
  for (size_t i = 0; i < g.layers.size(); ++i) g.layers[i].params = c.weights.layers[i].params;
  return c;
}

// Validation columns and the progress line after one epoch's training.
void FinishEpoch(GraphModule& model, QatModel* qat, const data::Dataset& val,
                 const TrainOptions& o, EpochRecord& rec, std::optional<ProgressBar>& bar) {
  rec.val_loss = rec.val_accuracy = std::nan("");
  if (val.n > 0) {
    Evaluation e = qat ? qat->Evaluate(val, o.test_batch_size)
                       : Evaluate(model, val, o.test_batch_size);
    rec.val_loss = e.loss;
    rec.val_accuracy = e.accuracy;
  }
  if (o.progress) {
    char s[160];
    std::snprintf(s, sizeof s, "loss %.4f acc %s | val loss %.4f acc %s", rec.train_loss,
                  Percent(rec.train_accuracy).c_str(), rec.val_loss,
                  Percent(rec.val_accuracy).c_str());
    bar->SetSuffix(s);
    bar->Finish();
  }
}

// QAT: replaces g by its integer form and records the agreement between the
// fake-quantized forward pass and the integer engine on the validation set.
void FinishQat(Graph& g, QatModel& qat, const data::Dataset& train, const data::Dataset& val,
               const TrainOptions& o, TrainResult& r) {
  Graph q = qat.Convert(g, train);
  q.metadata["training"] = g.metadata["training"];
  nlohmann::json rec = qat.Record();
  if (val.n > 0) {
    const std::vector<int64_t> fake = qat.Predict(val, o.test_batch_size);
    engine::Engine e(q, {.threads = o.threads});
    const std::vector<float> logits = e.Run(val.pixels.data(), val.n);
    const int64_t k = e.num_outputs();
    int64_t agree = 0, correct = 0;
    for (int64_t i = 0; i < val.n; ++i) {
      const float* row = logits.data() + i * k;
      const int64_t p = std::max_element(row, row + k) - row;
      agree += p == fake[static_cast<size_t>(i)];
      correct += p == val.labels[static_cast<size_t>(i)];
    }
    rec["validation_images"] = val.n;
    rec["fake_quant_accuracy"] = r.history.back().val_accuracy;
    rec["integer_engine_accuracy"] = static_cast<double>(correct) / static_cast<double>(val.n);
    rec["engine_agreement"] = static_cast<double>(agree) / static_cast<double>(val.n);
  }
  q.metadata["qat"] = rec;
  r.record["qat"] = rec;
  g = std::move(q);
}

}  // namespace

TrainResult Train(Graph& g, const data::Dataset& train_full, const data::Dataset& val,
                  const TrainOptions& o, const std::string& data_name) {
  ValidateOptions(o);
  const auto t_start = std::chrono::steady_clock::now();
  const data::Dataset train =
      o.limit_train > 0 ? EvenSubset(train_full, o.limit_train) : train_full;
  CheckTrainData(g, train, train_full, val);
  const nlohmann::json run = RunIdentity(g, o, data_name, train_full, train, val);
  std::optional<Checkpoint> resumed = ResumeFrom(o, run, g);

  torch::set_num_threads(o.threads);
  at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
  torch::manual_seed(o.seed);
  GraphModule model(g, o.init);
  model->train();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(o.lr)
                                                 .momentum(o.momentum)
                                                 .weight_decay(o.weight_decay)
                                                 .nesterov(o.nesterov));
  const std::vector<float> input_table = g.input_transform.FloatTable(train.c);
  std::optional<QatModel> qat;
  if (o.qat.enabled()) qat.emplace(model, o.qat, o.epochs);
  TrainLoop loop{train, o, model, opt, std::vector<int64_t>(static_cast<size_t>(train.n)),
                 input_table};
  loop.qat = qat ? &*qat : nullptr;
  loop.iters = (train.n + o.batch_size - 1) / o.batch_size;
  loop.exits = MakeExitLoss(g, o.exit_weights);
  // Decided for now: QAT trains single-exit graphs. An early-exit model is
  // trained in float and quantized with `qaccel quantize` (docs/exits.md).
  Check(!(qat && loop.exits.layers.size() > 1),
        "--qat: early-exit models are not supported by quantization-aware training yet; train "
        "the float model, then use qaccel quantize");
  TrainResult r;
  r.train_images = train.n;
  r.val_images = val.n;
  if (resumed) {
    opt.load(resumed->optimizer);
    r.history = HistoryFromJson(resumed->state.value("history", nlohmann::json()), o.checkpoint);
    r.resumed_after_epoch = Field<int>(resumed->state, "epoch", o.checkpoint);
    Check(static_cast<size_t>(r.resumed_after_epoch) == r.history.size() &&
              r.resumed_after_epoch < o.epochs,
          o.checkpoint + ": checkpoint epoch and history disagree");
    loop.t = r.resumed_after_epoch * loop.iters;
    if (qat) qat->LoadState(resumed->state.value("qat", nlohmann::json()), o.checkpoint);
  }
  for (int epoch = r.resumed_after_epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto e_start = std::chrono::steady_clock::now();
    EpochRecord rec;
    std::optional<ProgressBar> bar;
    if (qat) qat->BeginEpoch(epoch);
    RunEpoch(loop, epoch, rec, bar);
    if (qat) rec.flip_ratio = qat->TakeFlipRatio();
    FinishEpoch(model, loop.qat, val, o, rec, bar);
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - e_start).count();
    r.history.push_back(rec);
    if (!o.checkpoint.empty() && epoch < o.epochs) {
      Graph weights = g;
      model->StoreParameters(weights);
      nlohmann::json state = {
          {"epoch", epoch}, {"run", run}, {"history", HistoryToJson(r.history)}};
      if (qat) state["qat"] = qat->State();
      WriteCheckpoint(o.checkpoint, weights, state, opt);
    }
  }
  model->StoreParameters(g);
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  r.record = TrainingRecord(o, data_name, train_full, train, val, r);
  g.metadata["input_transform"] = g.input_transform.Describe();
  g.metadata["training"] = r.record;
  if (qat) FinishQat(g, *qat, train, val, o, r);
  if (loop.exits.layers.size() > 1) g.metadata["training"]["exit_weights"] = loop.exits.weights;
  return r;
}

}  // namespace qaccel::train
