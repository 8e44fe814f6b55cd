#include "qaccel/core/tensor.h"

#include <sstream>

namespace qaccel {

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kI8:
    case DType::kU8:
      return 1;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kI64:
      return 8;
  }
  return 0;
}

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kI8:
      return "i8";
    case DType::kU8:
      return "u8";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
  }
  return "?";
}

DType ParseDType(std::string_view name) {
  for (DType t : {DType::kF32, DType::kI8, DType::kU8, DType::kI32, DType::kI64}) {
    if (DTypeName(t) == name) return t;
  }
  throw Error("unknown dtype '" + std::string(name) + "' (expected f32, i8, u8, i32 or i64)");
}

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension in shape " + ShapeToString(s));
    if (__builtin_mul_overflow(n, d, &n))
      throw Error("shape " + ShapeToString(s) + " has more than 2^63 elements");
  }
  return n;
}

std::string ShapeToString(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  bytes_.assign(static_cast<size_t>(NumElements(shape_)) * DTypeSize(dtype_), 0);
}

Tensor Tensor::Reshaped(Shape shape) const {
  Check(NumElements(shape) == numel(),
        "cannot reshape " + ShapeToString(shape_) + " to " + ShapeToString(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::vector<float> Tensor::ToFloat() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DType::kF32:
        out[i] = reinterpret_cast<const float*>(bytes_.data())[i];
        break;
      case DType::kI8:
        out[i] = reinterpret_cast<const int8_t*>(bytes_.data())[i];
        break;
      case DType::kU8:
        out[i] = bytes_[i];
        break;
      case DType::kI32:
        out[i] = static_cast<float>(reinterpret_cast<const int32_t*>(bytes_.data())[i]);
        break;
      case DType::kI64:
        out[i] = static_cast<float>(reinterpret_cast<const int64_t*>(bytes_.data())[i]);
        break;
    }
  }
  return out;
}

void Tensor::CheckType(DType want) const {
  Check(want == dtype_, "tensor holds " + std::string(DTypeName(dtype_)) + ", accessed as " +
                            std::string(DTypeName(want)));
}

}  // namespace qaccel
