// The training checkpoint, `<out>.ckpt` (docs/training.md, "Resume"): one
// file, replaced atomically after every epoch, holding everything the next
// epoch depends on:
//   weights    the .qmodel bytes of the float graph (model format: weights
//              and batchnorm running statistics);
//   optimizer  the SGD state (momentum buffers), libtorch's serialization;
//   state      JSON: {"format": "qaccel-train-checkpoint", "epoch": completed
//              epochs, "run": what must match to resume (seed, options, data),
//              "history": the EpochRecords so far}.
// The randomness of epoch e is derived from (seed, e) alone (trainer.cpp), so
// no generator state is stored. Includes torch headers: train/ internals only.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "qaccel/graph/graph.h"
#include "qaccel/train/trainer.h"

namespace qaccel::train {

struct Checkpoint {
  Graph weights;
  nlohmann::json state;
  torch::serialize::InputArchive optimizer;
};

void WriteCheckpoint(const std::string& path, const Graph& weights, const nlohmann::json& state,
                     torch::optim::SGD& opt);
// Throws Error naming the file when it is unreadable or not a checkpoint.
Checkpoint ReadCheckpoint(const std::string& path);

// EpochRecord <-> JSON, exactly (NaN validation columns as null).
nlohmann::json HistoryToJson(const std::vector<EpochRecord>& h);
std::vector<EpochRecord> HistoryFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace qaccel::train
