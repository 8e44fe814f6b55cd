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

// The largest input the tool reads, before and after decompression: 1 GiB.
// (Fashion-MNIST's training images are 47 MB; a float ResNet-50 model file is
// about 100 MB.) A larger or endless input (/dev/zero, a gzip bomb) is an
// error naming this limit, never an allocation of whatever it claims.
inline constexpr uint64_t kMaxInputBytes = uint64_t{1} << 30;

// Reads a whole regular file (a FIFO, device or directory is refused with a
// message, so nothing blocks or reads forever); throws Error, naming the
// path, for a missing, unreadable or over-limit file.
std::string ReadTextFile(const std::filesystem::path& path);
std::vector<uint8_t> ReadBinaryFile(const std::filesystem::path& path);

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
