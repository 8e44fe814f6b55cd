// The engine's side of an op (TFLite-Micro style Prepare / Eval): OpDef::prepare
// validates one layer and returns its OpKernel, already bound to the layer's
// shapes and parameters and already the fast or the reference variant; the
// engine then calls EvalFloat or EvalInt8 once per sample.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "qaccel/graph/graph.h"
#include "qaccel/kernels/fast/isa.h"

namespace qaccel::engine {

inline constexpr size_t kMaxOpInputs = 4;

// One evaluation: producer outputs in the order of Layer::inputs, this
// layer's output buffer, and the shared kernel scratch (scratch_bytes() of
// the largest kernel; contents undefined on entry).
template <typename T>
struct KernelIO {
  std::array<const T*, kMaxOpInputs> in{};
  T* out = nullptr;
  uint8_t* scratch = nullptr;
};

struct PrepareContext {
  const Graph& graph;
  size_t index;            // the layer being prepared
  bool quantized;          // int8 execution (else float)
  bool reference_kernels;  // run the plain reference kernels even where a fast one exists
  kernels::fast::Isa isa = kernels::fast::Isa::kPortable;  // the fast kernels' path (isa.h)

  const Layer& layer() const { return graph.layers[index]; }
  const Layer& input(size_t k = 0) const {
    return graph.layers[static_cast<size_t>(layer().inputs.at(k))];
  }
  const Shape& input_shape(size_t k = 0) const { return input(k).out_shape; }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual int64_t scratch_bytes() const { return 0; }
  virtual void EvalFloat(const KernelIO<float>& io) const;  // default: throws (no float kernel)
  virtual void EvalInt8(const KernelIO<int8_t>& io) const;  // default: throws (no int8 kernel)
  // n samples at once (the engine's batched int8 path): sample j reads
  // io.in[k] + j * in_stride[k] and writes io.out + j * out_stride; one
  // scratch for all. Default: EvalInt8 per sample. Kernels that gain from
  // several samples per pass over their weights (linear) override it.
  virtual void EvalInt8Batch(const KernelIO<int8_t>& io, int64_t n,
                             const std::array<int64_t, kMaxOpInputs>& in_stride,
                             int64_t out_stride) const;
};

}  // namespace qaccel::engine
