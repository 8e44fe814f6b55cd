// Joint early-exit loss (exits_loss.h).
#include "qaccel/train/exits_loss.h"

#include <string>

#include "qaccel/core/error.h"
#include "qaccel/graph/exits.h"

namespace qaccel::train {

ExitLoss MakeExitLoss(const Graph& g, const std::vector<double>& weights) {
  ExitLoss e;
  for (const ExitSpec& s : ParseExits(g)) e.layers.push_back(s.output());
  e.layers.push_back(static_cast<int>(g.layers.size()) - 1);
  e.weights = CheckExitWeights(g, weights);
  return e;
}

torch::Tensor JointExitLoss(GraphModule& m, const ExitLoss& e, const torch::Tensor& x,
                            const torch::Tensor& y, torch::Tensor& final_logits) {
  if (e.layers.size() == 1) {
    final_logits = m->forward(x);
    return torch::nn::functional::cross_entropy(final_logits, y) * e.weights[0];
  }
  std::vector<torch::Tensor> outs = m->forward_outputs(x, e.layers);
  final_logits = outs.back();
  torch::Tensor loss;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (e.weights[i] == 0) continue;
    torch::Tensor l = torch::nn::functional::cross_entropy(outs[i], y) * e.weights[i];
    loss = loss.defined() ? loss + l : l;
  }
  return loss;
}

}  // namespace qaccel::train
