// Range checks of a layer's QuantParams against the integer numeric contract
// (kernels/reference/numeric_contract.h), run on every quantized layer a
// model file holds: whatever a file says, the integer kernels then see only
// values they are defined for.
#pragma once

#include <string>

#include "qaccel/graph/graph.h"

namespace qaccel {

// Throws Error("<where>.<field>: ...") for the first value out of range:
//   act_bits, weight_bits        in [1, 8]
//   out_zero_point, act_min/max  in [-128, 127], act_min <= act_max
//   out_scale, weight_scale[c]   finite and > 0
//   weight_zero_point[c]         in [-128, 127]
//   multiplier[c], shift[c]      M in [2^30, 2^31) with shift in [-31, 30], or (0, 0)
//   an int32 bias[c]             |bias| <= MaxBiasMagnitude(K), K (weights per
//                                output channel) <= kMaxAccumulationDepth
//   lengths: as many shifts as multipliers, as many weight zero points as
//   weight scales; a layer with a "weight" parameter has 0, 1 or out_channels
//   of each (the engine then requires all four); any other layer has no
//   weight fields.
void CheckQuantParams(const Layer& l, const std::string& where);

}  // namespace qaccel
