// ProcessDistributor (mpi_distributor.h).
#include "mpi_distributor.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "qaccel/core/error.h"

#ifdef QACCEL_HAVE_MPI
#include <mpi.h>
#endif

namespace qaccel::cli {
namespace {

// The size of the run as the launcher states it (Open MPI, PMIx, PMI):
// 0 when not launched by mpirun.
int LaunchedSize() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

#ifdef QACCEL_HAVE_MPI
// Tasks are dealt through a counter on rank 0, read and incremented by
// MPI_Fetch_and_op (MPI-3 passive-target one-sided: rank 0 need not call MPI
// for others to take tasks; on one node Open MPI does it in shared memory).
// Worker threads take tasks too, one MPI call at a time under a mutex, so
// the run asks for MPI_THREAD_SERIALIZED.
class MpiWorld final : public WorkDistributor {
 public:
  MpiWorld() {
    // Open MPI's default point-to-point layer on this Debian build is UCX,
    // whose start-up alone costs ~0.2 s per run (measured: MPI_Init of 2
    // ranks 0.32 s, 0.13 s with ob1). qaccel sends one gather of text per
    // batch, which ob1 (shared memory, TCP, InfiniBand verbs) carries as
    // well; so ob1 unless the user chose (OMPI_MCA_pml=ucx restores UCX).
    // docs/dse.md, Scale-out.
    setenv("OMPI_MCA_pml", "ob1", /*overwrite=*/0);
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    serialized_ = provided >= MPI_THREAD_SERIALIZED;
    MPI_Win_allocate(rank_ == 0 ? static_cast<MPI_Aint>(sizeof(int64_t)) : 0,
                     static_cast<int>(sizeof(int64_t)), MPI_INFO_NULL, MPI_COMM_WORLD, &counter_,
                     &win_);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
  }
  ~MpiWorld() override {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void BeginTasks(size_t n) override {
    tasks_ = static_cast<int64_t>(n);
    // Everyone has stopped taking the last round's tasks: reset the counter.
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) {
      const int64_t zero = 0;
      int64_t old = 0;
      MPI_Fetch_and_op(&zero, &old, MPI_INT64_T, 0, 0, MPI_REPLACE, win_);
      MPI_Win_flush(0, win_);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }

  bool NextTask(size_t* task) override {
    std::lock_guard<std::mutex> lock(mu_);
    Check(serialized_ || std::this_thread::get_id() == main_,
          "mpi: this MPI library cannot be called from worker threads; run with --threads 1");
    const int64_t one = 1;
    int64_t t = 0;
    MPI_Fetch_and_op(&one, &t, MPI_INT64_T, 0, 0, MPI_SUM, win_);
    MPI_Win_flush(0, win_);
    if (t >= tasks_) return false;
    *task = static_cast<size_t>(t);
    return true;
  }

  // Each process sends "position<TAB>result" lines for its items.
  void AllGather(std::vector<std::string>* items, const std::vector<char>& mine) override {
    const size_t n = items->size();
    Check(mine.size() == n, "mpi: an ownership list of the wrong length");
    std::string out;
    for (size_t i = 0; i < n; ++i)
      if (mine[i]) out += std::to_string(i) + '\t' + (*items)[i] + '\n';
    Check(out.size() < (size_t{1} << 30), "mpi: a batch share above 1 GiB");
    const int len = static_cast<int>(out.size());
    std::vector<int> lens(static_cast<size_t>(size_)), offs(static_cast<size_t>(size_));
    MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      offs[static_cast<size_t>(r)] = static_cast<int>(total);
      total += lens[static_cast<size_t>(r)];
    }
    Check(total < (int64_t{1} << 31), "mpi: a batch above 2 GiB");
    std::string all(static_cast<size_t>(total), '\0');
    MPI_Allgatherv(out.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    std::vector<char> filled(n, 0);
    size_t count = 0;
    for (size_t pos = 0; pos < all.size();) {
      const size_t tab = all.find('\t', pos), nl = all.find('\n', pos);
      Check(tab != std::string::npos && nl != std::string::npos && tab < nl,
            "mpi: a gathered result line is damaged");
      const size_t i = std::stoull(all.substr(pos, tab - pos));
      Check(i < n && !filled[i], "mpi: a gathered result for no item, or for one twice");
      filled[i] = 1;
      ++count;
      (*items)[i] = all.substr(tab + 1, nl - tab - 1);
      pos = nl + 1;
    }
    Check(count == n, "mpi: gathered " + std::to_string(count) + " results for " +
                          std::to_string(n) + " items");
  }

 private:
  int rank_ = 0, size_ = 1;
  bool serialized_ = false;
  std::thread::id main_ = std::this_thread::get_id();
  std::mutex mu_;
  MPI_Win win_ = MPI_WIN_NULL;
  int64_t* counter_ = nullptr;
  int64_t tasks_ = 0;
};
#endif

}  // namespace

WorkDistributor& ProcessDistributor() {
  if (LaunchedSize() <= 1) return SingleProcess();
#ifdef QACCEL_HAVE_MPI
  static MpiWorld world;
  return world;
#else
  throw Error("launched by mpirun with " + std::to_string(LaunchedSize()) +
              " processes, but this qaccel was built without MPI (install libopenmpi-dev and "
              "rebuild; docs/dse.md, Scale-out)");
#endif
}

void AbortOtherProcesses(int code) {
#ifdef QACCEL_HAVE_MPI
  if (LaunchedSize() > 1) MPI_Abort(MPI_COMM_WORLD, code);
#else
  (void)code;
#endif
}

}  // namespace qaccel::cli
