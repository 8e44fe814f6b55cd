#include "qaccel/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qaccel {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total > 0 ? total : 1) {
  tty_ = ::isatty(STDERR_FILENO) != 0;
  const char* env = std::getenv("QACCEL_PROGRESS");
  enabled_ = tty_;
  if (env && std::strcmp(env, "0") == 0) enabled_ = false;
  if (env && std::strcmp(env, "1") == 0) enabled_ = true;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Tick(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ += n;
  Draw(false);
}

void ProgressBar::Set(int64_t done) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ = done;
  Draw(false);
}

void ProgressBar::SetSuffix(const std::string& suffix) {
  std::lock_guard<std::mutex> lock(mu_);
  suffix_ = suffix;
}

void ProgressBar::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  Draw(true);
  if (tty_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ProgressBar::Draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double frac = static_cast<double>(done_) / static_cast<double>(total_);
  if (frac > 1) frac = 1;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  if (!tty_) {
    int decile = static_cast<int>(frac * 10);
    if (!force && decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s %3d%% %lld/%lld %.1fs %s\n", label_.c_str(),
                 static_cast<int>(frac * 100), static_cast<long long>(done_),
                 static_cast<long long>(total_), elapsed, suffix_.c_str());
    return;
  }
  if (!force && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(frac * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[kWidth] = 0;
  std::fprintf(stderr, "\r%s [%s] %lld/%lld %.0fs eta %.0fs %s\x1b[K", label_.c_str(), bar,
               static_cast<long long>(done_), static_cast<long long>(total_), elapsed, eta,
               suffix_.c_str());
  std::fflush(stderr);
}

}  // namespace qaccel
