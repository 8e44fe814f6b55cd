// Default Eval of an OpKernel: the op has no kernel for that precision.
#include "qaccel/engine/op_kernel.h"

#include "qaccel/core/error.h"

namespace qaccel::engine {

void OpKernel::EvalFloat(const KernelIO<float>&) const {
  throw Error("this op has no float kernel");
}

void OpKernel::EvalInt8(const KernelIO<int8_t>&) const {
  throw Error("this op has no int8 kernel");
}

}  // namespace qaccel::engine
