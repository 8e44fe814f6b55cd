// Exhaustive search: every point of the space in linear-index order (first
// dimension most significant). The seed is unused (nothing is random).
#include <limits>

#include "qaccel/dse/strategy.h"

namespace qaccel::dse {
namespace {

class ExhaustiveStrategy final : public SearchStrategy {
 public:
  explicit ExhaustiveStrategy(const DesignSpace& space) : space_(space), size_(space.Size()) {}
  std::optional<Candidate> Next() override {
    if (next_ >= size_) return std::nullopt;
    return space_.Unflatten(next_++);
  }
  void Report(const Candidate&, double) override {}
  bool Done() const override { return next_ >= size_; }
  uint64_t ExpectedEvaluations() const override { return size_; }

 private:
  const DesignSpace& space_;
  uint64_t size_;
  uint64_t next_ = 0;
};

}  // namespace

std::unique_ptr<SearchStrategy> MakeExhaustiveStrategy(const DesignSpace& space, uint64_t) {
  return std::make_unique<ExhaustiveStrategy>(space);
}

}  // namespace qaccel::dse
