// qaccel command line: dispatches to the self-registered subcommands
// (cmd_*.cpp). Turns every error into one line on stderr and exit code 1.
// Built twice: as `qaccel` (every command; `train` and `adapt` are handed to qaccel-train)
// and, with QACCEL_TRAIN_BUILTIN, as `qaccel-train` (train, adapt and version only).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <thread>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "command.h"

namespace qaccel::cli {

std::vector<CommandInfo>& Registry() {
  static std::vector<CommandInfo> r;
  return r;
}

static std::string g_command_line;
const std::string& CommandLine() { return g_command_line; }

}  // namespace qaccel::cli

// " <name>" of the subcommand being run, or "" before one was recognized.
static std::string SubcommandName(const CLI::App& app) {
  auto subs = app.get_subcommands();
  return subs.empty() ? "" : " " + subs[0]->get_name();
}

int main(int argc, char** argv) {
  using namespace qaccel::cli;
#ifndef QACCEL_TRAIN_BUILTIN
  if (argc > 1 && IsTrainCommand(argv[1])) return RunTrainExecutable(argc, argv);
#endif
#ifdef __GLIBC__
  // glibc reserves a 64 MB heap arena per thread, up to 8 per core: with
  // --threads 256 that is gigabytes of address space, and an allocation
  // failure under a memory limit. One arena per core is enough for qaccel's
  // workers, which allocate little once running.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
#endif
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
  CLI::App app{
      "qaccel " QACCEL_VERSION
      ": train a CNN, quantize it to a bit-exact integer model, and size the systolic array "
      "that runs it"};
  app.set_version_flag("--version", std::string("qaccel ") + QACCEL_VERSION);
  app.require_subcommand(1);
  auto& reg = Registry();
  std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (auto& c : reg) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    c.setup(sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that succeed; a real parse error is one
    // line like every other error (CLI11 alone would add a second, "Run with --help").
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::string cmd = SubcommandName(app);
    std::fprintf(stderr, "qaccel%s: error: %s (see qaccel%s --help)\n", cmd.c_str(), e.what(),
                 cmd.c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "qaccel%s: error: out of memory (std::bad_alloc): raise the memory limit, or "
                 "use fewer --threads (each worker has its own stack and buffers)\n",
                 SubcommandName(app).c_str());
    return 1;
  } catch (const std::exception& e) {  // qaccel::Error and anything unexpected alike
    std::fprintf(stderr, "qaccel%s: error: %s\n", SubcommandName(app).c_str(), e.what());
    return 1;
  }
  return 0;
}
