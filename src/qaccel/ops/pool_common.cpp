// What avgpool2d and maxpool2d share (see pool_common.h).
#include "qaccel/ops/pool_common.h"

#include "qaccel/ops/op_helpers.h"
#include "qaccel/quant/op_quant.h"

namespace qaccel::ops {
namespace {

void InferShape(Layer& l, const std::vector<const Shape*>& in, const std::string& where) {
  const int64_t c = ChannelsOfPoolInput(l, *in[0], where);
  l.out_shape = WindowOutShape(l, *in[0], c, where);
}

OpCost Count(const Layer& l, const std::vector<const Shape*>&) {
  return {.other_ops = CountProduct({NumElements(l.out_shape), l.kernel_h, l.kernel_w})};
}

}  // namespace

OpDef WindowPoolOp(const char* name, decltype(OpDef::prepare) prepare,
                   decltype(OpDef::export_record) export_record) {
  // An OpDef's hooks read best packed, not one per line.
  // clang-format off
  return {.name = name, .infer_shape = &InferShape, .save_attrs = &SaveWindowAttrs,
          .load_attrs = &LoadWindowAttrs, .count = &Count, .prepare = prepare,
          .quantize = &quant::SetSameAsInput, .export_record = export_record};
  // clang-format on
}

}  // namespace qaccel::ops
