// Typed reads of JSON fields for the model file and op attributes, with
// errors that name the place and the field.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qaccel/core/error.h"

namespace qaccel {
namespace json_field_detail {

template <typename T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// True when v is an integral JSON number that T holds exactly (nlohmann's
// get<T> would wrap 2^32 to 0 or truncate 1.5 to 1 without a word).
template <typename T>
bool FitsInteger(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return std::in_range<T>(v.get<uint64_t>());
  if (v.is_number_integer()) return std::in_range<T>(v.get<int64_t>());
  return false;
}

template <typename T>
struct VectorElement {
  using type = void;
};
template <typename E>
struct VectorElement<std::vector<E>> {
  using type = E;
};

// Whether v converts to T without losing anything we can check here.
template <typename T>
bool Representable(const nlohmann::json& v) {
  using E = typename VectorElement<T>::type;
  if constexpr (kIsInteger<T>) {
    return FitsInteger<T>(v);
  } else if constexpr (kIsInteger<E>) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!FitsInteger<E>(e)) return false;
    return true;
  } else {
    return true;
  }
}

}  // namespace json_field_detail

// j[key] as T; throws Error naming `where` and the field when absent,
// mistyped, or (integers) out of the range of T.
template <typename T>
T Field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing field '" + key + "'");
  const nlohmann::json& v = j.at(key);
  const auto wrong = [&] {
    return Error(where + ": field '" + std::string(key) + "' has the wrong type or range (" +
                 v.type_name() + " " + v.dump().substr(0, 40) + ")");
  };
  if (!json_field_detail::Representable<T>(v)) throw wrong();
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw wrong();
  }
}

// Field(j, key, where) when present, `absent` otherwise.
template <typename T>
T OptionalField(const nlohmann::json& j, const char* key, const std::string& where, T absent) {
  return j.is_object() && j.contains(key) ? Field<T>(j, key, where) : std::move(absent);
}

}  // namespace qaccel
