// Spreading independent work items over the processes of a run (e.g. MPI
// ranks) and gathering their results, in item order, on every process. It
// knows nothing of its callers: `qaccel explore` hands it each batch of
// design points (docs/dse.md, "Scale-out"); any other list of independent
// evaluations (NetAdapt's candidates) can use it the same way:
//
//   const auto groups = CutIntoTasks(affinity, max_task);  // items sharing work
//   d.BeginTasks(groups.size());                            // collective
//   std::vector<std::string> out(n);
//   std::vector<char> mine(n, 0);
//   for (size_t t; d.NextTask(&t);)          // any thread, as many as it likes
//     for (size_t i = groups[t].first; i < groups[t].second; ++i)
//       out[i] = Serialize(Evaluate(i)), mine[i] = 1;
//   d.AllGather(&out, mine);                 // now every out[i] is filled
//
// Tasks are dealt dynamically (a shared counter): whoever is free takes the
// next one, so processes finish together however unevenly the items cost
// (design points differ 100x: a 16x16 weight-stationary point against a
// row-stationary one), and no cost estimate is needed. Which process
// evaluates an item is not deterministic; the results are, since each item's
// result depends on the item alone, and AllGather puts them in item order.
//
// The library has only the single-process distributor; the MPI one lives in
// the CLI (tools/qaccel/mpi_distributor.cpp, built when CMake finds MPI), so
// libqaccel never depends on MPI.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qaccel {

class WorkDistributor {
 public:
  virtual ~WorkDistributor() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;
  // Starts handing out tasks 0 .. n-1. Collective: every process calls it
  // with the same n, after the previous round's AllGather.
  virtual void BeginTasks(size_t n) = 0;
  // The next task nobody has taken, in increasing order; false when all are
  // taken. Thread-safe.
  virtual bool NextTask(size_t* task) = 0;
  // On entry (*items)[i] holds this process's result for each i with
  // mine[i] != 0 (every item is some process's, and only one's); on return
  // every entry holds its owner's result. Results must not contain '\n'.
  // Collective: every process calls it with the same item count.
  virtual void AllGather(std::vector<std::string>* items, const std::vector<char>& mine) = 0;
};

// Tasks from one affinity key per item: each run of consecutive items with
// equal keys (items that share work, e.g. the simulator's memo, keyed by the
// array shape) is one task [begin, end), cut into pieces of at most
// `max_task` items so that one huge run cannot leave processes idle.
std::vector<std::pair<size_t, size_t>> CutIntoTasks(const std::vector<uint64_t>& affinity,
                                                    size_t max_task);

// One process: rank 0 of 1, AllGather does nothing.
WorkDistributor& SingleProcess();

}  // namespace qaccel
