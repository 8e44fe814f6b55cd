// `qaccel train` outputs are all-or-nothing, and a run killed with SIGKILL
// and resumed with --resume writes a model byte-identical to an
// uninterrupted run with the same seed and thread count.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "../common/test_models.h"
#include "qaccel/core/file_io.h"

namespace fs = std::filesystem;
using namespace qaccel;
using qaccel::testing::RunCli;
using qaccel::testing::ScratchDir;

namespace {

const std::string kRun =
    "train --data mnist --epochs 3 --limit-train 300 --threads 1 --seed 5 -q -o ";

// Starts `qaccel <args>` and SIGKILLs it as soon as `file` exists. Returns
// false if the process ended on its own first (the test's premise failed).
bool KillWhenFileAppears(const std::string& args, const fs::path& file) {
  const std::string cmd = "exec " + std::string(QACCEL_CLI_PATH) + " " + args + " >/dev/null 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (!fs::exists(file)) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace

TEST(TrainResume, KilledThenResumedRunIsByteIdenticalToAnUninterruptedOne) {
  const fs::path dir = ScratchDir("train_resume");
  // Both runs write the same path: the model records its command line.
  const std::string out = (dir / "m.qmodel").string(), ref = (dir / "ref.bin").string();
  auto r = RunCli(kRun + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out + ".ckpt")) << "checkpoint left after a completed run";
  fs::rename(out, ref);
  fs::remove(out + ".history.csv");
  fs::remove(out + ".curves.svg");

  ASSERT_TRUE(KillWhenFileAppears(kRun + out, out + ".ckpt"))
      << "the run finished before it could be killed after its first epoch";
  EXPECT_FALSE(fs::exists(out));

  // A checkpoint is only resumed by the run that wrote it.
  r = RunCli(kRun + out + " --resume --lr 0.01", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("different run"), std::string::npos) << r.err;

  r = RunCli(kRun + out + " --resume", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from " + out + ".ckpt after epoch"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + ".ckpt"));
  EXPECT_TRUE(ReadBinaryFile(ref) == ReadBinaryFile(out)) << "resumed model differs";
  const std::string csv = ReadTextFile(out + ".history.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;  // header + 3 epochs
  fs::remove_all(dir);
}

TEST(TrainResume, ResumeWithoutACheckpointStartsFresh) {
  const fs::path dir = ScratchDir("train_resume_fresh");
  const std::string out = (dir / "m.qmodel").string();
  auto r = RunCli("train --data mnist --epochs 1 --limit-train 100 -q --resume -o " + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  fs::remove_all(dir);
}

// When one output cannot be written, none of the three is left behind.
TEST(TrainOutputs, AllOrNothingWhenOneFileFails) {
  const fs::path dir = ScratchDir("train_outputs");
  const std::string out = (dir / "m.qmodel").string();
  const std::string run = "train --data mnist --epochs 1 --limit-train 100 -q -o " + out;
  for (const std::string& blocked : {out + ".curves.svg", out}) {
    fs::create_directories(blocked);  // a directory where a file must go: its write fails
    fs::create_directories(blocked + "/keep");
    auto r = RunCli(run, dir);
    EXPECT_NE(r.exit_code, 0) << blocked;
    for (const std::string& f : {out, out + ".history.csv", out + ".curves.svg"})
      if (f != blocked) {
        EXPECT_FALSE(fs::exists(f)) << f << " left behind when " << blocked << " failed";
      }
    fs::remove_all(blocked);
  }
  fs::remove_all(dir);
}
