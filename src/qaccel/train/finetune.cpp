// NetAdapt fine-tuning glue (finetune.h). Each call trains in the calling
// thread with exactly one torch intra-op thread, so candidates fine-tuned
// concurrently give the same weights as one after another.
#include "qaccel/train/finetune.h"

#include <torch/torch.h>

#include <algorithm>

#include "qaccel/core/error.h"
#include "qaccel/train/bridge.h"

namespace qaccel::train {

std::pair<data::Dataset, data::Dataset> CarveHoldout(const data::Dataset& train, int64_t n) {
  Check(n >= 1 && n < train.n, "--holdout must be in 1.." + std::to_string(train.n - 1) +
                                   " (images of the training split), got " + std::to_string(n));
  std::vector<char> in_holdout(static_cast<size_t>(train.n), 0);
  for (int64_t i = 0; i < n; ++i) in_holdout[static_cast<size_t>(i * train.n / n)] = 1;
  data::Dataset rest = train, hold = train;
  rest.name = train.name + " minus holdout";
  hold.name = train.name + " holdout";
  rest.pixels.clear(), rest.labels.clear(), hold.pixels.clear(), hold.labels.clear();
  for (int64_t i = 0; i < train.n; ++i) {
    data::Dataset& d = in_holdout[static_cast<size_t>(i)] ? hold : rest;
    d.pixels.insert(d.pixels.end(), train.image(i), train.image(i) + train.image_size());
    d.labels.push_back(train.labels[static_cast<size_t>(i)]);
  }
  hold.n = n;
  rest.n = train.n - n;
  return {rest, hold};
}

TrainOptions ShortTermOptions(const TrainOptions& base, int64_t iters, double lr,
                              int64_t train_images) {
  TrainOptions o = base;
  o.recipe = base.recipe + " (netadapt short-term)";
  o.lr = lr;
  o.schedule = "constant";
  o.warmup_epochs = 0;
  const int64_t per_epoch = (train_images + o.batch_size - 1) / o.batch_size;
  o.epochs = static_cast<int>(std::max<int64_t>(1, (iters + per_epoch - 1) / per_epoch));
  o.max_iterations = iters;
  o.threads = 1;
  o.progress = false;
  o.checkpoint.clear();
  o.resume = false;
  o.limit_train = 0;
  return o;
}

TrainOptions LongTermOptions(const TrainOptions& base, int epochs, double lr, int threads,
                             bool progress) {
  TrainOptions o = base;
  o.recipe = base.recipe + " (netadapt long-term)";
  o.epochs = epochs;
  o.lr = lr;
  o.schedule = "cosine";
  o.warmup_epochs = 0;
  o.threads = threads;
  o.progress = progress;
  o.limit_train = 0;
  return o;
}

adapt::FineTuner MakeFineTuner(const FineTuneSetup& s) {
  adapt::FineTuner f;
  f.short_term = [&s](Graph& g, uint64_t seed) {
    TrainOptions o = s.short_term;
    o.seed = seed;
    const data::Dataset none;
    Train(g, s.rest, none, o, s.data_name);
  };
  f.holdout_accuracy = [&s](const Graph& g) {
    torch::set_num_threads(1);
    return EvaluateInTorch(g, s.holdout, 1000).accuracy;
  };
  f.long_term = [&s](Graph& g, const std::filesystem::path& checkpoint) {
    TrainOptions o = s.long_term;
    o.checkpoint = checkpoint.string();
    o.resume = true;
    const data::Dataset none;
    Train(g, s.full_train, none, o, s.data_name);
    std::error_code ec;
    std::filesystem::remove(checkpoint, ec);
  };
  return f;
}

}  // namespace qaccel::train
