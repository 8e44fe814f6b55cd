// File helpers. Every output the tool writes goes through AtomicWrite*: the
// bytes land in "<path>.tmp.<pid>" and are renamed over <path> only when
// complete, so a failure never leaves a half-written output behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace qaccel {

std::string ReadTextFile(const std::filesystem::path& path);             // throws Error
std::vector<uint8_t> ReadBinaryFile(const std::filesystem::path& path);  // throws Error

// Creates parent directories; writes via a temporary file and rename.
void AtomicWriteText(const std::filesystem::path& path, const std::string& text);
void AtomicWriteBinary(const std::filesystem::path& path, const void* data, size_t size);
// Streams into the temporary file through `write`; if `write` throws, the
// temporary is removed and the exception propagates.
void AtomicWriteStream(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
// A whole output directory: `fill` writes into a temporary sibling
// ("<dir>.tmp.<pid>"), which replaces `dir` only when `fill` returns (an
// existing directory of that name is moved aside, then removed). If `fill`
// throws, the temporary is removed and `dir` is untouched. Throws Error when
// `dir` exists and is not a directory.
void AtomicWriteDirectory(const std::filesystem::path& dir,
                          const std::function<void(const std::filesystem::path& tmp)>& fill);

}  // namespace qaccel
