// DSE design-space TOML reader.
#include "fuzz_common.h"
#include "qaccel/dse/design_space.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = qaccel::fuzz::AsText(data, size);
  return qaccel::fuzz::Expect([&] { qaccel::dse::ParseDesignSpace(text, "fuzz.toml"); });
}
