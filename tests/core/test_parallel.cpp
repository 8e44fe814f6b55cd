// ParallelFor: every item exactly once, worker indices in range, the first
// exception rethrown, and any thread count (including more than items).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "qaccel/core/parallel.h"

TEST(ParallelFor, EveryItemOnceWithWorkerIndicesInRange) {
  for (int threads : {0, 1, 2, 7}) {
    for (int64_t n : {0, 1, 5, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> worker_ok{true};
      const int bound = qaccel::MaxParallelWorkers(n, threads);
      const int used = qaccel::ParallelFor(n, threads, [&](int64_t i, int worker) {
        hits[static_cast<size_t>(i)].fetch_add(1);
        if (worker < 0 || worker >= bound) worker_ok = false;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      EXPECT_TRUE(worker_ok);
      EXPECT_LE(used, bound);
      EXPECT_EQ(used >= 1, n > 0);
    }
  }
}

TEST(ParallelFor, RethrowsTheFirstError) {
  std::atomic<int> ran{0};
  EXPECT_THROW(qaccel::ParallelFor(100, 2,
                                   [&](int64_t i, int) {
                                     ran.fetch_add(1);
                                     if (i == 3) throw std::runtime_error("item 3");
                                   }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 4);
}

// The pool keeps its threads, so thread_local state lasts from one call to
// the next: over 40 calls on 2 threads, at most 2 threads (this one and one
// worker) ever start their thread_local state. Fresh threads per call (thread
// ids may be reused, thread_locals are not) would count ~40.
TEST(ParallelFor, ThreadLocalStateLastsAcrossCalls) {
  static std::atomic<int> started{0};
  for (int call = 0; call < 40; ++call)
    qaccel::ParallelFor(8, 2, [&](int64_t, int) {
      thread_local bool seen = false;
      if (!seen) {
        seen = true;
        started.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  EXPECT_LE(started.load(), 2);
  EXPECT_GE(started.load(), 1);
}

// Calls that want fewer pool threads than the pool has, between calls that
// want them all: a worker left out of one call must not take part in the
// next one twice (every item once, and the caller waits for every worker).
TEST(ParallelFor, AlternatingWidthsRunEveryItemOnce) {
  for (int r = 0; r < 300; ++r) {
    const int64_t n = r % 2 ? 2 : 64;  // 2 items: one pool thread of the 7
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    qaccel::ParallelFor(n, 8, [&](int64_t i, int) { hits[static_cast<size_t>(i)].fetch_add(1); });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1) << "round " << r;
  }
}

// A ParallelFor inside a worker, and two callers at once: every item once.
TEST(ParallelFor, NestedAndConcurrentCallsRunEveryItemOnce) {
  std::vector<std::atomic<int>> hits(64 * 16);
  qaccel::ParallelFor(16, 2, [&](int64_t outer, int) {
    qaccel::ParallelFor(64, 2, [&](int64_t inner, int) {
      hits[static_cast<size_t>(outer * 64 + inner)].fetch_add(1);
    });
  });
  for (auto& h : hits) EXPECT_EQ(h.exchange(0), 1);
  std::thread other([&] {
    for (int r = 0; r < 20; ++r)
      qaccel::ParallelFor(32, 2, [&](int64_t i, int) { hits[static_cast<size_t>(i)].fetch_add(1); });
  });
  for (int r = 0; r < 20; ++r)
    qaccel::ParallelFor(32, 2,
                        [&](int64_t i, int) { hits[static_cast<size_t>(512 + i)].fetch_add(1); });
  other.join();
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 20);
    EXPECT_EQ(hits[static_cast<size_t>(512 + i)].load(), 20);
  }
}
