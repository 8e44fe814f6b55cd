// Packed sub-8-bit weights: how the model file (model_file.h) and the export
// (export/export.h) store weights of weight_bits < 8, which are held in
// memory as int8 tensors with values in the narrow range (numeric_contract.h).
//
// Bit order: element i (row-major over the tensor's shape) occupies bits
// [i * n, i * n + n) of a little-endian bit stream, i.e. byte (i * n) / 8
// starting at bit (i * n) % 8, least significant bit first; a field may span
// two bytes (n = 3, 5, 6, 7); the last byte's unused high bits are 0.
//   n = 1 (binary): bit 1 = +1, bit 0 = -1.
//   n = 2..7: the value's n-bit two's complement (q in [-(2^(n-1) - 1), 2^(n-1) - 1]).
// Packed size: ceil(numel * n / 8) bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qaccel {

inline uint64_t PackedBytes(uint64_t numel, int bits) {
  return (numel * static_cast<uint64_t>(bits) + 7) / 8;
}

// values: int8 in the range of `bits` (1..7); throws Error naming `where` for
// a value outside it (binary: not -1 or +1).
std::vector<uint8_t> PackWeights(const int8_t* values, uint64_t numel, int bits,
                                 const std::string& where);
// The inverse; packed must hold PackedBytes(numel, bits) bytes. n-bit fields
// equal to -2^(n-1) are rejected (outside the symmetric range), naming `where`.
std::vector<int8_t> UnpackWeights(const uint8_t* packed, uint64_t numel, int bits,
                                  const std::string& where);

}  // namespace qaccel
