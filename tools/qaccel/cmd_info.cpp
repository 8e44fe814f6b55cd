// `qaccel info MODEL|ZOO_NAME [--json]`: per-layer shapes, parameters, MACs,
// FLOPs and bytes at each layer's precision, with totals.
#include <cstdio>

#include "command.h"
#include "eval_exits.h"
#include "qaccel/analysis/analysis.h"
#include "qaccel/graph/model_file.h"
#include "qaccel/graph/zoo.h"

namespace {

struct Opts {
  std::string model;
  bool json = false;
  bool list = false;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "Model file (.qmodel) or zoo name (lenet5, resnet20, ...)");
  sub->add_flag("--json", o->json, "Print one JSON object instead of a table");
  sub->add_flag("--list-zoo", o->list, "List the zoo models and exit");
  sub->callback([o] {
    using namespace qaccel;
    if (o->list || o->model.empty()) {
      for (auto& [n, d] : ZooModelDescriptions()) std::printf("%-12s %s\n", n.c_str(), d.c_str());
      if (!o->list) throw Error("no model given (a .qmodel file or one of the zoo names above)");
      return;
    }
    Graph g = LoadModelOrZoo(o->model);
    auto cost = analysis::Analyze(g);
    if (o->json) {
      auto j = analysis::ToJson(cost);
      j["model"] = g.name;
      j["quantized"] = g.quantized();
      j["input_shape"] = g.input_shape();
      j["metadata"] = g.metadata;
      if (auto ex = cli::ExitsInfo(g, cost); !ex.is_null()) j["exits"] = ex;
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("model %s  input %s  %s\n", g.name.c_str(),
                  ShapeToString(g.input_shape()).c_str(), g.quantized() ? "quantized" : "float");
      std::printf("%s", analysis::ToTable(cost).c_str());
      std::printf("FLOPs = 2 x MACs = %lld\n", static_cast<long long>(cost.total_flops));
      if (auto ex = cli::ExitsInfo(g, cost); !ex.is_null())
        std::printf("\nearly exits (docs/exits.md):\n%s", cli::ExitsInfoTable(ex).c_str());
    }
  });
}

}  // namespace

QACCEL_COMMAND(info, "Per-layer shapes, parameters, MACs, FLOPs and bytes of a model", Setup);
