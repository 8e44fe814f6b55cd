// The joint loss of an early-exit graph (graph/exits.h), BranchyNet's
// sum_i w_i * CE_i over the side exits and the final output. Includes
// <torch/torch.h>: for the libtorch translation units of train/ only.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "qaccel/graph/graph.h"
#include "qaccel/train/graph_module.h"

namespace qaccel::train {

// What the loss needs: the logits layer of each exit (side exits in order,
// then the graph's output) and its weight. Without exits: the output alone,
// weight 1 (plain cross-entropy). `weights` empty: 1 for every exit;
// otherwise one weight per exit (side exits, then the final one), each
// finite and >= 0, at least one > 0; a count mismatch is an Error.
struct ExitLoss {
  std::vector<int> layers;
  std::vector<double> weights;
};
ExitLoss MakeExitLoss(const Graph& g, const std::vector<double>& weights);

// sum_i w_i * mean CE of exit i; `final_logits` receives the graph output's
// logits (for the running accuracy).
torch::Tensor JointExitLoss(GraphModule& m, const ExitLoss& e, const torch::Tensor& x,
                            const torch::Tensor& y, torch::Tensor& final_logits);

}  // namespace qaccel::train
