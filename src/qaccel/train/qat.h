// Quantization-aware training (QAT): the torch-free options. The training
// loop (trainer.cpp) runs the model through fake quantization when
// TrainOptions::qat is enabled (qat_model.h / qat.cpp) and returns the
// quantized graph the integer engine runs. docs/lowbit.md has the recipe.
//
//   --qat wNaM        N = weight bits 1..8 (1 = binary), M = activation bits 2..8
//   weights           N >= 2: per-channel symmetric, scale = max|w| / (2^(N-1) - 1),
//                     round to nearest, straight-through gradient;
//                     N = 1: alpha * s per output channel, alpha = mean |w| (latent
//                     weights), s in {-1, +1} a sign state with hysteresis: s
//                     flips only when the latent weight crosses the flip threshold
//                     on the other side (--flip-threshold, default 0.1; 0: plain
//                     sign, 0 -> +1); straight-through gradient cancelled where
//                     |w| > 1, latent weights clipped to [-1, 1] after each step.
//                     The first and last conv/linear layers keep 8-bit weights
//                     unless --binary-all (which puts them at N bits too).
//   activations       every conv / linear / add output except the logits: M-bit
//                     asymmetric, at the point the engine quantizes it (after a
//                     folded batchnorm and a fused ReLU); range from a moving
//                     average (constant 0.01) of the batch min/max, frozen after
//                     half of the epochs (rounded up); clipped straight-through
//                     gradient. The logits and the input stay 8-bit.
//   batchnorm         a batchnorm after a conv is folded into it in the forward
//                     pass with its running statistics, which QAT does not update
//                     (frozen statistics: the engine's fold exactly); gamma and
//                     beta still train.
#pragma once

#include <string>

namespace qaccel::train {

struct QatOptions {
  std::string spec;  // "" = off, else "wNaM"
  int weight_bits = 8, act_bits = 8;
  double flip_threshold = 0.1;  // binary layers only
  bool binary_all = false;      // first and last layers at weight_bits too
  bool enabled() const { return !spec.empty(); }
};

// "w1a8" -> enabled options; throws Error "--qat w9a8: ..." naming the flag
// and the allowed ranges.
QatOptions ParseQatSpec(const std::string& spec);
// Throws Error for an out-of-range threshold or width.
void ValidateQat(const QatOptions& q);

}  // namespace qaccel::train
