// CheckReplaceableOutputDir (see output_dir.h).
#include "qaccel/core/output_dir.h"

#include <algorithm>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel {

namespace fs = std::filesystem;

namespace {

// Is `path` `dir` itself or inside it (after resolving symlinks and "..")?
bool Inside(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  const fs::path d = fs::weakly_canonical(fs::absolute(dir), ec);
  auto [pi, di] = std::mismatch(p.begin(), p.end(), d.begin(), d.end());
  return di == d.end() || (std::next(di) == d.end() && di->empty());
}

}  // namespace

void CheckReplaceableOutputDir(const fs::path& dir, const std::string& marker,
                               const std::string& signature, const std::vector<fs::path>& inputs) {
  std::error_code ec;
  for (const fs::path& in : inputs)
    Check(in.empty() || !fs::exists(in, ec) || !Inside(in, dir),
          dir.string() + ": holds the input '" + in.string() +
              "', and the output set replaces this directory as a whole; choose another "
              "output directory");
  if (!fs::exists(dir, ec)) return;
  Check(fs::is_directory(dir, ec),
        dir.string() + ": exists and is not a directory; choose another output directory");
  if (fs::is_empty(dir, ec)) return;
  const fs::path m = dir / marker;
  bool ours = false;
  if (fs::is_regular_file(m, ec)) {
    try {
      ours = ReadTextFile(m).find(signature) != std::string::npos;
    } catch (const Error&) {
      ours = false;
    }
  }
  Check(ours, dir.string() + ": exists, is not empty and was not written by qaccel (no " + marker +
                  " of ours); it would be replaced as a whole, so choose another "
                  "output directory or empty it");
}

}  // namespace qaccel
