// Graph: the one model representation that flows through training,
// quantization, the engine, analysis, the simulator, DSE and NetAdapt.
//
// An ordered DAG of layers: layer i may only consume layers j < i (so the
// vector order is a valid execution order). Layer 0 is always the Input.
// Activation shapes are per sample, without the batch: CHW for feature maps,
// [F] for vectors. Parameters live in `params` (float while training; integer
// tensors plus `quant` after quantization). Structure is identical before and
// after quantization: quantize rewrites tensors and fills QuantParams.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "qaccel/core/tensor.h"
#include "qaccel/graph/input_transform.h"

namespace qaccel {

// The identity of an op: its registered name (graph/op_registry.h holds what
// each op does). The built-in kinds are named constants; a kind added at run
// time is FindOp(name).kind() or the kind() of RegisterOp's result. Compares
// by name; the name must outlive the OpKind (literals and registered names do).
class OpKind {
 public:
  constexpr OpKind() = default;
  constexpr explicit OpKind(std::string_view name) : name_(name) {}
  constexpr std::string_view name() const { return name_; }
  friend constexpr bool operator==(const OpKind& a, const OpKind& b) { return a.name_ == b.name_; }

  static const OpKind kInput;          // no inputs; out_shape = the model's input shape
  static const OpKind kConv2d;         // weight [O, I/groups, KH, KW], bias [O] (optional)
  static const OpKind kLinear;         // weight [O, I], bias [O] (optional); 1-D input
  static const OpKind kAvgPool2d;      // kernel/stride/pad; count includes padding
  static const OpKind kMaxPool2d;      // kernel/stride/pad
  static const OpKind kGlobalAvgPool;  // [C,H,W] -> [C]
  static const OpKind kRelu;
  static const OpKind kFlatten;    // [C,H,W] -> [C*H*W]
  static const OpKind kAdd;        // two inputs of equal shape (residual connections)
  static const OpKind kBatchNorm;  // gamma, beta, mean, var [C]; attr eps

 private:
  std::string_view name_ = "input";
};
inline constexpr OpKind OpKind::kInput{"input"};
inline constexpr OpKind OpKind::kConv2d{"conv2d"};
inline constexpr OpKind OpKind::kLinear{"linear"};
inline constexpr OpKind OpKind::kAvgPool2d{"avgpool2d"};
inline constexpr OpKind OpKind::kMaxPool2d{"maxpool2d"};
inline constexpr OpKind OpKind::kGlobalAvgPool{"global_avgpool"};
inline constexpr OpKind OpKind::kRelu{"relu"};
inline constexpr OpKind OpKind::kFlatten{"flatten"};
inline constexpr OpKind OpKind::kAdd{"add"};
inline constexpr OpKind OpKind::kBatchNorm{"batchnorm"};

inline std::string_view OpKindName(OpKind k) { return k.name(); }  // "conv2d", "linear", ...
OpKind ParseOpKind(std::string_view s);  // a registered kind; throws Error listing them

// Quantization parameters of one layer, filled by quant/. Conventions (the
// integer numeric contract is in kernels/reference/numeric_contract.h):
//   real = scale * (q - zero_point)
// `out_*` describe this layer's output edge; every consumer reads its input's
// quantization from the producer layer (the Input layer holds the input's).
struct QuantParams {
  bool quantized = false;
  int act_bits = 8;  // activation bit width (int8: [-128, 127])
  float out_scale = 1.0f;
  int32_t out_zero_point = 0;
  int32_t act_min = -128;  // output clamp in the quantized domain (ReLU folded in)
  int32_t act_max = 127;
  // Weights (conv/linear only).
  int weight_bits = 8;              // 8, or 1 for binary weights
  std::string weight_scheme;        // "per-tensor-asymmetric" | "per-channel-symmetric" | "binary"
  std::vector<float> weight_scale;  // 1 entry (per-tensor) or one per output channel
  std::vector<int32_t> weight_zero_point;  // same length as weight_scale
  // Requantization of the int32 accumulator to the output, per output channel
  // (or 1 entry): real_multiplier = s_in * s_w / s_out = multiplier * 2^(shift - 31).
  std::vector<int32_t> multiplier;
  std::vector<int32_t> shift;
  std::string observer;  // which observer chose out_scale (for the record)
  // Batchnorm only: the name of the conv it was folded into at quantization
  // (the layer then passes its input through unchanged and has no params).
  std::string folded_into;
};

struct Layer {
  std::string name;
  OpKind kind = OpKind::kInput;
  std::vector<int> inputs;  // indices of producer layers (< own index)

  // Attributes (meaningful per kind, as its OpDef reads them; zero/defaults otherwise).
  int64_t in_channels = 0, out_channels = 0;  // conv: channels; linear: features
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t groups = 1;
  bool has_bias = false;
  float eps = 1e-5f;  // batchnorm

  Shape out_shape;  // inferred by Graph::InferShapes
  std::map<std::string, Tensor> params;
  QuantParams quant;
};

class Graph {
 public:
  std::string name;                                    // e.g. "lenet5"
  std::vector<Layer> layers;                           // layers[0] is the Input
  nlohmann::json metadata = nlohmann::json::object();  // training recipe, seed, accuracy, ...
  InputTransform input_transform;  // stored pixels -> the real input of layers[0]

  const Shape& input_shape() const { return layers.at(0).out_shape; }
  const Shape& output_shape() const { return layers.back().out_shape; }
  // Channels of the input ([C, H, W]: C; [F]: 1) and values per channel.
  int64_t input_channels() const;
  int64_t input_channel_size() const;
  int Find(const std::string& layer_name) const;  // -1 if absent
  bool quantized() const;                         // any layer has quant.quantized

  // Recomputes every out_shape from the Input's and the attributes; checks
  // the input transform, that inputs precede consumers, that channel counts agree and that any
  // present parameter tensor has the shape the attributes imply. Throws an
  // Error naming the layer on any inconsistency.
  void InferShapes();
  // InferShapes + every conv/linear has its weight (and bias if has_bias).
  void ValidateParameters() const;
  // The step of InferShapes for layer i alone (its producers must be inferred).
  void InferLayerShape(size_t i);

  // Convenience builders used by the zoo (return the new layer's index).
  int AddInput(const std::string& n, Shape shape);
  int AddConv(const std::string& n, int from, int64_t out_ch, int64_t k, int64_t stride = 1,
              int64_t pad = 0, bool bias = true, int64_t groups = 1);
  int AddLinear(const std::string& n, int from, int64_t out_features, bool bias = true);
  int AddAvgPool(const std::string& n, int from, int64_t k, int64_t stride);
  int AddMaxPool(const std::string& n, int from, int64_t k, int64_t stride, int64_t pad = 0);
  int AddGlobalAvgPool(const std::string& n, int from);
  int AddRelu(const std::string& n, int from);
  int AddFlatten(const std::string& n, int from);
  int AddAdd(const std::string& n, int a, int b);
  int AddBatchNorm(const std::string& n, int from);

 private:
  int Push(Layer l);
};

// Shape a parameter must have, from the layer attributes (the op's ParamSpecs:
// "weight", "bias", "gamma", ...); throws Error for a parameter the op lacks.
Shape ExpectedParamShape(const Layer& l, const std::string& param);

}  // namespace qaccel
