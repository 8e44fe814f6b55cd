// Shared by the libFuzzer harnesses (built with -DQACCEL_FUZZ=ON, clang only).
// The contract under test: any input either parses or throws qaccel::Error.
// Anything else (a crash, a sanitizer report, another exception, a hang, or
// memory past libFuzzer's -rss_limit_mb) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "qaccel/core/error.h"

namespace qaccel::fuzz {

inline std::string AsText(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A per-process scratch file holding `data` (for readers that take a path).
inline std::filesystem::path ScratchFile(const std::string& name, const uint8_t* data, size_t size) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("qaccel_fuzz_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Runs `f`; a qaccel::Error is the expected way to refuse an input.
template <typename F>
int Expect(F&& f) {
  try {
    f();
  } catch (const qaccel::Error&) {
  }
  return 0;
}

}  // namespace qaccel::fuzz
