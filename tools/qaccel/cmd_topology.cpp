// `qaccel topology MODEL|ZOO -o FILE.csv [--batch N] [--gemm]`: writes the
// SCALE-Sim topology CSV of a model (mapping in accel/topology_from_graph.h)
// and prints the layers the array does not run, with their operation counts.
#include <cstdio>

#include "command.h"
#include "qaccel/accel/topology_from_graph.h"
#include "qaccel/core/file_io.h"
#include "qaccel/graph/model_file.h"

namespace {

struct Opts {
  std::string model, out;
  int64_t batch = 1;
  bool gemm = false;
};

void Setup(CLI::App* sub) {
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model,
                  "Model file (.qmodel) or zoo name (lenet5, alexnet, resnet50, ...)")
      ->required();
  sub->add_option("-o,--output", o->out, "Topology CSV to write")->required();
  sub->add_option("--batch", o->batch,
                  "Batch size (conv layers become GEMMs with M = batch x OH x OW when > 1)");
  sub->add_flag("--gemm", o->gemm, "Write SCALE-Sim's GEMM form (Layer, M, N, K) for every layer");
  sub->callback([o] {
    using namespace qaccel;
    accel::TopologyOptions topt;
    topt.batch = o->batch;
    topt.gemm = o->gemm;
    Graph g = LoadModelOrZoo(o->model);
    accel::Topology t = accel::TopologyFromGraph(g, topt);
    std::string csv = o->gemm ? accel::TopologyGemmCsv(t.layers) : accel::TopologyConvCsv(t.layers);
    AtomicWriteText(o->out, csv);
    std::printf("wrote %s: %zu array layers of %s (batch %lld, %s form, word %d byte(s))\n",
                o->out.c_str(), t.layers.size(), t.model.c_str(), static_cast<long long>(t.batch),
                o->gemm ? "GEMM" : "conv", t.word_bytes);
    if (!t.unmapped.empty()) {
      std::printf("not mapped to the array (%zu layers, %lld element ops):\n", t.unmapped.size(),
                  static_cast<long long>(t.unmapped_ops()));
      for (auto& u : t.unmapped)
        std::printf("  %-28s %-15s %lld ops\n", u.name.c_str(), u.kind.c_str(),
                    static_cast<long long>(u.ops));
    }
  });
}

}  // namespace

QACCEL_COMMAND(topology, "Write a model's SCALE-Sim topology CSV (conv or GEMM form)", Setup);
