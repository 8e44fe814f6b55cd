// Pieces shared by several built-in ops (src/qaccel/ops/*.cpp): attribute
// (de)serialization, shape arithmetic, kernel-shape builders, parameter
// checks for Prepare, and manifest fragments.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "qaccel/core/error.h"
#include "qaccel/engine/op_kernel.h"
#include "qaccel/graph/json_field.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/kernels/reference/int8_kernels.h"
#include "qaccel/kernels/reference/shapes.h"

namespace qaccel::ops {

namespace kr = kernels::reference;
using engine::KernelIO;

std::string Where(const Layer& l);  // "layer 'conv1' (conv2d)"

// Output size of a window along one axis: (in + 2p - k) / s + 1; throws for
// a non-positive kernel/stride, negative padding or a kernel beyond the input.
int64_t OutDim(int64_t in, int64_t k, int64_t s, int64_t p, const std::string& where);
// [C, H, W] input -> [out_c, OH, OW] by the layer's kernel/stride/padding.
Shape WindowOutShape(const Layer& l, const Shape& in, int64_t out_c, const std::string& where);
void CheckChw(const Shape& in, const std::string& where);  // needs a [C, H, W] input
// A pool's input: checks it is [C, H, W], sets in/out_channels = C, returns C.
int64_t ChannelsOfPoolInput(Layer& l, const Shape& in, const std::string& where);

// Model-file attributes: "kernel", "stride", "padding" ([h, w] each) and
// "in_channels", "out_channels", "bias".
void SaveWindowAttrs(const Layer& l, nlohmann::json& j);
void LoadWindowAttrs(Layer& l, const nlohmann::json& j, const std::string& where);
void SaveChannelAttrs(const Layer& l, nlohmann::json& j);
void LoadChannelAttrs(Layer& l, const nlohmann::json& j, const std::string& where);
// other_ops = one per output element (relu, add, ...).
OpCost CountElementwise(const Layer& l, const std::vector<const Shape*>& in);

// "weight" and "bias" specs of a conv / linear layer with this weight shape.
std::vector<ParamSpec> WeightAndBias(const Layer& l, Shape weight_shape);

// Kernel shapes from a layer and its input shape.
kernels::ConvShape MakeConvShape(const Layer& l, const Shape& in);
kernels::PoolShape MakePoolShape(const Layer& l, const Shape& in);
int64_t SpatialSize(const Shape& s);  // product of all but the first dimension
kernels::reference::RequantParams MakeRequant(const Layer& l, const QuantParams& in_q);

// Prepare-time checks, throwing Error naming the layer.
void CheckTensor(const Layer& l, const char* name, DType want, bool required);
void CheckWeightedLayer(const engine::PrepareContext& ctx);  // conv / linear tensors + requant
const float* FloatParam(const Layer& l, const char* name);   // null if absent

[[noreturn]] void NoKernel(const char* precision);  // throws "this op has no <precision> kernel"

// A kernel from callables: EvalFloat calls f(io), EvalInt8 calls i(io);
// scratch_bytes() is `scratch`. Prepare functions build theirs with these.
template <typename F, typename I>
class CallableKernel : public engine::OpKernel {
 public:
  CallableKernel(F f, I i, int64_t scratch)
      : f_(std::move(f)), i_(std::move(i)), scratch_(scratch) {}
  int64_t scratch_bytes() const override { return scratch_; }
  void EvalFloat(const engine::KernelIO<float>& io) const override { f_(io); }
  void EvalInt8(const engine::KernelIO<int8_t>& io) const override { i_(io); }

 private:
  F f_;
  I i_;
  int64_t scratch_;
};

template <typename F, typename I>
std::unique_ptr<engine::OpKernel> MakeKernel(F f, I i, int64_t scratch = 0) {
  return std::make_unique<CallableKernel<F, I>>(std::move(f), std::move(i), scratch);
}
// Kernels for one precision only (the graph is float or int8 throughout).
template <typename F>
std::unique_ptr<engine::OpKernel> MakeFloatKernel(F f, int64_t scratch = 0) {
  return MakeKernel(
      std::move(f), [](const engine::KernelIO<int8_t>&) { NoKernel("int8"); }, scratch);
}
template <typename I>
std::unique_ptr<engine::OpKernel> MakeInt8Kernel(I i, int64_t scratch = 0) {
  return MakeKernel([](const engine::KernelIO<float>&) { NoKernel("float"); }, std::move(i),
                    scratch);
}
// out = in[0], numel elements (flatten; a folded batchnorm at int8).
std::unique_ptr<engine::OpKernel> MakeCopyKernel(int64_t numel);

// The bound parameters of a conv / linear kernel.
struct FloatWeights {
  explicit FloatWeights(const Layer& l);
  const float *weight, *bias;  // bias null if absent
};
struct Int8Weights {
  Int8Weights(const Layer& l, const QuantParams& in_q);
  kernels::reference::RequantParams requant;
  const int8_t* weight;
  const int32_t* bias;  // null if absent
};

// Manifest fragment: the weight / bias / requant fields and file names of a
// conv or linear layer (the window attributes are SaveWindowAttrs').
void WeightedRecord(const Layer& l, const char* weight_layout, nlohmann::json& j);

}  // namespace qaccel::ops
