// IDX reader (plain and gzip): data/idx.cpp.
#include "fuzz_common.h"
#include "qaccel/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qaccel::fuzz::ScratchFile("input.idx", data, size);
  return qaccel::fuzz::Expect([&] { qaccel::data::ReadIdx(path); });
}
