// The dataflow registry's table (see dataflow_registry.h), and the one place
// the mapping classes are instantiated with the simulation stages.
#include "qaccel/accel/dataflow_registry.h"

#include "qaccel/accel/dataflow_is.h"
#include "qaccel/accel/dataflow_os.h"
#include "qaccel/accel/dataflow_rs.h"
#include "qaccel/accel/dataflow_ws.h"
#include "qaccel/accel/simulate_stages.h"
#include "qaccel/core/error.h"

namespace qaccel::accel {
namespace {

template <DataflowMapping Map>
DataflowInfo Entry(Dataflow id, const char* name, const char* description) {
  return {id,
          name,
          description,
          &Map::PerMac,
          &detail::SimulateWithMapping<Map>,
          &detail::CheckLimitsWithMapping<Map>};
}

// A dataflow modelled in closed form (dataflow.h: AnalyticalDataflow).
template <AnalyticalDataflow Model>
DataflowInfo AnalyticalEntry(Dataflow id, const char* name, const char* description) {
  return {id, name, description, &Model::PerMac, &Model::Simulate, &Model::CheckLimits};
}

}  // namespace

const std::vector<DataflowInfo>& Dataflows() {
  static const std::vector<DataflowInfo> kDataflows = {
      Entry<OutputStationaryMapping>(Dataflow::kOutputStationary, "os", "output stationary"),
      Entry<WeightStationaryMapping>(Dataflow::kWeightStationary, "ws", "weight stationary"),
      Entry<InputStationaryMapping>(Dataflow::kInputStationary, "is", "input stationary"),
      AnalyticalEntry<RowStationaryModel>(Dataflow::kRowStationary, "rs",
                                          "row stationary (Eyeriss; analytical, qaccel's extension)"),
  };
  return kDataflows;
}

const DataflowInfo& GetDataflow(Dataflow df) {
  for (const DataflowInfo& d : Dataflows())
    if (d.id == df) return d;
  throw Error("dataflow " + std::to_string(static_cast<int>(df)) + " is not registered");
}

std::vector<std::string> DataflowNames() {
  std::vector<std::string> names;
  for (const DataflowInfo& d : Dataflows()) names.push_back(d.name);
  return names;
}

std::vector<Dataflow> AllDataflows() {
  std::vector<Dataflow> ids;
  for (const DataflowInfo& d : Dataflows()) ids.push_back(d.id);
  return ids;
}

const DataflowInfo& FindDataflow(const std::string& name) {
  for (const DataflowInfo& d : Dataflows())
    if (name == d.name) return d;
  const std::vector<DataflowInfo>& all = Dataflows();
  std::string list;
  for (size_t i = 0; i < all.size(); ++i)
    list += std::string(i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i].name;
  throw Error("unknown dataflow '" + name + "' (use " + list + ")");
}

const char* DataflowName(Dataflow df) {
  for (const DataflowInfo& d : Dataflows())
    if (d.id == df) return d.name;
  return "?";
}

Dataflow ParseDataflow(const std::string& name) { return FindDataflow(name).id; }

}  // namespace qaccel::accel
