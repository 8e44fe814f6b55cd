// ParallelFor (see parallel.h).
#include "qaccel/core/parallel.h"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
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

// The workers of ParallelFor, kept between calls: a call used to start and
// join its threads, ~30 us, and every fresh thread then allocated and
// faulted in its thread-local scratch again (the engine's chunk arena,
// ~260 kB for LeNet-5). Between calls a pool thread spins for a moment
// (~kSpinMicros: back-to-back calls, such as an engine's batches, then start
// without a futex wake-up) and then sleeps on a condition variable (no CPU).
// One caller at a time uses the pool; a concurrent caller, or a call made
// from inside a pool worker (nested ParallelFor), starts its own threads.
class WorkerPool {
 public:
  static constexpr int kMaxPoolThreads = 4095;  // a call asking for more gets this many

  // Runs work(0) on the calling thread and work(1..extra) on pool threads
  // (fewer if threads cannot be created); returns the number of pool threads
  // that took part, or -1 without running anything when another caller
  // holds the pool.
  int TryRun(int extra, const std::function<void(int)>& work) {
    std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
    if (!run.owns_lock()) return -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      extra = std::min(extra, kMaxPoolThreads);
      while (static_cast<int>(threads_.size()) < extra) {
        const int index = static_cast<int>(threads_.size()) + 1;
        try {
          threads_.emplace_back([this, index] { Loop(index); });
        } catch (const std::system_error&) {
          break;  // no more threads: the ones there (and this one) take all items
        }
      }
      extra = std::min<int>(extra, static_cast<int>(threads_.size()));
      job_ = &work;
      running_.store(extra, std::memory_order_relaxed);
      // A new generation with its worker count, in one word (publishes job_).
      const uint64_t generation = (state_.load(std::memory_order_relaxed) >> kWantedBits) + 1;
      state_.store(generation << kWantedBits | static_cast<uint64_t>(extra),
                   std::memory_order_release);
    }
    wake_.notify_all();
    work(0);
    if (!SpinUntil([&] { return running_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [&] { return running_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
    return extra;
  }

 private:
  static constexpr int64_t kSpinMicros = 50;
  static constexpr int kWantedBits = 16;  // extra is at most kMaxPoolThreads


  // Polls ready() for up to kSpinMicros; true once it holds.
  template <typename Ready>
  static bool SpinUntil(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    for (int k = 0;; ++k) {
      if (ready()) return true;
      if (k % 64 == 63 && std::chrono::steady_clock::now() > until) return false;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }

  void Loop(int index) {
    in_pool_worker = true;
    uint64_t seen = 0;
    for (;;) {
      auto fresh = [&] { return state_.load(std::memory_order_acquire) != seen; };
      if (!SpinUntil(fresh)) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, fresh);
      }
      // The generation and its worker count are read together: a worker not
      // needed for one call must not read the next call's count as its own
      // (it would then run that call twice and let the caller return early).
      // A needed worker's job_ is its call's: the next call waits for it.
      seen = state_.load(std::memory_order_acquire);
      if (index > static_cast<int>(seen & ((uint64_t{1} << kWantedBits) - 1))) continue;
      (*job_)(index);  // never throws: ParallelFor's work catches everything
      if (running_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);  // the caller may be between its check and its wait
        done_.notify_one();
      }
    }
  }

 public:
  static thread_local bool in_pool_worker;

 private:
  std::mutex run_mu_;  // held by the one caller using the pool
  std::mutex mu_;      // thread creation, and the sleeping side of the two waits
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  // Written by the caller before state_ moves (release), read by the
  // workers needed for that call after they see it move (acquire).
  const std::function<void(int)>* job_ = nullptr;
  // generation << kWantedBits | the pool threads the current call wants.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> running_{0};
};

thread_local bool WorkerPool::in_pool_worker = false;

// The process's pool, made on first use and never destroyed (its threads
// block in a wait until the process exits). A forked child gets a new one:
// the parent's threads do not exist there.
WorkerPool* pool = nullptr;
std::mutex pool_mu;

WorkerPool& Pool() {
  std::lock_guard<std::mutex> lock(pool_mu);
  if (!pool) {
    static const bool registered = [] {
      pthread_atfork(nullptr, nullptr, [] {
        new (&pool_mu) std::mutex;  // it may have been held by a thread the child lacks
        pool = nullptr;             // the parent's pool is left behind, not destroyed
      });
      return true;
    }();
    (void)registered;
    pool = new WorkerPool;
  }
  return *pool;
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
  int used = -1;
  if (planned == 1) {
    work(0);
    used = 0;
  } else if (!WorkerPool::in_pool_worker) {
    used = Pool().TryRun(planned - 1, work);
  }
  if (used < 0) {  // nested in a pool worker, or the pool is busy: threads of its own
    std::vector<std::thread> own;
    own.reserve(static_cast<size_t>(planned - 1));
    for (int w = 1; w < planned; ++w) {
      try {
        own.emplace_back(work, w);
      } catch (const std::system_error&) {
        break;  // no more threads: the ones running (and this one) take all items
      }
    }
    work(0);
    for (auto& t : own) t.join();
    used = static_cast<int>(own.size());
  }
  if (error) std::rethrow_exception(error);
  return used + 1;
}

}  // namespace qaccel
