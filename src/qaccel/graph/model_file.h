// The qaccel model file (.qmodel), format version 1. One file, three parts:
//
//   offset 0   8 bytes   magic "QACCELMF"
//   offset 8   u32 LE    format version (1)
//   offset 12  u32 LE    reserved (0)
//   offset 16  u64 LE    H = byte length of the JSON header
//   offset 24  H bytes   JSON header (UTF-8, compact)
//   then       zero padding to a multiple of 16, then the tensor data blob
//
// The JSON header: {"format": "qaccel-model", "version": 1, "name": ...,
//   "metadata": {...}, "input_transform": {"dtype", "scale", "mean", "std"}
//   (input_transform.h; absent in older files, which load with the default
//   pixel/255), "layers": [{"name", "kind", "inputs", attributes...,
//   "out_shape", "quant": {...} (quantized layers only),
//   "params": {"weight": {"dtype": "i8", "shape": [...], "offset": o, "nbytes": n}}}]}
// Offsets are relative to the start of the blob; tensors are raw little-endian
// in their own dtype (int8 weights take one byte each, so an int8 model file is
// about a quarter of the fp32 one). A quantized layer's per-channel vectors
// (weight_scale f32, weight_zero_point / multiplier / shift i32) are stored the
// same way: in "quant" they are a blob reference {"dtype", "shape", "offset",
// "nbytes"} instead of a JSON list.
//
// Every field is checked on load, and every error starts with the file's path,
// then the layer and the field ("m.qmodel: layers[3].quant.shift[0]: ..."):
//   - a tensor's shape, nbytes and offset are checked against the bytes the
//     file holds before anything is allocated (overflow-safe), so a tensor is
//     never larger than the file, itself at most kMaxInputBytes (1 GiB,
//     core/file_io.h);
//   - integer attributes (channels, kernel, stride, padding, groups) and the
//     input shape's dimensions lie in [0, kMaxModelDimension];
//   - integers that do not fit their field's type (a zero point of 2^32) are
//     errors, not wrapped; a field of the wrong JSON type is an error naming it;
//   - quant params are range-checked against the numeric contract
//     (graph/quant_params_check.h), the input transform must give finite
//     inputs, and layer names are unique.
#pragma once

#include <filesystem>
#include <ostream>
#include <vector>
#include <nlohmann/json.hpp>

#include "qaccel/graph/graph.h"

namespace qaccel {

inline constexpr uint32_t kModelFormatVersion = 1;
// The largest integer attribute or input dimension a model file may declare
// (2^31 - 1): shape arithmetic on values this size cannot overflow int64, and
// element counts beyond int64 are caught by NumElements.
inline constexpr int64_t kMaxModelDimension = (int64_t{1} << 31) - 1;

void SaveModel(const Graph& g, const std::filesystem::path& path);  // atomic
Graph LoadModel(const std::filesystem::path& path);
// The same on bytes in memory (a model embedded in another file, such as the
// training checkpoint); `file` names the bytes in errors.
void WriteModel(const Graph& g, std::ostream& os);
Graph ParseModel(const std::vector<uint8_t>& bytes, const std::string& file);
bool IsModelFile(const std::filesystem::path& path);  // checks the magic

// A model given on the command line: a .qmodel path or a zoo name.
Graph LoadModelOrZoo(const std::string& spec);

// JSON form of one layer's attributes and quant params (no tensors), shared by
// the model header and `qaccel info --json`.
nlohmann::json LayerToJson(const Layer& l);
nlohmann::json QuantToJson(const QuantParams& q);
QuantParams QuantFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace qaccel
