// ParallelFor: every item exactly once, worker indices in range, the first
// exception rethrown, and any thread count (including more than items).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
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
