// The built-in ops: one line each. A new op is a file in this directory
// defining `OpDef <Name>Op()` plus its line here.
#include "qaccel/graph/op_registry.h"

#define QACCEL_BUILTIN_OPS(X) \
  X(Input)                    \
  X(Conv2d)                   \
  X(Linear)                   \
  X(AvgPool2d)                \
  X(MaxPool2d)                \
  X(GlobalAvgPool)            \
  X(Relu)                     \
  X(Flatten)                  \
  X(Add)                      \
  X(BatchNorm)

namespace qaccel {
namespace ops {
#define QACCEL_DECLARE_OP(name) OpDef name##Op();
QACCEL_BUILTIN_OPS(QACCEL_DECLARE_OP)
#undef QACCEL_DECLARE_OP
}  // namespace ops

std::vector<OpDef> BuiltinOps() {
#define QACCEL_LIST_OP(name) ops::name##Op(),
  return {QACCEL_BUILTIN_OPS(QACCEL_LIST_OP)};
#undef QACCEL_LIST_OP
}

}  // namespace qaccel
