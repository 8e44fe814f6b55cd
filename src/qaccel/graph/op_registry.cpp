// The op registry (see op_registry.h): built-in ops on first use, plus any
// registered at run time.
#include "qaccel/graph/op_registry.h"

#include <map>

#include "qaccel/core/error.h"
#include "qaccel/core/join_names.h"

namespace qaccel {
namespace {

using OpMap = std::map<std::string, std::unique_ptr<OpDef>, std::less<>>;

const OpDef& Add(OpMap& ops, OpDef def) {
  if (def.name.empty()) throw Error("RegisterOp: an op needs a name");
  if (ops.count(def.name)) throw Error("RegisterOp: op '" + def.name + "' is already registered");
  if (def.num_inputs > 0 && !def.infer_shape)
    throw Error("RegisterOp: op '" + def.name + "' has no infer_shape");
  if (def.array_role == ArrayRole::kArray && !def.map_to_array)
    throw Error("RegisterOp: op '" + def.name + "' is an array op without map_to_array");
  auto stored = std::make_unique<OpDef>(std::move(def));
  const OpDef& ref = *stored;
  ops.emplace(ref.name, std::move(stored));
  return ref;
}

// The built-ins are added when the map is first needed, before any other op.
OpMap& Ops() {
  static OpMap ops = [] {
    OpMap m;
    for (OpDef& d : BuiltinOps()) Add(m, std::move(d));
    return m;
  }();
  return ops;
}

std::string Names() {
  return JoinNames(Ops(), [](const auto& entry) -> const std::string& { return entry.first; });
}

}  // namespace

const OpDef& RegisterOp(OpDef def) { return Add(Ops(), std::move(def)); }

const OpDef& FindOp(std::string_view name) {
  const OpMap& ops = Ops();
  auto it = ops.find(name);
  if (it == ops.end())
    throw Error("unknown layer kind '" + std::string(name) + "' (registered: " + Names() + ")");
  return *it->second;
}

const OpDef& FindOp(OpKind kind) { return FindOp(kind.name()); }

bool HasOp(std::string_view name) { return Ops().count(name) != 0; }

std::vector<std::string> RegisteredOpNames() {
  std::vector<std::string> names;
  for (auto& [name, def] : Ops()) names.push_back(name);
  return names;
}

int64_t CountProduct(std::initializer_list<int64_t> factors) {
  int64_t n = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(n, f, &n))
      throw Error("operation or parameter count exceeds 2^63 - 1");
  return n;
}

int64_t CountSum(int64_t a, int64_t b) {
  int64_t n;
  if (__builtin_add_overflow(a, b, &n))
    throw Error("operation or parameter count exceeds 2^63 - 1");
  return n;
}

}  // namespace qaccel
