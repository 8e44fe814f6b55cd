// Training lives in a second executable, `qaccel-train`, the only program that
// links libtorch (ARCHITECTURE.md: libtorch is loaded only by commands that
// train). `qaccel train ...` replaces itself with `qaccel-train train ...`
// (and `qaccel adapt ...`, which fine-tunes, with `qaccel-train adapt ...`)
// (execv, same argv, so stdout, stderr, the exit code and the recorded command
// line are the user's own); every other command starts without libtorch.
//
// Decision: a separate executable rather than a dlopen'ed module. A module
// would carry its own copy of the static library's registries next to the
// host's; an executable has exactly one of each, is trivially testable, and
// lets `adapt` later fine-tune through the same command.
//
// qaccel-train is looked up, in order, at:
//   $QACCEL_TRAIN_EXE                             (an explicit override)
//   <dir of qaccel>/qaccel-train                  (the build tree)
//   <dir of qaccel>/../libexec/qaccel/qaccel-train (an installed tree)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "command.h"

namespace qaccel::cli {

std::string TrainExecutablePath() {
  namespace fs = std::filesystem;
  auto executable = [](const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; };
  if (const char* env = std::getenv("QACCEL_TRAIN_EXE"); env && *env)
    return executable(env) ? std::string(env) : std::string();
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const fs::path& candidate :
       {self.parent_path() / "qaccel-train",
        self.parent_path() / ".." / "libexec" / "qaccel" / "qaccel-train"})
    if (executable(candidate)) return fs::weakly_canonical(candidate, ec).string();
  return {};
}

int RunTrainExecutable(int argc, char** argv) {
  std::string path = TrainExecutablePath();
  if (path.empty()) {
    std::fprintf(stderr,
                 "qaccel %s: error: training is not available in this build (no qaccel-train "
                 "next to qaccel, nor in ../libexec/qaccel, nor in $QACCEL_TRAIN_EXE); install "
                 "libtorch-dev and rebuild: bash scripts/deps && bash scripts/build\n",
                 argv[1]);
    return 1;
  }
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(path.c_str(), args.data());
  std::perror(("qaccel " + std::string(argv[1]) + ": error: cannot run " + path).c_str());
  return 1;
}

}  // namespace qaccel::cli

#ifndef QACCEL_TRAIN_BUILTIN
namespace {
// Listed in `qaccel --help`; main() forwards `qaccel train ...` before parsing,
// so this callback runs only if that forwarding was bypassed.
void SetupForward(CLI::App* sub) {
  sub->allow_extras();
  sub->set_help_flag();
  sub->callback([] { throw std::runtime_error("internal: must be forwarded by main()"); });
}
}  // namespace

QACCEL_COMMAND(train,
               "Train a model with libtorch (runs qaccel-train); writes .qmodel + curves; "
               "`qaccel train --help` for options",
               SetupForward);
QACCEL_COMMAND(adapt,
               "NetAdapt: prune a trained model to a cycles/energy/latency/MACs budget on an "
               "array (runs qaccel-train); `qaccel adapt --help` for options",
               SetupForward);
#endif
