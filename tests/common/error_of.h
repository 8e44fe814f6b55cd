// Test helper: the message of the qaccel::Error `fn` throws, or "" when it
// throws nothing.
#pragma once

#include <functional>
#include <string>

#include "qaccel/core/error.h"

namespace qaccel::testing {

inline std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const qaccel::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace qaccel::testing
