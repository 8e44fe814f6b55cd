// The dataflow registry: every dataflow the simulator knows, in one table
// (dataflow_registry.cpp). Its name (the .cfg's `Dataflow : os` and the DSE
// space's `dataflows` list), its description, its per-MAC traffic for the
// energy model, the default DSE list (all registered), and its simulation
// all come from here.
//
// Adding a dataflow: one file with the mapping class (a DataflowMapping,
// dataflow.h; see dataflow_os.h), its enumerator in accel::Dataflow
// (cost_model.h), and one line in kDataflows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

struct DataflowInfo {
  Dataflow id;
  const char* name;         // SCALE-Sim's spelling: "os", "ws", "is"
  const char* description;  // "output stationary", ...
  PerMacTraffic (*per_mac)(int64_t word_bytes, int64_t psum_bytes);
  // The layer on this dataflow's mapping (simulate_stages.h); config and
  // layer already validated, `op` the layer's address tables.
  LayerMetrics (*simulate)(const ArchConfig& config, const LayerSpec& layer,
                           const OperandMatrices& op);
  // The simulated-work and USER-mode limits of the layer on this mapping
  // (limits.h), without simulating: throws qaccel::Error naming the limit.
  void (*check_limits)(const ArchConfig& config, const LayerSpec& layer, const OperandMatrices& op);
};

// Every registered dataflow, in registry order.
const std::vector<DataflowInfo>& Dataflows();
// The entry of a dataflow (throws qaccel::Error for an unregistered value).
const DataflowInfo& GetDataflow(Dataflow df);
// The entry named `name`; throws qaccel::Error listing the registered names.
const DataflowInfo& FindDataflow(const std::string& name);
// Every registered dataflow's id (the DSE default) / name.
std::vector<Dataflow> AllDataflows();
std::vector<std::string> DataflowNames();

}  // namespace qaccel::accel
