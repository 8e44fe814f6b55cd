// Graph -> SCALE-Sim topology: the layers the systolic array executes
// (convolutions and fully connected layers, as LayerSpecs) plus the layers it
// does not (pooling, add, relu, batchnorm, ...) with their operation counts,
// and the element size implied by the model's bit widths.
//
// Mapping (the contract the simulator, the DSE and NetAdapt rely on):
//   conv, batch 1    SCALE-Sim conv row: IFMAP H/W = input H/W + 2 * padding
//                    (SCALE-Sim has no padding field; it is folded into the
//                    IFMAP), filter KH x KW, channels C / groups, filters
//                    O / groups, stride (SCALE-Sim's conv row has one stride
//                    for both axes; a layer with stride_h != stride_w is kept
//                    as a LayerSpec but cannot be written to a conv CSV).
//   conv, batch B>1  GEMM (im2col over the whole batch): M = B * OH * OW,
//                    N = O / groups, K = KH * KW * C / groups, in SCALE-Sim's
//                    own GEMM form (LayerSpec::Gemm). The array sees exactly
//                    the same MACs and operand matrices as B conv runs, but
//                    weights are reused across the batch; IFMAP traffic is the
//                    im2col matrix (overlapping windows are not deduplicated,
//                    an upper bound on the conv form's IFMAP traffic).
//   --gemm           every conv is written in that GEMM form, also at B = 1.
//   grouped conv     one LayerSpec per group, named "<layer>.g<i>" (depthwise
//                    = groups == channels: C/groups = 1 channel per group).
//   linear           GEMM M = B, N = out_features, K = in_features.
//   everything else  not mapped to the array; listed in `unmapped` with its
//                    element operations from analysis (x batch). Flatten and
//                    the input are free and are not listed.
// Element size: the array moves one element per word. Float models: 4 bytes.
// Quantized models: ceil(max(act_bits, weight_bits) / 8) over the mapped
// layers (int8 -> 1 byte; 1-bit weights with 8-bit activations -> 1 byte).
// Layers below 8 bits also carry their operand widths (LayerSpec::weight_bits
// = the layer's, act_bits = its input's): the simulator then sizes the filter
// / IFMAP / OFMAP SRAMs in elements of that width and counts bytes at it
// (cost_model.h, ArchConfig::weight_bits).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/graph/graph.h"

namespace qaccel::accel {

struct TopologyOptions {
  int64_t batch = 1;
  bool gemm = false;  // write convolutions in the GEMM form even at batch 1
};

struct UnmappedLayer {
  std::string name, kind;
  int64_t ops = 0;  // element operations (analysis other_ops x batch)
};

struct Topology {
  std::string model;              // graph name
  std::vector<LayerSpec> layers;  // what the array runs, in graph order
  std::vector<UnmappedLayer> unmapped;
  int word_bytes = 4;  // element size implied by the bit widths
  int act_bits = 32, weight_bits = 32;
  int64_t batch = 1;
  int64_t unmapped_ops() const;
};

Topology TopologyFromGraph(const Graph& g, const TopologyOptions& opt = {});

// True if `spec` has the exact shape of SCALE-Sim's GEMM mapping
// (filter 1 x K over an M x K ifmap, 1 channel, stride 1).
bool IsGemmShaped(const LayerSpec& spec);

// SCALE-Sim topology CSV text. Conv form (header exactly SCALE-Sim's
// "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
// Channels, Num Filter, Strides,"); GEMM-shaped specs are written as their
// conv equivalent. GEMM form: "Layer, M, N, K," with every spec converted to
// its GEMM (M = OH*OW, N = filters, K = window). Throws if a spec has
// stride_h != stride_w (conv form) or a name with a comma.
std::string TopologyConvCsv(const std::vector<LayerSpec>& layers);
std::string TopologyGemmCsv(const std::vector<LayerSpec>& layers);

}  // namespace qaccel::accel
