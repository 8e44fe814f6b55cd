// ONNX in and out (docs/interop.md), through Debian's libonnx-dev protobuf
// classes (onnx::ModelProto), not a hand-written reader.
//
// Import (opsets 9 to 17): Conv (groups, symmetric pads, strides), Gemm,
// MatMul + Add, Relu, AveragePool, MaxPool, GlobalAveragePool, Flatten,
// Reshape to [N, F], Add, BatchNormalization, Dropout / Identity, Constant;
// initializers become the layers' parameters. The model's one input is taken
// to be the stored pixels times the default input scale (pixel / 255, the
// convention of torchvision's ToTensor); a Sub/Div or Mul/Add prologue on it
// by per-channel constants becomes the graph's input transform. Anything else
// is an Error of one line naming the file, the node, its op type and the
// attribute at fault.
//
// Export: a float graph as plain ONNX (opset 13); a quantized graph as QDQ
// ONNX: every activation edge is QuantizeLinear -> DequantizeLinear with the
// edge's scale and zero point, weights are int8 initializers behind a
// DequantizeLinear (per-channel on axis 0 when per-channel), biases int32 at
// scale s_in * s_w, and the float ops run in between.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel::onnxio {

inline constexpr int64_t kMinOpset = 9, kMaxOpset = 17;
inline constexpr int64_t kExportOpset = 13;

bool IsOnnxPath(const std::filesystem::path& path);  // extension ".onnx" (any case)

// `file` names the bytes in errors.
Graph ImportOnnx(const std::vector<uint8_t>& bytes, const std::string& file);
Graph ImportOnnxFile(const std::filesystem::path& path);

// The serialized ModelProto: plain for a float graph, QDQ for a quantized one.
std::string ExportOnnx(const Graph& g);
void ExportOnnxFile(const Graph& g, const std::filesystem::path& path);  // atomic

}  // namespace qaccel::onnxio
