// SCALE-Sim .cfg reader (INI, with our [energy] / [area] sections).
#include "fuzz_common.h"
#include "qaccel/accel/scalesim_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = qaccel::fuzz::AsText(data, size);
  return qaccel::fuzz::Expect([&] { qaccel::accel::ParseScaleSimConfig(text, "fuzz.cfg"); });
}
