// One way to run independent work items on several threads: ParallelFor.
// Used by the design-space exploration (dse/explore.cpp) and the engine's
// batch loop (engine/engine.cpp).
//
// It never aborts for lack of threads: when a std::thread cannot be created
// (resource limits, a sandbox), the items run on the threads that did start,
// and in the end on the calling thread alone. Under an address-space limit
// (ulimit -v) it starts no more threads than a quarter of that limit holds
// stacks for, leaving the rest to the heap: `--threads 256` under a 1.2 GB
// limit then runs on ~37 threads instead of failing to allocate. Results
// never depend on the number of threads.
//
// The threads are a pool kept for the life of the process (they wait,
// using no CPU, between calls), so their thread_local state (the engine's
// chunk arenas) lasts from one call to the next. One caller at a time uses
// the pool; a concurrent caller, or a ParallelFor nested inside one, starts
// threads of its own for that call.
#pragma once

#include <cstdint>
#include <functional>

namespace qaccel {

// Calls fn(i, worker) once for every i in [0, n), on up to `threads` threads
// (the calling thread is one of them; threads <= 0 means one per hardware
// thread). Items are handed out one at a time in increasing order, so their
// completion order is unspecified: write results into slots indexed by i.
// `worker` is in [0, MaxParallelWorkers(n, threads)) and no two concurrent
// calls share one, so it can index per-worker scratch space.
//
// The first exception thrown by fn stops the handing out of further items
// and is rethrown here once every thread has finished. Returns the number of
// workers that ran.
int ParallelFor(int64_t n, int threads, const std::function<void(int64_t i, int worker)>& fn);

// min(threads, n), at least 1: the bound on ParallelFor's worker index.
int MaxParallelWorkers(int64_t n, int threads);

}  // namespace qaccel
