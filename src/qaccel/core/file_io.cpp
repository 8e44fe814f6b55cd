#include "qaccel/core/file_io.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "qaccel/core/error.h"

namespace qaccel {
namespace fs = std::filesystem;

std::vector<uint8_t> ReadBinaryFile(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw Error(path.string() + ": no such file");
  if (fs::is_directory(st)) throw Error(path.string() + ": is a directory, expected a file");
  if (!fs::is_regular_file(st))
    throw Error(path.string() + ": not a regular file (a FIFO, device or socket); give a file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error(path.string() + ": cannot read its size: " + ec.message());
  if (size > kMaxInputBytes)
    throw Error(path.string() + ": " + std::to_string(size) +
                " bytes, above the input limit of 1 GiB (kMaxInputBytes)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size)
    throw Error(path.string() + ": read error (file changed while reading?)");
  return bytes;
}

std::string ReadTextFile(const fs::path& path) {
  auto b = ReadBinaryFile(path);
  return std::string(b.begin(), b.end());
}

void AtomicWriteStream(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(path.parent_path().string() + ": cannot create directory: " + ec.message());
  }
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path.string() + ": cannot open for writing");
    write(out);
    out.flush();
    if (!out) throw Error(path.string() + ": write failed (disk full?)");
    out.close();
    fs::rename(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void AtomicWriteText(const fs::path& path, const std::string& text) {
  AtomicWriteStream(path, [&](std::ostream& os) { os << text; });
}

void AtomicWriteBinary(const fs::path& path, const void* data, size_t size) {
  AtomicWriteStream(path, [&](std::ostream& os) {
    os.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  });
}

void AtomicWriteDirectory(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  fs::path target = fs::absolute(dir);
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::is_directory(target, ec))
    throw Error(target.string() + ": exists and is not a directory; choose another -o");
  const std::string pid = std::to_string(::getpid());
  const fs::path tmp = target.string() + ".tmp." + pid;
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    fill(tmp);
    const fs::path old = target.string() + ".old." + pid;
    const bool existed = fs::exists(target);
    if (existed) fs::rename(target, old);
    fs::rename(tmp, target);
    if (existed) fs::remove_all(old, ec);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw Error(target.string() + ": cannot write the output directory: " + e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace qaccel
