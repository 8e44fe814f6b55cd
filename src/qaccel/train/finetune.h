// NetAdapt's fine-tuning with libtorch (torch-free API; adapt/netadapt.h
// calls it through adapt::FineTuner). The accuracy that steers the search is
// measured on a holdout carved from the training split, never on the test split.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "qaccel/adapt/netadapt.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/train/trainer.h"

namespace qaccel::train {

// Splits a training set into (rest, holdout): the holdout is `n` images
// spread evenly over it (indices floor(i * size / n)), so a label-sorted set
// keeps every class in both parts.
std::pair<data::Dataset, data::Dataset> CarveHoldout(const data::Dataset& train, int64_t n);

struct FineTuneSetup {
  data::Dataset rest;       // training split minus the holdout: short-term fine-tunes
  data::Dataset holdout;    // accuracy during the search
  data::Dataset full_train; // long-term fine-tune
  std::string data_name;
  TrainOptions short_term;  // max_iterations = the mini-batches per candidate
  TrainOptions long_term;
};

// Short-term: options from `base` (the data set's default recipe: batch,
// momentum, weight decay, augmentation) with a constant learning rate `lr`,
// `iters` mini-batches, 1 torch thread, no progress bar.
TrainOptions ShortTermOptions(const TrainOptions& base, int64_t iters, double lr,
                              int64_t train_images);
// Long-term: `base` with `epochs`, cosine from `lr`, no warmup.
TrainOptions LongTermOptions(const TrainOptions& base, int epochs, double lr, int threads,
                             bool progress);

// The adapt::FineTuner over a setup (which must outlive it).
adapt::FineTuner MakeFineTuner(const FineTuneSetup& s);

}  // namespace qaccel::train
