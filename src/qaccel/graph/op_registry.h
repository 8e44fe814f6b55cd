// The op registry: everything qaccel knows about one op kind, in one OpDef.
//
// An op is one file in src/qaccel/ops/ that builds its OpDef, plus one line
// in ops/builtin_ops.cpp (its libtorch equivalent is one entry in
// train/torch_ops.cpp). Code outside the library adds ops at run time with
// RegisterOp. Every module reads its part of an op from here: graph/ the
// shapes, parameters and model-file attributes; analysis/ the counts;
// engine/ the kernels (Prepare -> OpKernel); quant/ the quantization rule;
// export/ the manifest record; accel/ the systolic-array mapping.
//
// Hooks whose types belong to a higher module (engine, quant, accel) are
// declared here by name only, so graph/ does not depend on those modules.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "qaccel/graph/graph.h"

namespace qaccel {
namespace engine {
class OpKernel;
struct PrepareContext;
}  // namespace engine
namespace quant {
struct OpQuantContext;
}  // namespace quant
namespace accel {
struct LayerSpec;
}  // namespace accel

// One parameter tensor of a layer and the shape its attributes imply.
struct ParamSpec {
  std::string name;
  Shape shape;
  bool required = true;  // ValidateParameters insists on it
};

// What a layer costs (analysis/): parameter counts and operations per sample.
struct OpCost {
  int64_t weights = 0;    // parameters stored at the layer's weight_bits
  int64_t params32 = 0;   // parameters stored at 32 bits (bias, batchnorm)
  int64_t macs = 0;       // multiply-accumulates
  int64_t other_ops = 0;  // pooling / element-wise operations
};

// The product of non-negative counts, or Error "... exceeds 2^63 - 1" when it
// overflows int64 (shapes come from model files; analysis/ names the layer).
int64_t CountProduct(std::initializer_list<int64_t> factors);
// a + b for counts, with the same overflow check.
int64_t CountSum(int64_t a, int64_t b);

// How calibration treats an op's output edge (quant/).
enum class QuantRole {
  kDerived,            // the rule derives the output quantization from the inputs
  kObserved,           // an observer measures the output range (at the end of its fused chain)
  kFusedActivation,    // folds into an observed producer's clamp (relu)
  kFoldsIntoProducer,  // folded into its producer's weights before quantization (batchnorm)
};

// How the systolic-array simulator treats an op (accel/).
enum class ArrayRole {
  kFree,      // costs nothing (input, flatten); not listed
  kUnmapped,  // runs beside the array; listed with OpCost::other_ops
  kArray,     // mapped onto the array by map_to_array
};

struct ArrayMapOptions {
  int64_t batch = 1;
  bool gemm = false;  // convolutions in the GEMM form even at batch 1
};

struct OpDef {
  std::string name;  // the model-file "kind"; the OpKind of this op
  int num_inputs = 1;

  // graph/: sets l.out_shape (and attributes derived from the inputs) from
  // the input shapes; throws Error prefixed with `where` on inconsistency.
  void (*infer_shape)(Layer& l, const std::vector<const Shape*>& in,
                      const std::string& where) = nullptr;
  // Every parameter the layer may hold (null: none).
  std::vector<ParamSpec> (*params)(const Layer& l) = nullptr;
  // Model-file attributes beyond name/kind/inputs/out_shape/quant/params.
  void (*save_attrs)(const Layer& l, nlohmann::json& j) = nullptr;
  void (*load_attrs)(Layer& l, const nlohmann::json& j, const std::string& where) = nullptr;

  // analysis/ (null: costs nothing).
  OpCost (*count)(const Layer& l, const std::vector<const Shape*>& in) = nullptr;

  // engine/: validates the layer for execution and returns its kernel,
  // choosing the fast or the reference variant.
  std::unique_ptr<engine::OpKernel> (*prepare)(const engine::PrepareContext& ctx) = nullptr;

  // quant/: fills the layer's QuantParams (and rewrites its parameters).
  QuantRole quant_role = QuantRole::kDerived;
  void (*quantize)(quant::OpQuantContext& ctx) = nullptr;
  bool accepts_fold = false;  // a kFoldsIntoProducer op may fold into this one
  // kFoldsIntoProducer only: folds `self` into `producer` (float, in place).
  void (*fold_into_producer)(Layer& self, Layer& producer) = nullptr;

  // export/: op-specific fields of the manifest's layer record, including
  // "integer_ops" (the exact integer operations, in order).
  nlohmann::json (*export_record)(const Graph& g, const Layer& l) = nullptr;

  // accel/
  ArrayRole array_role = ArrayRole::kUnmapped;
  void (*map_to_array)(const Graph& g, const Layer& l, const ArrayMapOptions& o,
                       std::vector<accel::LayerSpec>& out) = nullptr;

  OpKind kind() const { return OpKind(name); }
};

// Adds an op (throws Error if the name is taken or a required hook is
// missing). Returns the stored definition; its kind() stays valid forever.
// Register before other threads look ops up: lookups do not lock.
const OpDef& RegisterOp(OpDef def);
// The definition of a kind / name; throws Error listing the registered names.
const OpDef& FindOp(OpKind kind);
const OpDef& FindOp(std::string_view name);
bool HasOp(std::string_view name);
std::vector<std::string> RegisteredOpNames();  // sorted

// The built-in ops (ops/builtin_ops.cpp), added on first use of the registry.
std::vector<OpDef> BuiltinOps();

}  // namespace qaccel
