// The guard every command that writes a whole output directory runs first
// (`qaccel sim`'s OUT/<run_name>/, `qaccel explore`'s OUT/, `qaccel export`,
// `qaccel run`): the directory
// is replaced as a whole (AtomicWriteDirectory, core/file_io.h), so it must
// be one the tool may replace.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qaccel {

// Throws Error (one line, naming the directory and what to do) unless `dir`
// does not exist, is an empty directory, or holds the file `marker` whose
// text contains `signature` (an output set written by the same command
// before); and when one of `inputs` lies inside `dir` (replacing it would
// delete the command's own input).
void CheckReplaceableOutputDir(const std::filesystem::path& dir, const std::string& marker,
                               const std::string& signature,
                               const std::vector<std::filesystem::path>& inputs);

}  // namespace qaccel
