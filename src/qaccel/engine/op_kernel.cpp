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

void OpKernel::EvalInt8Batch(const KernelIO<int8_t>& io, int64_t n,
                             const std::array<int64_t, kMaxOpInputs>& in_stride,
                             int64_t out_stride) const {
  KernelIO<int8_t> one = io;
  for (int64_t j = 0; j < n; ++j) {
    for (size_t k = 0; k < kMaxOpInputs; ++k)
      one.in[k] = io.in[k] ? io.in[k] + j * in_stride[k] : nullptr;
    one.out = io.out + j * out_stride;
    EvalInt8(one);
  }
}

}  // namespace qaccel::engine
