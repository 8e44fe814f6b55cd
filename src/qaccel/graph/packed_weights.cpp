// Sub-8-bit weight packing (see packed_weights.h for the bit order).
#include "qaccel/graph/packed_weights.h"

#include "qaccel/core/error.h"

namespace qaccel {

std::vector<uint8_t> PackWeights(const int8_t* values, uint64_t numel, int bits,
                                 const std::string& where) {
  Check(bits >= 1 && bits <= 7,
        where + ": packed width must be 1..7 bits (got " + std::to_string(bits) + ")");
  const int32_t qmax = bits == 1 ? 1 : (1 << (bits - 1)) - 1;
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint8_t> out(PackedBytes(numel, bits), 0);
  for (uint64_t i = 0; i < numel; ++i) {
    const int32_t v = values[i];
    uint32_t field;
    if (bits == 1) {
      Check(v == 1 || v == -1, where + ": binary weight " + std::to_string(i) + " is " +
                                   std::to_string(v) + " (must be -1 or +1)");
      field = v == 1 ? 1u : 0u;
    } else {
      Check(v >= -qmax && v <= qmax, where + ": " + std::to_string(bits) + "-bit weight " +
                                         std::to_string(i) + " is " + std::to_string(v) +
                                         " (outside [" + std::to_string(-qmax) + ", " +
                                         std::to_string(qmax) + "])");
      field = static_cast<uint32_t>(v) & mask;
    }
    const uint64_t bit = i * static_cast<uint64_t>(bits);
    const uint32_t shifted = field << (bit % 8);
    out[bit / 8] = static_cast<uint8_t>(out[bit / 8] | (shifted & 0xff));
    if (shifted > 0xff) out[bit / 8 + 1] = static_cast<uint8_t>(out[bit / 8 + 1] | (shifted >> 8));
  }
  return out;
}

std::vector<int8_t> UnpackWeights(const uint8_t* packed, uint64_t numel, int bits,
                                  const std::string& where) {
  Check(bits >= 1 && bits <= 7,
        where + ": packed width must be 1..7 bits (got " + std::to_string(bits) + ")");
  const uint32_t mask = (1u << bits) - 1;
  const uint64_t nbytes = PackedBytes(numel, bits);
  std::vector<int8_t> out(numel);
  for (uint64_t i = 0; i < numel; ++i) {
    const uint64_t bit = i * static_cast<uint64_t>(bits);
    uint32_t word = packed[bit / 8];
    if (bit / 8 + 1 < nbytes) word |= static_cast<uint32_t>(packed[bit / 8 + 1]) << 8;
    const uint32_t field = (word >> (bit % 8)) & mask;
    if (bits == 1) {
      out[i] = field ? 1 : -1;
      continue;
    }
    int32_t v = static_cast<int32_t>(field);
    if (v >= (1 << (bits - 1))) v -= 1 << bits;  // two's complement
    Check(v != -(1 << (bits - 1)), where + ": " + std::to_string(bits) + "-bit weight " +
                                       std::to_string(i) + " is " + std::to_string(v) +
                                       " (outside the symmetric range)");
    out[i] = static_cast<int8_t>(v);
  }
  return out;
}

}  // namespace qaccel
