// qaccel::Error: the one exception type the library throws for bad input or
// broken invariants. Messages say what was wrong, where (file:line or field),
// and what to do; the CLI prints what() as a single line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace qaccel {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error(message) when cond is false.
inline void Check(bool cond, const std::string& message) {
  if (!cond) throw Error(message);
}

}  // namespace qaccel
