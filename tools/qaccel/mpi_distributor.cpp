// ProcessDistributor (mpi_distributor.h).
#include "mpi_distributor.h"

#include <cstdlib>
#include <string>

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
class MpiWorld final : public WorkDistributor {
 public:
  MpiWorld() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void AllGather(std::vector<std::string>* items) override {
    const size_t n = items->size();
    const auto [begin, end] = Share(n);
    std::string mine;
    for (size_t i = begin; i < end; ++i) mine += (*items)[i] + '\n';
    Check(mine.size() < (size_t{1} << 30), "mpi: a batch share above 1 GiB");
    const int len = static_cast<int>(mine.size());
    std::vector<int> lens(static_cast<size_t>(size_)), offs(static_cast<size_t>(size_));
    MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      offs[static_cast<size_t>(r)] = static_cast<int>(total);
      total += lens[static_cast<size_t>(r)];
    }
    Check(total < (int64_t{1} << 31), "mpi: a batch above 2 GiB");
    std::string all(static_cast<size_t>(total), '\0');
    MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    size_t pos = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t nl = all.find('\n', pos);
      Check(nl != std::string::npos, "mpi: gathered fewer items than the batch");
      (*items)[i] = all.substr(pos, nl - pos);
      pos = nl + 1;
    }
  }

 private:
  int rank_ = 0, size_ = 1;
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
