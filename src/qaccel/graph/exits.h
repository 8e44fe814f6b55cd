// Early exits (BranchyNet-style side branches) in a Graph.
//
// Representation (chosen so that single-output models and files are
// unchanged, and every pass that walks the layer vector -- training,
// quantization, analysis, topology, export -- handles the heads as ordinary
// layers):
//   - An exit head is a run of ordinary layers inside Graph::layers, placed in
//     the vector right after the trunk layer it reads (its "attach" layer).
//     Its first layer consumes the attach layer; its other layers consume only
//     the attach layer or earlier layers of the same head. No trunk layer and
//     no other head consumes a head layer.
//   - The head's last layer gives its logits: a vector with as many entries as
//     the graph's output.
//   - Graph::metadata["exits"] lists the side exits in layer order:
//       [{"name": "exit1", "attach": "pool1",
//         "layers": ["exit1.conv", ..., "exit1.fc"], "threshold": 0.25}, ...]
//     `threshold` is the entropy threshold in nats (an image leaves when the
//     softmax entropy of the exit's logits is below it; 0 = nobody leaves).
//   - The final exit is the graph's output (layers.back()), never listed: an
//     image that passes every side exit gets the trunk's answer.
// A graph without metadata["exits"] has no side exits. Because the heads sit
// in execution order, running every layer in order evaluates exit i as soon as
// its inputs exist, and stopping after the head's last layer skips the rest.
#pragma once

#include <string>
#include <vector>

#include "qaccel/graph/graph.h"
#include "qaccel/graph/zoo.h"

namespace qaccel {

struct ExitSpec {
  std::string name;
  int attach = -1;           // trunk layer index the head reads
  std::vector<int> layers;   // head layer indices, ascending; layers.back() = logits
  double threshold = 0;      // entropy threshold (nats)
  int output() const { return layers.back(); }
};

// The side exits of g from metadata["exits"] (empty if absent), validated
// against the structure above; throws Error naming the exit on any violation.
std::vector<ExitSpec> ParseExits(const Graph& g);
bool HasExits(const Graph& g);
// Writes the thresholds (one per side exit) into metadata["exits"].
void SetExitThresholds(Graph& g, const std::vector<double>& thresholds);
// The indices of every head layer of g (sorted), empty without exits.
std::vector<int> ExitHeadLayers(const Graph& g);
// The trunk alone: g without its head layers and without metadata["exits"]
// (the same network with no early exit; parameters and quantization kept).
Graph StripExits(const Graph& g);

// The joint-loss weights of `qaccel train --exit-weights` (one per exit: side
// exits in order, then the final output; empty = all 1): throws a one-line
// Error for a count mismatch, a negative or non-finite weight, or all zero.
// Returns the weights to use.
std::vector<double> CheckExitWeights(const Graph& g, const std::vector<double>& weights);

// Training from a trained trunk: copies the float parameters of every layer
// of `from` whose name, kind and parameter shapes match a layer of g (the
// trunk of a branchy zoo model has the plain model's layer names). Returns the
// number of layers copied; throws Error if none matches or `from` is quantized.
int CopyTrunkParameters(Graph& g, const Graph& from);

// Appends a head to g reading layer `attach` (which must be the last layer
// when called, so that the head sits right after it) and records it in
// metadata["exits"]. `build` adds the head's layers and returns the logits
// layer. Returns the logits layer's index.
template <typename BuildHead>
int AddExitHead(Graph& g, const std::string& name, int attach, BuildHead build);
void RecordExit(Graph& g, const std::string& name, int attach, int first, int last);

// Zoo models with exits.
//   lenet5-branchy: LeNet-5 with one side exit after the first conv stage
//     (pool1, 6x14x14): conv 2x2 stride 2 6->8 (a patchify conv, 9,408 MACs),
//     ReLU, flatten, fc 392->10 (3,920 MACs). Designed for an
//     output-stationary array: the conv's 49 output pixels x 8 filters fill
//     the array's rows, and the one batch-1 fc has 10 outputs (a single fold,
//     ~K + rows + cols cycles). A 2x2 stride-2 window also maps exactly onto
//     SCALE-Sim's conv row, whose output size ceil((H - F + S) / S) exceeds
//     the true one for padded or odd-remainder stride-2 convs (3x3 stride 2
//     pad 1 on 14x14 would be simulated as 8x8 instead of 7x7).
//   resnet20-branchy: ResNet-20 with side exits after stages 1 and 2:
//     conv 2x2 stride 2 (16->16 / 32->32), BN, ReLU, global average pool, fc.
Graph BuildLenet5Branchy(const ZooOptions& opt);
Graph BuildResnet20Branchy(const ZooOptions& opt);

template <typename BuildHead>
int AddExitHead(Graph& g, const std::string& name, int attach, BuildHead build) {
  const int first = static_cast<int>(g.layers.size());
  const int last = build(g, attach);
  RecordExit(g, name, attach, first, last);
  return last;
}

}  // namespace qaccel
