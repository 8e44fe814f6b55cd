// CutIntoTasks and the single-process WorkDistributor (distribute.h).
#include "qaccel/core/distribute.h"

#include <algorithm>
#include <atomic>

namespace qaccel {

std::vector<std::pair<size_t, size_t>> CutIntoTasks(const std::vector<uint64_t>& affinity,
                                                    size_t max_task) {
  const size_t n = affinity.size(), cap = std::max<size_t>(1, max_task);
  std::vector<std::pair<size_t, size_t>> tasks;
  for (size_t begin = 0; begin < n;) {
    size_t end = begin + 1;
    while (end < n && end - begin < cap && affinity[end] == affinity[begin]) ++end;
    tasks.emplace_back(begin, end);
    begin = end;
  }
  return tasks;
}

namespace {

class Single final : public WorkDistributor {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void BeginTasks(size_t n) override {
    tasks_ = n;
    next_.store(0);
  }
  bool NextTask(size_t* task) override {
    const size_t t = next_.fetch_add(1);
    if (t >= tasks_) return false;
    *task = t;
    return true;
  }
  void AllGather(std::vector<std::string>*, const std::vector<char>&) override {}

 private:
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace

WorkDistributor& SingleProcess() {
  static Single s;
  return s;
}

}  // namespace qaccel
