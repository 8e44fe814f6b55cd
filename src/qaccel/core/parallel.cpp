// ParallelFor (see parallel.h).
#include "qaccel/core/parallel.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace qaccel {

int MaxParallelWorkers(int64_t n, int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
}

namespace {

// Threads whose stacks fit a quarter of RLIMIT_AS (no limit: no bound).
int64_t ThreadsWithinAddressLimit() {
  rlimit as{}, stack{};
  if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return INT64_MAX;
  uint64_t stack_bytes = uint64_t{8} << 20;  // glibc's default when RLIMIT_STACK is unlimited
  if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
    stack_bytes = std::max<uint64_t>(stack.rlim_cur, uint64_t{1} << 20);
  return std::max<int64_t>(1, static_cast<int64_t>(as.rlim_cur / 4 / stack_bytes));
}

}  // namespace

int ParallelFor(int64_t n, int threads, const std::function<void(int64_t, int)>& fn) {
  if (n <= 0) return 0;
  const int planned =
      static_cast<int>(std::min<int64_t>(MaxParallelWorkers(n, threads), ThreadsWithinAddressLimit()));
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&](int worker) {
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        fn(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next.store(n);
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(planned - 1));
  for (int w = 1; w < planned; ++w) {
    try {
      pool.emplace_back(work, w);
    } catch (const std::system_error&) {
      break;  // no more threads: the ones running (and this one) take all items
    }
  }
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return static_cast<int>(pool.size()) + 1;
}

}  // namespace qaccel
