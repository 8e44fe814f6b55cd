// What avgpool2d and maxpool2d share: [C, H, W] -> [C, OH, OW] over a
// kernel/stride/padding window, no parameters, one other_op per window
// element, the input's quantization, not mapped to the array.
#pragma once

#include "qaccel/graph/op_registry.h"

namespace qaccel::ops {

OpDef WindowPoolOp(const char* name, decltype(OpDef::prepare) prepare,
                   decltype(OpDef::export_record) export_record);

}  // namespace qaccel::ops
