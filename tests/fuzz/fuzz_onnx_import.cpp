// ONNX importer (src/qaccel/onnx): protobuf parse, initializers, nodes, attributes.
#include <vector>

#include "fuzz_common.h"
#include "qaccel/onnx/onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return qaccel::fuzz::Expect([&] { qaccel::onnxio::ImportOnnx(bytes, "fuzz.onnx"); });
}
