// "a, b, c": the names of a registry's entries, for listings and for errors
// that say what the accepted values are.
#pragma once

#include <functional>
#include <string>

namespace qaccel {

// `name` is a member pointer (or callable) giving each entry's name.
template <typename Range, typename Name>
std::string JoinNames(const Range& entries, Name name) {
  std::string s;
  for (const auto& e : entries) s += (s.empty() ? "" : ", ") + std::string(std::invoke(name, e));
  return s;
}

}  // namespace qaccel
