// Genetic search over the design space, deterministic for a given seed.
//
// Generation 0: `population` uniformly random candidates. Each following
// generation keeps the `elite` best individuals unchanged and fills the rest
// with children: two parents by tournament (`tournament` random individuals,
// the best wins), uniform crossover with probability `crossover_rate` (else a
// copy of the first parent), then per-gene mutation with probability
// `mutation_rate` (half the time a step to a neighbouring value of that
// dimension, half the time a uniformly random value). A child that was
// already evaluated is mutated again (up to 4 times) so the search keeps
// visiting new points. Costs are memoized: no point is handed out twice. Ties
// in cost are broken by the point's linear index, so the ranking — and with
// it the whole run — depends only on the seed and the reported costs.
// Stops after `generations` generations or when the whole space is evaluated.
#include <algorithm>
#include <deque>
#include <limits>
#include <set>
#include <unordered_map>

#include "qaccel/core/rng.h"
#include "qaccel/dse/strategy.h"

namespace qaccel::dse {
namespace {

class GeneticStrategy final : public SearchStrategy {
 public:
  GeneticStrategy(const DesignSpace& space, uint64_t seed)
      : space_(space), opt_(space.genetic), rng_(seed), sizes_(space.DimensionSizes()) {
    for (int i = 0; i < opt_.population; ++i) population_.push_back(RandomCandidate());
    Enqueue();
  }

  std::optional<Candidate> Next() override {
    for (;;) {
      if (!queue_.empty()) {
        Candidate c = std::move(queue_.front());
        queue_.pop_front();
        return c;
      }
      if (!outstanding_.empty() || done_) return std::nullopt;
      if (generation_ + 1 >= opt_.generations || memo_.size() >= space_.Size()) {
        done_ = true;
        return std::nullopt;
      }
      Breed();
      ++generation_;
      Enqueue();
    }
  }

  void Report(const Candidate& c, double objective) override {
    uint64_t f = space_.Flatten(c);
    memo_[f] = objective;
    outstanding_.erase(f);
  }

  bool Done() const override { return done_; }

  uint64_t ExpectedEvaluations() const override {
    return std::min<uint64_t>(
        static_cast<uint64_t>(opt_.population) * static_cast<uint64_t>(opt_.generations),
        space_.Size());
  }

 private:
  Candidate RandomCandidate() {
    Candidate c;
    for (int s : sizes_) c.genes.push_back(static_cast<int>(rng_.Below(static_cast<uint64_t>(s))));
    return c;
  }

  void Enqueue() {
    for (const Candidate& c : population_) {
      uint64_t f = space_.Flatten(c);
      if (memo_.count(f) || outstanding_.count(f)) continue;
      outstanding_.insert(f);
      queue_.push_back(c);
    }
  }

  double Cost(const Candidate& c) const {
    auto it = memo_.find(space_.Flatten(c));
    return it == memo_.end() ? std::numeric_limits<double>::infinity() : it->second;
  }

  // Strict weak order: lower cost first, then lower linear index.
  bool Better(const Candidate& a, const Candidate& b) const {
    double ca = Cost(a), cb = Cost(b);
    if (ca != cb) return ca < cb;
    return space_.Flatten(a) < space_.Flatten(b);
  }

  const Candidate& Tournament() {
    const Candidate* best = nullptr;
    for (int i = 0; i < opt_.tournament; ++i) {
      const Candidate& c = population_[rng_.Below(population_.size())];
      if (!best || Better(c, *best)) best = &c;
    }
    return *best;
  }

  void Mutate(Candidate& c) {
    for (size_t d = 0; d < sizes_.size(); ++d) {
      if (sizes_[d] < 2 || rng_.Uniform01() >= opt_.mutation_rate) continue;
      if (rng_.Uniform01() < 0.5) {
        int step = rng_.Below(2) == 0 ? -1 : 1;
        int g = c.genes[d] + step;
        if (g < 0 || g >= sizes_[d]) g = c.genes[d] - step;  // reflect at the ends
        c.genes[d] = g;
      } else {
        c.genes[d] = static_cast<int>(rng_.Below(static_cast<uint64_t>(sizes_[d])));
      }
    }
  }

  void Breed() {
    std::vector<Candidate> ranked = population_;
    std::sort(ranked.begin(), ranked.end(), [&](auto& a, auto& b) { return Better(a, b); });
    std::vector<Candidate> next;
    std::set<uint64_t> taken;
    for (const Candidate& c : ranked) {
      if (static_cast<int>(next.size()) >= opt_.elite) break;
      if (taken.insert(space_.Flatten(c)).second) next.push_back(c);
    }
    while (static_cast<int>(next.size()) < opt_.population) {
      const Candidate& p1 = Tournament();
      const Candidate& p2 = Tournament();
      Candidate child = p1;
      if (rng_.Uniform01() < opt_.crossover_rate)
        for (size_t d = 0; d < sizes_.size(); ++d)
          if (rng_.Below(2) == 1) child.genes[d] = p2.genes[d];
      Mutate(child);
      for (int attempt = 0; attempt < 4 && memo_.count(space_.Flatten(child)); ++attempt)
        Mutate(child);
      next.push_back(std::move(child));
    }
    population_ = std::move(next);
  }

  const DesignSpace& space_;
  GeneticOptions opt_;
  Rng rng_;
  std::vector<int> sizes_;
  std::vector<Candidate> population_;
  std::deque<Candidate> queue_;
  std::set<uint64_t> outstanding_;  // queued or handed out, not yet reported
  std::unordered_map<uint64_t, double> memo_;
  int generation_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<SearchStrategy> MakeGeneticStrategy(const DesignSpace& space, uint64_t seed) {
  return std::make_unique<GeneticStrategy>(space, seed);
}

}  // namespace qaccel::dse
