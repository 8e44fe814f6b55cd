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
// "nbytes"} instead of a JSON list. Every field is checked on load; errors
// name the file and the field.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "qaccel/graph/graph.h"

namespace qaccel {

inline constexpr uint32_t kModelFormatVersion = 1;

void SaveModel(const Graph& g, const std::filesystem::path& path);  // atomic
Graph LoadModel(const std::filesystem::path& path);
bool IsModelFile(const std::filesystem::path& path);  // checks the magic

// A model given on the command line: a .qmodel path or a zoo name.
Graph LoadModelOrZoo(const std::string& spec);

// JSON form of one layer's attributes and quant params (no tensors), shared by
// the model header and `qaccel info --json`.
nlohmann::json LayerToJson(const Layer& l);
nlohmann::json QuantToJson(const QuantParams& q);
QuantParams QuantFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace qaccel
