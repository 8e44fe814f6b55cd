// Tensor: a dense, row-major, owning n-d array of one DType. Shapes are
// written outermost first (for a conv weight: OIHW; for activations: CHW,
// batch outermost when present). Deliberately small: kernels take raw
// pointers + shapes, the Tensor only owns and describes memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "qaccel/core/dtype.h"
#include "qaccel/core/error.h"

namespace qaccel {

using Shape = std::vector<int64_t>;

int64_t NumElements(const Shape& s);
std::string ShapeToString(const Shape& s);  // "[6, 1, 5, 5]"

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled

  template <typename T>
  static Tensor From(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>(), std::move(shape));
    Check(static_cast<int64_t>(values.size()) == t.numel(),
          "Tensor::From: " + std::to_string(values.size()) + " values for shape " +
              ShapeToString(t.shape_));
    if (!values.empty()) std::memcpy(t.bytes_.data(), values.data(), t.nbytes());
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return NumElements(shape_); }
  size_t nbytes() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }

  // Typed views; throw Error if T does not match dtype().
  template <typename T>
  std::span<T> data() {
    CheckType(DTypeOf<T>());
    return {reinterpret_cast<T*>(bytes_.data()), static_cast<size_t>(numel())};
  }
  template <typename T>
  std::span<const T> data() const {
    CheckType(DTypeOf<T>());
    return {reinterpret_cast<const T*>(bytes_.data()), static_cast<size_t>(numel())};
  }

  // Same bytes, new shape with the same element count.
  Tensor Reshaped(Shape shape) const;
  // Element-wise conversion to float (for any dtype).
  std::vector<float> ToFloat() const;

 private:
  void CheckType(DType want) const;

  DType dtype_ = DType::kF32;
  Shape shape_;
  // 64-byte alignment is not guaranteed; kernels must not assume it.
  std::vector<uint8_t> bytes_;
};

}  // namespace qaccel
