// A terminal progress bar on stderr: "label [=====>    ] 42/100 eta 3s | loss 0.31".
// Redraws at most ~10 times a second; silent when stderr is not a terminal
// unless QACCEL_PROGRESS=1 (then one line per 10%), and when QACCEL_PROGRESS=0.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace qaccel {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();            // finishes the line
  void Tick(int64_t n = 1);  // thread-safe
  void Set(int64_t done);
  void SetSuffix(const std::string& suffix);  // e.g. "loss 0.312 acc 97.1%"
  void Finish();

 private:
  void Draw(bool force);
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::string suffix_;
  bool tty_;
  bool enabled_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

}  // namespace qaccel
