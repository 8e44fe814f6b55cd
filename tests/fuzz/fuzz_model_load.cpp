// .qmodel reader: JSON header, tensors, quantization parameters.
#include <vector>

#include "fuzz_common.h"
#include "qaccel/graph/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return qaccel::fuzz::Expect([&] { qaccel::ParseModel(bytes, "fuzz.qmodel"); });
}
