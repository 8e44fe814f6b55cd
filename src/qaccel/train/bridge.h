// Graph <-> libtorch bridge, torch-free API (the implementation lives in
// graph_module.cpp; callers need not compile torch headers).
//
// Input: the graph's input transform (Graph::input_transform,
// input_transform.h) turns pixels into the model input, in training as in the
// engine; the default is pixel / 255 with no mean/std normalization, which
// makes int8 input quantization exact (scale 1/255, zero point -128,
// q = pixel - 128). Trained models also record its description as
// metadata["input_transform"] ("pixel/255" for the default).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"

namespace qaccel::train {

// Gives every conv/linear/batchnorm layer that has no float parameters an
// initialization drawn after torch::manual_seed(seed): "torch" = PyTorch's
// default, "kaiming" = He uniform with zero bias (graph_module.h has the
// formulas); layers that already have float parameters keep them.
void InitializeParameters(Graph& g, uint64_t seed, const std::string& init = "torch");

// Graph -> torch module -> Graph: the parameters the module ends up with
// (must equal the input's for a fully parameterized graph).
Graph RoundTripThroughTorch(const Graph& g);

// Forward pass of the torch module in eval mode (batchnorm uses running
// stats). `input` holds batch x input_shape floats (already transformed);
// returns batch x output_shape floats. Missing parameters are initialized
// with torch's default init after torch::manual_seed(seed).
std::vector<float> TorchForward(const Graph& g, const std::vector<float>& input, int64_t batch,
                                uint64_t seed = 0);

struct Evaluation {
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // fraction in [0, 1]
  int64_t count = 0;
};
// Evaluates the graph's float parameters on a data set in eval mode.
Evaluation EvaluateInTorch(const Graph& g, const data::Dataset& d, int64_t batch_size = 1000);

// "1.13.0" (the libtorch headers compiled against).
std::string TorchVersion();

}  // namespace qaccel::train
