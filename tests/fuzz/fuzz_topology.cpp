// SCALE-Sim topology CSV reader, conv and GEMM forms; a parsed topology is
// also checked against the simulator's limits (no simulation: that is a
// separate, slower target).
#include "fuzz_common.h"
#include "qaccel/accel/scalesim_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using qaccel::accel::TopologyFormat;
  const std::string text = qaccel::fuzz::AsText(data, size);
  for (TopologyFormat f : {TopologyFormat::kConv, TopologyFormat::kGemm})
    qaccel::fuzz::Expect([&] { qaccel::accel::ParseTopology(text, "fuzz.csv", f); });
  return 0;
}
