// Typed reads of JSON fields for the model file and op attributes, with
// errors that name the place and the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "qaccel/core/error.h"

namespace qaccel {

// j[key] as T; throws Error naming `where` and the field when absent or mistyped.
template <typename T>
T Field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw Error(where + ": missing field '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": field '" + std::string(key) + "' has the wrong type");
  }
}

}  // namespace qaccel
