// The training checkpoint file (see checkpoint.h).
#include "qaccel/train/checkpoint.h"

#include <cmath>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/graph/json_field.h"
#include "qaccel/graph/model_file.h"

namespace qaccel::train {
namespace {

constexpr const char* kFormat = "qaccel-train-checkpoint";

nlohmann::json Number(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

double NumberOrNan(const nlohmann::json& j, const char* key, const std::string& where) {
  if (j.is_object() && j.contains(key) && j.at(key).is_null()) return std::nan("");
  return Field<double>(j, key, where);
}

}  // namespace

nlohmann::json HistoryToJson(const std::vector<EpochRecord>& h) {
  nlohmann::json a = nlohmann::json::array();
  for (const EpochRecord& e : h)
    a.push_back({{"epoch", e.epoch},
                 {"lr", Number(e.lr)},
                 {"train_loss", Number(e.train_loss)},
                 {"train_accuracy", Number(e.train_accuracy)},
                 {"val_loss", Number(e.val_loss)},
                 {"val_accuracy", Number(e.val_accuracy)},
                 {"seconds", Number(e.seconds)},
                 {"flip_ratio", Number(e.flip_ratio)}});
  return a;
}

std::vector<EpochRecord> HistoryFromJson(const nlohmann::json& j, const std::string& where) {
  Check(j.is_array(), where + ": 'history' must be a list");
  std::vector<EpochRecord> h;
  for (const nlohmann::json& r : j) {
    EpochRecord e;
    e.epoch = Field<int>(r, "epoch", where);
    e.lr = NumberOrNan(r, "lr", where);
    e.train_loss = NumberOrNan(r, "train_loss", where);
    e.train_accuracy = NumberOrNan(r, "train_accuracy", where);
    e.val_loss = NumberOrNan(r, "val_loss", where);
    e.val_accuracy = NumberOrNan(r, "val_accuracy", where);
    e.seconds = NumberOrNan(r, "seconds", where);
    if (r.is_object() && r.contains("flip_ratio"))
      e.flip_ratio = NumberOrNan(r, "flip_ratio", where);
    h.push_back(e);
  }
  return h;
}

void WriteCheckpoint(const std::string& path, const Graph& weights, const nlohmann::json& state,
                     torch::optim::SGD& opt) {
  std::ostringstream model;
  WriteModel(weights, model);
  const std::string bytes = model.str();
  torch::serialize::OutputArchive archive, optimizer;
  archive.write("weights", torch::from_blob(const_cast<char*>(bytes.data()),
                                            {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
                               .clone());
  nlohmann::json s = state;
  s["format"] = kFormat;
  archive.write("state", c10::IValue(s.dump()));
  opt.save(optimizer);
  archive.write("optimizer", optimizer);
  AtomicWriteStream(path, [&](std::ostream& os) { archive.save_to(os); });
}

Checkpoint ReadCheckpoint(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadBinaryFile(path);
  Checkpoint c;
  torch::Tensor weights;
  c10::IValue state;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    archive.read("weights", weights);
    archive.read("state", state);
    archive.read("optimizer", c.optimizer);
    c.state = nlohmann::json::parse(state.toStringRef());
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error(path + ": not a readable training checkpoint (" + what.substr(0, what.find('\n')) +
                "); delete it to start over");
  }
  Check(OptionalField<std::string>(c.state, "format", path, "") == kFormat,
        path + ": not a qaccel training checkpoint");
  Check(weights.scalar_type() == torch::kUInt8 && weights.dim() == 1,
        path + ": checkpoint weights are not model-file bytes");
  const uint8_t* w = weights.data_ptr<uint8_t>();
  c.weights = ParseModel(std::vector<uint8_t>(w, w + weights.numel()), path + " (weights)");
  return c;
}

}  // namespace qaccel::train
