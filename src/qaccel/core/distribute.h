// Spreading independent work items over the processes of a run (e.g. MPI
// ranks) and gathering their results, in item order, on every process. It
// knows nothing of its callers: `qaccel explore` hands it each batch of
// design points (docs/dse.md, "Scale-out"); any other list of independent
// evaluations (NetAdapt's candidates) can use it the same way:
//
//   const auto [b, e] = d.Share(n);          // this process's items
//   std::vector<std::string> out(n);
//   for (size_t i = b; i < e; ++i) out[i] = Serialize(Evaluate(i));
//   d.AllGather(&out);                       // now every out[i] is filled
//
// The library has only the single-process distributor; the MPI one lives in
// the CLI (tools/qaccel/mpi_distributor.cpp, built when CMake finds MPI), so
// libqaccel never depends on MPI.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace qaccel {

class WorkDistributor {
 public:
  virtual ~WorkDistributor() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;
  // The contiguous block [begin, end) of items 0 .. n-1 this process
  // evaluates (blocks keep neighbouring items, which often share cached
  // work, on one process).
  std::pair<size_t, size_t> Share(size_t n) const {
    const size_t r = static_cast<size_t>(rank()), s = static_cast<size_t>(size());
    return {n * r / s, n * (r + 1) / s};
  }
  // On entry (*items)[i] holds this process's result for each i in its
  // Share(items->size()); on return every entry holds its owner's result.
  // Results must not contain '\n'. Collective: every process calls it with
  // the same item count.
  virtual void AllGather(std::vector<std::string>* items) = 0;
};

// One process: rank 0 of 1, AllGather does nothing.
WorkDistributor& SingleProcess();

}  // namespace qaccel
