// Subcommand registry for the qaccel CLI. Each subcommand lives in its own
// cmd_<name>.cpp and registers itself with one line:
//   QACCEL_COMMAND(sim, "Simulate a systolic array (SCALE-Sim compatible)", SetupSim);
// where SetupSim(CLI::App* sub) adds options and sets sub->callback(...).
// Callbacks throw qaccel::Error on bad input; main() prints it as one line
// ("qaccel <cmd>: error: ...") and exits 1.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace qaccel::cli {

struct CommandInfo {
  std::string name, description;
  std::function<void(CLI::App*)> setup;
};

std::vector<CommandInfo>& Registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description,
                   std::function<void(CLI::App*)> setup) {
    Registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

// Every --threads option accepts 0 (all cores) .. kMaxThreads; more threads
// than this is a typo, not a request (the machines we target have <= 256 cores).
inline constexpr int kMaxThreads = 256;
inline CLI::Validator ThreadsRange() { return CLI::Range(0, kMaxThreads); }
// Counts and seeds: "-1" is refused instead of wrapping to 2^64 - 1.
inline CLI::Validator NonNegative() {
  return CLI::Validator(
      [](std::string& s) {
        return s.rfind('-', 0) == 0 ? "must be >= 0, got " + s : std::string();
      },
      "NONNEGATIVE");
}

// The --data option of the commands that read a data set: `split` says which
// part of it they use.
inline CLI::Option* AddDataOption(CLI::App* sub, std::string& data, const std::string& split) {
  return sub->add_option("--data", data, "mnist, fashion-mnist or an IDX directory (" + split + ")")
      ->capture_default_str();
}

// The full command line as typed, recorded in output manifests.
const std::string& CommandLine();

// The training executable (train_launcher.cpp): its path, or "" when this
// build has none; and `qaccel train|adapt ...` handed over to it (returns only on
// failure, with the exit code to use).
std::string TrainExecutablePath();
int RunTrainExecutable(int argc, char** argv);
// The commands that run in qaccel-train: train and adapt (fine-tunes).
inline bool IsTrainCommand(const std::string& name) { return name == "train" || name == "adapt"; }

}  // namespace qaccel::cli

#define QACCEL_COMMAND(name, description, setup) \
  static ::qaccel::cli::CommandRegistrar qaccel_cmd_registrar_##name(#name, description, setup)
