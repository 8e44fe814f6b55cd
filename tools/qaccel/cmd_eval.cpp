// `qaccel eval MODEL --data mnist [--json] [--limit N] [--reference FLOAT_MODEL]
//  [--threads T]`: top-1 accuracy on the test split with qaccel's own engine
// (float, or bit-exact integer for a quantized model); for a quantized model
// also the top-1 agreement with its float parent (--reference, or the float
// model recorded in its metadata).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "command.h"
#include "eval_exits.h"
#include "qaccel/data/dataset.h"
#include "qaccel/engine/engine.h"
#include "qaccel/graph/exits.h"
#include "qaccel/graph/model_file.h"

namespace {

struct Opts {
  std::string model, data = "mnist", reference, config;
  bool json = false;
  int64_t limit = 0;
  int threads = 0;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Model (.qmodel, float or quantized)")->required();
  qaccel::cli::AddDataOption(sub, o->data, "its test split is used");
  sub->add_flag("--json", o->json, "Print one JSON object on stdout");
  sub->add_option("--limit", o->limit, "Evaluate only the first N test images (0: all)")
      ->check(qaccel::cli::NonNegative());
  sub->add_option("--reference", o->reference, "Float model to measure top-1 agreement against");
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores)")
      ->check(qaccel::cli::ThreadsRange());
  sub->add_option("-c,--config", o->config,
                  "SCALE-Sim .cfg: cycles per image on that array (early-exit models: expected "
                  "and full cycles, docs/exits.md)");
  sub->callback([o] {
    using namespace qaccel;
    namespace fs = std::filesystem;
    Check(o->limit >= 0, "--limit must be >= 0");
    Graph g = LoadModel(o->model);
    std::string ref_path = o->reference;
    if (ref_path.empty() && g.quantized() && g.metadata.contains("quantization") &&
        g.metadata["quantization"].contains("float_model") &&
        g.metadata["quantization"]["float_model"].is_string()) {
      std::error_code ec;
      std::string recorded = g.metadata["quantization"]["float_model"].get<std::string>();
      if (fs::exists(recorded, ec)) ref_path = recorded;
    }
    std::optional<Graph> ref;
    if (!ref_path.empty()) ref = LoadModel(ref_path);
    data::Split split = data::LoadNamedDataset(o->data);
    engine::EvalResult r = engine::Evaluate(g, split.test, ref ? &*ref : nullptr, o->limit,
                                            engine::EngineOptions{o->threads});
    std::optional<nlohmann::json> exits;
    if (HasExits(g) || !o->config.empty())
      exits = cli::EvalExits(g, split.test, o->config, o->limit, o->threads);
    if (o->json) {
      nlohmann::json j{{"model", o->model},          {"name", g.name},
                       {"quantized", g.quantized()}, {"data", o->data},
                       {"split", split.test.name},   {"accuracy", r.accuracy},
                       {"correct", r.correct},       {"samples", r.samples},
                       {"seconds", r.seconds},       {"images_per_second", r.images_per_second},
                       {"threads", r.threads},       {"arena_bytes_per_thread", r.arena_bytes}};
      if (r.has_agreement) {
        j["agreement"] = r.agreement;
        j["agree"] = r.agree;
        j["reference"] = ref_path;
      }
      if (g.metadata.contains("quantization")) j["quantization"] = g.metadata["quantization"];
      if (exits) j.update(*exits);  // with side exits: accuracy with early exits
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s on %s: accuracy %.2f%% (%lld/%lld)", o->model.c_str(),
                  split.test.name.c_str(), r.accuracy * 100, static_cast<long long>(r.correct),
                  static_cast<long long>(r.samples));
      if (r.has_agreement)
        std::printf(", top-1 agreement with %s %.2f%% (%lld/%lld)", ref_path.c_str(),
                    r.agreement * 100, static_cast<long long>(r.agree),
                    static_cast<long long>(r.samples));
      if (exits && exits->contains("exit_fractions")) {
        std::printf("\nwith early exits: accuracy %.2f%%, exit fractions",
                    100 * (*exits)["accuracy"].get<double>());
        for (const auto& f : (*exits)["exit_fractions"]) std::printf(" %.4f", f.get<double>());
        std::printf(", expected MACs %.0f of %.0f", (*exits)["expected_macs"].get<double>(),
                    (*exits)["full_macs"].get<double>());
        if (exits->contains("expected_cycles"))
          std::printf(", expected cycles %.0f of %.0f", (*exits)["expected_cycles"].get<double>(),
                      (*exits)["full_cycles"].get<double>());
        std::printf(", engine %.2fx faster than the trunk",
                    (*exits)["engine_speedup"].get<double>());
      }
      std::printf("\n%s engine: %.0f images/s on %d thread(s), arena %lld bytes per thread\n",
                  g.quantized() ? "int8" : "float", r.images_per_second, r.threads,
                  static_cast<long long>(r.arena_bytes));
    }
  });
}

}  // namespace

QACCEL_COMMAND(eval, "Accuracy (and agreement with the float parent) with qaccel's own engine",
               Setup);
