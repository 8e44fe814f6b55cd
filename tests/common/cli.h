// Test helper: run the built `qaccel` binary (QACCEL_CLI_PATH) through the
// shell and capture stdout, stderr and the exit code.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qaccel::testing {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// `env` is prepended to the command line (e.g. "VAR=value ").
inline CliResult RunCli(const std::string& args, const std::string& env = "") {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path errf = fs::temp_directory_path() / ("qaccel_cli_err_" + std::to_string(::getpid()) +
                                               "_" + std::to_string(counter++));
  std::string cmd =
      env + "QACCEL_PROGRESS=0 " + QACCEL_CLI_PATH + " " + args + " 2>" + errf.string();
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(errf);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  fs::remove(errf);
  return r;
}

}  // namespace qaccel::testing
