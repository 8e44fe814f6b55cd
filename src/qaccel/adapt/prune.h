// Filter pruning of a float Graph for NetAdapt (docs/adapt.md): which output
// channels can be removed together (blocks), and removing them.
//
// A block is a set of conv/linear layers whose output channels are pruned
// together to the same width: one layer on its own, or every producer of the
// tensors an Add combines (a residual group: layers whose outputs are added
// must keep equal widths, and the kept channels are the same for all).
// Channels flow unchanged through relu, batchnorm, max/avg pooling, global
// average pooling and add; flatten turns channel c of a [C, H, W] tensor into
// features c*H*W .. (c+1)*H*W - 1. A block is not prunable when its channels
// reach the network output, the input, a grouped convolution or an op this
// file does not know (so the classifier and depthwise layers are never cut).
//
// Pruning a block to k channels keeps the k filters with the largest L2 norm
// (over all producers of the block: the norms' squares are summed), in their
// original order, and slices everything that reads them: every batchnorm in
// between (gamma, beta, mean, var) and the input channels (or features) of
// every consuming conv/linear.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel::adapt {

struct Block {
  std::string name;              // the first producer's name (+ "+N" for a residual group)
  std::vector<int> producers;    // conv/linear layers whose output channels are pruned
  std::vector<int> batchnorms;   // batchnorm layers reading the block's channels
  // Conv/linear layers reading the block's channels, with the number of input
  // positions per channel (1 for conv and for a linear reading a vector,
  // H*W for a linear reading a flattened [C, H, W]).
  std::vector<std::pair<int, int64_t>> consumers;
  int64_t width = 0;             // current channel count
};

// The prunable blocks of g in layer order (a residual group appears once,
// at its first producer). Throws Error for a quantized graph.
std::vector<Block> FindBlocks(const Graph& g);

// Keeps `keep` (ascending channel indices) of block b: slices parameters when
// present (a graph without parameters is changed in its attributes alone)
// and re-infers shapes.
void PruneBlockChannels(Graph& g, const Block& b, const std::vector<int64_t>& keep);

// The `width` channels of b with the largest L2 filter norm, ascending (ties:
// the lower index). Without parameters: the first `width`.
std::vector<int64_t> ChannelsToKeep(const Graph& g, const Block& b, int64_t width);

// PruneBlockChannels(g, b, ChannelsToKeep(g, b, width)).
void PruneBlock(Graph& g, const Block& b, int64_t width);

// g without parameter tensors (for fast resource measurement of candidates).
Graph StructureOf(const Graph& g);

}  // namespace qaccel::adapt
