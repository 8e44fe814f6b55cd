// .qmodel load + run: a model that loads must also build an engine (or be
// refused with an Error) and run one image, float or integer.
#include <vector>

#include "fuzz_common.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/model_file.h"

namespace {
// Inputs larger than this are loaded but not run (the run is the slow part).
constexpr int64_t kMaxRunNumel = 1 << 16;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return qaccel::fuzz::Expect([&] {
    qaccel::Graph g = qaccel::ParseModel(bytes, "fuzz.qmodel");
    qaccel::engine::Engine eng(std::move(g), qaccel::engine::EngineOptions{1});
    if (eng.input_numel() > kMaxRunNumel) return;
    std::vector<uint8_t> image(static_cast<size_t>(eng.input_numel()), 128);
    eng.Run(image.data(), 1);
  });
}
