// Element types a Tensor can hold, with their sizes and names as written in
// model files ("f32", "i8", "u8", "i32", "i64", "u1" for packed binary).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qaccel {

enum class DType : uint8_t { kF32, kI8, kU8, kI32, kI64 };

size_t DTypeSize(DType t);
std::string_view DTypeName(DType t);
DType ParseDType(std::string_view name);  // throws Error on an unknown name

template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() {
  return DType::kF32;
}
template <>
constexpr DType DTypeOf<int8_t>() {
  return DType::kI8;
}
template <>
constexpr DType DTypeOf<uint8_t>() {
  return DType::kU8;
}
template <>
constexpr DType DTypeOf<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType DTypeOf<int64_t>() {
  return DType::kI64;
}

}  // namespace qaccel
